/**
 * Kafka in a real VS Code (code-server + Chromium) against the shared native broker: the Topics
 * view lists a topic with its counts, the message browser shows its messages with a bounded
 * number of DOM rows, search narrows them with highlights, and a value holding HTML shows as text.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { ensureNativeStack } from '../integration/harness';
import { sleep, VsCodeSession } from './lib/codeServer';

const XSS = '<img src=x onerror=alert(1)>';

describe('Kafka: Topics view and message browser in a real VS Code', function () {
  this.timeout(300_000);
  let vsc: VsCodeSession | undefined;
  let service: KafkaService;
  const topic = `e2e-orders-${crypto.randomBytes(3).toString('hex')}`;
  const dialogs: string[] = [];

  before(async function () {
    this.timeout(600_000);
    const { endpoints } = await ensureNativeStack(['kafka']);
    service = new KafkaService({ bootstrap: endpoints.kafkaBootstrap });
    await service.createTopic({ topic, numPartitions: 3 });
    const records = Array.from({ length: 3000 }, (_, i) => ({
      key: `order-${i}`,
      value: JSON.stringify({ id: i, item: i % 600 === 7 ? 'needle' : 'hay', qty: i % 9 }),
      headers: { source: 'e2e' },
    }));
    records.push({ key: 'html', value: XSS, headers: { source: 'e2e' } });
    await service.produce(topic, records);
    vsc = await VsCodeSession.start({ settings: { 'datapipeline.kafka.bootstrapServers': endpoints.kafkaBootstrap } });
    vsc.page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  after(async function () {
    await vsc?.close();
    await service?.deleteTopic(topic).catch(() => undefined);
    await service?.dispose();
  });

  it('the Topics view lists the topic with its partitions and message count', async function () {
    await vsc!.openContainer('DataPipeline');
    await vsc!.expandView('Topics');
    const item = vsc!.treeItem('Topics', topic);
    await item.waitFor({ timeout: 60_000 });
    const text = await item.innerText();
    assert.match(text.replace(/\s+/g, ' '), /3 partitions · 3,001 msg/);
    // expanding it shows its partitions with leader and offsets
    await item.click();
    const p0 = vsc!.treeItem('Topics', /^Partition 0$/);
    await p0.first().waitFor({ timeout: 30_000 });
    assert.match((await p0.first().innerText()).replace(/\s+/g, ' '), /leader 1 · offsets 0–\d/);
    await vsc!.screenshot('kafka-topics-view');
    await item.click();
  });

  it('Create Topic rejects an invalid name in the input box, before anything is sent', async function () {
    const s = vsc!;
    await s.runCommand('DataPipeline: Create Topic…');
    const input = s.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill('bad name!');
    const message = s.page.locator('.quick-input-widget .quick-input-message');
    await message.filter({ hasText: 'which Kafka does not allow' }).waitFor({ timeout: 10_000 });
    await s.screenshot('kafka-create-topic-invalid-name');
    await s.escape();
    assert.ok(!(await service.topicNames()).includes('bad name!'));
  });

  it('the message browser shows the messages, renders a bounded number of rows, and search narrows them', async function () {
    const s = vsc!;
    await s.runCommand('DataPipeline: Open Message Browser');
    const input = s.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(topic);
    await s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: topic }).first().click();
    const frame = await s.webviewFrame({ containsSelector: '#message-table', timeoutMs: 60_000 });
    const count = frame.locator('#match-count');
    await frame.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    await frame.locator('#match-count', { hasText: '3,001 messages' }).waitFor({ timeout: 30_000 });
    await frame.locator('.mt-row[data-seq]').first().waitFor();
    const domRows = await frame.locator('.mt-body .mt-row').count();
    assert.ok(domRows > 10 && domRows <= 200, `${domRows} rows in the DOM for 3,001 messages`);
    await s.screenshot('kafka-message-browser');

    await frame.locator('#search').fill('needle');
    await frame.locator('#match-count', { hasText: /^5 matches$/ }).waitFor({ timeout: 15_000 });
    await sleep(300);
    const rows = frame.locator('.mt-row[data-seq]');
    assert.equal(await rows.count(), 5);
    for (const v of await rows.locator('.c4').allInnerTexts()) assert.match(v, /"item":"needle"/);
    assert.equal(await frame.locator('.mt-row[data-seq] mark').count(), 5, 'each match is highlighted');
    await s.screenshot('kafka-message-browser-search');
    assert.ok((await count.innerText()).includes('5 matches'));
  });

  it('Latest tails the topic live: messages produced after Start appear', async function () {
    const s = vsc!;
    const frame = await s.webviewFrame({ containsSelector: '#message-table' });
    await frame.locator('#search').fill('');
    await frame.locator('#start-mode').selectOption('latest');
    await frame.locator('#start').click();
    await frame.locator('#status', { hasText: 'Live' }).waitFor({ timeout: 60_000 });
    await frame.locator('#match-count', { hasText: /^0 messages$/ }).waitFor({ timeout: 15_000 });
    await service.produce(topic, [{ key: 'live', value: 'tail-1' }, { key: 'live', value: 'tail-2' }]);
    await frame.locator('#match-count', { hasText: /^2 messages$/ }).waitFor({ timeout: 30_000 });
    await frame.locator('.mt-row[data-seq] .c4', { hasText: 'tail-2' }).waitFor({ timeout: 15_000 });
    await s.screenshot('kafka-message-browser-live');
    // back to the whole topic for the next test
    await frame.locator('#start-mode').selectOption('earliest');
    await frame.locator('#start').click();
    await frame.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
  });

  it('a value holding HTML is shown as text, in the table and the detail pane (no element, no script)', async function () {
    const s = vsc!;
    const frame = await s.webviewFrame({ containsSelector: '#message-table' });
    await frame.locator('#search').fill('onerror');
    await frame.locator('#match-count', { hasText: /^1 match$/ }).waitFor({ timeout: 15_000 });
    const row = frame.locator('.mt-row[data-seq]').first();
    await row.waitFor();
    assert.equal(await row.locator('.c4').innerText(), XSS);
    await row.click();
    await frame.locator('#detail-body').waitFor();
    assert.equal(await frame.locator('#detail-body').innerText(), XSS);
    assert.equal(await frame.locator('img').count(), 0, 'no <img> element was created from the message');
    await sleep(500);
    assert.deepEqual(dialogs, [], 'no alert ran');
    await s.screenshot('kafka-message-browser-html-as-text');
  });
});

describe('Kafka: Topics view when the broker is down', function () {
  this.timeout(300_000);
  let vsc: VsCodeSession | undefined;

  before(async function () {
    this.timeout(600_000);
    // nothing listens on 29999: the view must say so once, without notifications
    vsc = await VsCodeSession.start({ settings: { 'datapipeline.kafka.bootstrapServers': '127.0.0.1:29999' } });
  });

  after(async function () {
    await vsc?.close();
  });

  it('shows one "Kafka unreachable at … — Retry" item and no error notification; Retry tries again', async function () {
    const s = vsc!;
    await s.openContainer('DataPipeline');
    await s.expandView('Topics');
    const item = s.treeItem('Topics', 'Kafka unreachable at 127.0.0.1:29999 — Retry');
    await item.waitFor({ timeout: 60_000 });
    assert.equal(await s.view('Topics').locator('.monaco-list-row[role="treeitem"]').count(), 1);
    await item.click();
    await sleep(4000);
    await item.waitFor();
    const toasts = await s.notifications();
    assert.ok(!toasts.some((t) => /kafka/i.test(t)), `notifications: ${JSON.stringify(toasts)}`);
    await s.screenshot('kafka-topics-unreachable');
  });
});
