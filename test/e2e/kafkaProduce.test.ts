/**
 * Produce Message in a real VS Code (code-server + Chromium) against the shared native broker:
 * the command opens a JSON document, the user writes two records with headers, "Send to <topic>"
 * sends them (the topic then holds exactly those keys, values and headers), the document stays
 * open to send again, the Compression lens sends zstd batches, and malformed JSON sends nothing.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { failDecompressionForTests } from '../../src/services/kafka/codecs';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { browser } from '../integration/lib/kafkaBrowser';
import { ensureNativeStack } from '../integration/harness';
import { sleep, VsCodeSession } from './lib/codeServer';
import { until } from '../lib/until';

interface Read { key: string | null; value: string | null; headers: Record<string, string> }

/** Every message of `topic`, read with a plain kafkajs consumer (waits until `expected` arrived). */
async function readTopic(bootstrap: string, topic: string, expected: number): Promise<Read[]> {
  const kafka = new Kafka({ clientId: 'e2e-produce-check', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `e2e-produce-check-${crypto.randomBytes(4).toString('hex')}` });
  const out: Read[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    await until(`${expected} messages of ${topic}`, () => out.length >= expected, { timeoutMs: 30_000, detail: () => `read ${out.length}` });
    // everything the topic holds (its end offsets): more than expected shows as a longer result, not a later one
    const admin = kafka.admin();
    await admin.connect();
    const held = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    await admin.disconnect();
    await until(`all ${held} messages of ${topic}`, () => out.length >= held, 30_000);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

describe('Kafka: Produce Message through a JSON editor in a real VS Code', function () {
  this.timeout(300_000);
  let vsc: VsCodeSession | undefined;
  let service: KafkaService;
  let bootstrap: string;
  const topic = `e2e-produce-${crypto.randomBytes(3).toString('hex')}`;
  const total = async () => (await service.watermarks(topic)).reduce((s, w) => s + w.high - w.low, 0);
  const editorText = () => vsc!.page.locator('.editor-group-container.active .monaco-editor .view-lines');
  const sendLens = () => vsc!.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: `Send to ${topic}` });

  /** Replaces the whole text of the active editor, as a paste would. */
  async function setEditorText(text: string): Promise<void> {
    const p = vsc!.page;
    await editorText().click();
    await p.keyboard.press('Control+A');
    await p.keyboard.press('Delete');
    await p.keyboard.insertText(text);
  }

  before(async function () {
    this.timeout(600_000);
    const { endpoints } = await ensureNativeStack(['kafka']);
    bootstrap = endpoints.kafkaBootstrap;
    service = new KafkaService({ bootstrap });
    await service.createTopic({ topic, numPartitions: 2 });
    vsc = await VsCodeSession.start({ settings: { 'datapipeline.kafka.bootstrapServers': bootstrap } });
  });

  after(async function () {
    await vsc?.close();
    await service?.deleteTopic(topic).catch(() => undefined);
    await service?.dispose();
  });

  it('opens a JSON template, sends two records with headers, and keeps the document to send again', async function () {
    const s = vsc!;
    await s.openContainer('DataPipeline');
    await s.expandView('Topics');
    await s.treeItem('Topics', topic).waitFor({ timeout: 60_000 });
    await s.runCommand('DataPipeline: Produce Message…');
    const input = s.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(topic);
    await s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: topic }).first().click();
    await editorText().filter({ hasText: '"partition": null' }).waitFor({ timeout: 30_000 });
    await sendLens().waitFor({ timeout: 30_000 });
    await s.screenshot('kafka-produce-template');

    const doc = [
      { key: 'order-1', value: { id: 1, item: 'book' }, headers: { source: 'e2e', trace: 't-1' }, partition: 0 },
      { key: 'order-2', value: 'plain text', headers: { source: 'e2e' }, partition: null },
    ];
    await setEditorText(JSON.stringify(doc));
    await editorText().filter({ hasText: 'plain text' }).waitFor();
    await sendLens().click();
    await s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: `Sent 2 messages to ${topic}` }).waitFor({ timeout: 30_000 });
    await s.screenshot('kafka-produce-sent');

    const got = await readTopic(bootstrap, topic, 2);
    got.sort((a, b) => String(a.key).localeCompare(String(b.key)));
    assert.deepEqual(got, [
      { key: 'order-1', value: '{"id":1,"item":"book"}', headers: { source: 'e2e', trace: 't-1' } },
      { key: 'order-2', value: 'plain text', headers: { source: 'e2e' } },
    ]);
    const wm = await service.watermarks(topic);
    assert.equal(wm.find((w) => w.partition === 0)!.high >= 1, true, 'the record with "partition": 0 went to partition 0');

    // the document stays open: send it again
    await editorText().filter({ hasText: 'plain text' }).waitFor();
    await sendLens().click();
    await until('4 messages in the topic', async () => (await total()) >= 4);
    assert.equal(await total(), 4);
  });

  it('Send N Copies… sends the whole document N times, and refuses a count that is not 1 to 1000000', async function () {
    const s = vsc!;
    const before = await total();
    await editorText().filter({ hasText: 'plain text' }).waitFor();
    await s.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Send N Copies' }).click();
    const input = s.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await s.page.locator('.quick-input-widget .quick-input-title', { hasText: `the 2 messages to ${topic} how many times` }).waitFor({ timeout: 5000 });
    await input.fill('0');
    await s.page.locator('.quick-input-widget .quick-input-message', { hasText: 'whole number from 1 to 1000000' }).waitFor({ timeout: 5000 });
    await s.page.keyboard.press('Enter');
    assert.equal(await input.isVisible(), true, 'the input stays open while the count is invalid');
    await input.fill('3');
    await s.page.keyboard.press('Enter');
    await until('the 6 copies to arrive', async () => (await total()) >= before + 6);
    assert.equal(await total(), before + 6, 'two messages x 3 copies, no more');
    // the workbench may keep the toast in the notification center (it was posted as the input closed)
    await s.runCommand('Notifications: Show Notifications');
    await s.page.locator('.notifications-center .notification-list-item-message', { hasText: `Sent 6 messages to ${topic}` }).waitFor({ timeout: 10_000 });
    await s.screenshot('kafka-produce-copies');
    await s.runCommand('Notifications: Hide Notifications');
  });

  it('the Compression lens picks the codec: zstd batches (made by the bundled WebAssembly encoder) that every reader decodes', async function () {
    const s = vsc!;
    const before = await total();
    await editorText().filter({ hasText: 'plain text' }).waitFor();
    await s.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Compression: none' }).click();
    const row = s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'zstd' }).first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await s.screenshot('kafka-produce-compression-pick');
    await row.click();
    await s.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Compression: zstd' }).waitFor({ timeout: 10_000 });
    await sendLens().click();
    await s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: `Sent 2 messages to ${topic} (zstd-compressed)` }).waitFor({ timeout: 30_000 });
    assert.equal(await total(), before + 2);
    // read back in this process: with zstd decoding switched off, exactly the two new records are in error rows
    const read = async () => {
      const { c } = browser(service, topic);
      await c.startBrowse({ mode: 'earliest', follow: false });
      await until('the read to finish', () => c.statusData().state === 'done', 30_000);
      const rows = c.page(1, 0, 500).rows;
      await c.dispose();
      return rows;
    };
    const rows = await read();
    assert.equal(rows.length, before + 2);
    failDecompressionForTests('zstd', 'switched off by the test');
    try {
      const broken = await read();
      const errors = broken.filter((r) => r.mark === 'error');
      assert.ok(errors.length >= 1 && errors.every((r) => /zstd-compressed batch/.test(r.value!)), JSON.stringify(errors));
      assert.equal(broken.length - errors.length, before, 'every earlier (uncompressed) message is still read');
    } finally {
      failDecompressionForTests('zstd', undefined);
    }
  });

  it('malformed JSON shows an error and sends nothing (editor title button)', async function () {
    const s = vsc!;
    const before = await total();
    await setEditorText('[{"key": "bad", "value": ');
    await editorText().filter({ hasText: '"bad"' }).waitFor();
    await s.page.locator('.editor-group-container.active .editor-actions .action-label[aria-label^="Send Message Document to Topic"]').click();
    await s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'not valid JSON' }).waitFor({ timeout: 30_000 });
    await s.screenshot('kafka-produce-invalid-json');
    await sleep(2000); // fixed wait: that nothing arrives for a while is the check
    assert.equal(await total(), before, 'nothing was sent');
  });
});
