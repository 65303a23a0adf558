/**
 * Kafka in a real VS Code (code-server + Chromium) against the shared native broker: the Topics
 * view lists a topic with its counts, the message browser shows its messages with a bounded
 * number of DOM rows, search narrows them with highlights, a value holding HTML shows as text, and
 * what Kafka's Java clients write (lz4 and zstd batches, an aborted transaction) reads in the webview.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { ensureNativeStack } from '../integration/harness';
import { consoleProduce, javaTransactions } from '../integration/lib/foreignClients';
import { sleep, VsCodeSession } from './lib/codeServer';
import { contextMenu, pickMenuEntry } from './lib/menus';
import { until } from '../lib/until';

/** Open Message Browser from the palette, pick `topic`, and return the panel's frame. */
async function openBrowserOn(s: VsCodeSession, topic: string, containsText?: string) {
  // the topic pick, not the palette it replaces (both are the same quick input)
  const input = s.page.locator('.quick-input-widget .quick-input-box input[placeholder="Topic to browse"]');
  for (let attempt = 1; ; attempt++) {
    await s.runCommand('DataPipeline: Open Message Browser');
    await input.waitFor({ state: 'visible' });
    // in code-server the pick sometimes closes right after it opens when a message browser webview
    // held the focus (seen twice in CI, never by hand): open it once more, and say so
    const filled = await input.fill(topic, { timeout: 10_000 }).then(() => true, (e: Error) => (attempt < 2 ? false : Promise.reject(e)));
    if (filled) break;
    console.log('      the topic pick closed before it could be typed in; opening it again');
  }
  await s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: topic }).first().click();
  return s.webviewFrame({ containsText, containsSelector: '#message-table', timeoutMs: 60_000 });
}

const XSS = '<img src=x onerror=alert(1)>';

describe('Kafka: Topics view and message browser in a real VS Code', function () {
  this.timeout(300_000);
  let vsc: VsCodeSession | undefined;
  let service: KafkaService;
  let bootstrap: string;
  const topic = `e2e-orders-${crypto.randomBytes(3).toString('hex')}`;
  const javaTopic = `e2e-java-${crypto.randomBytes(3).toString('hex')}`;
  const dialogs: string[] = [];

  before(async function () {
    this.timeout(600_000);
    const { endpoints } = await ensureNativeStack(['kafka']);
    bootstrap = endpoints.kafkaBootstrap;
    service = new KafkaService({ bootstrap });
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
    await service?.deleteTopic(javaTopic).catch(() => undefined);
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

  it('a context menu open on a topic row survives a poll that updates another row, and its command gets that topic', async function () {
    const s = vsc!;
    const other = `e2e-other-${crypto.randomBytes(3).toString('hex')}`;
    await service.createTopic({ topic: other, numPartitions: 1 });
    try {
      await s.openContainer('DataPipeline');
      const otherRow = s.treeItem('Topics', other);
      await otherRow.waitFor({ timeout: 30_000 });
      assert.match((await otherRow.innerText()).replace(/\s+/g, ' '), /1 partition · 0 msg/);
      await s.page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
      await s.page.evaluate(() => navigator.clipboard.writeText('before copy'));
      const entry = s.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Copy Topic Name' });
      await contextMenu(s, s.treeItem('Topics', topic), 'Copy Topic Name', async () => {
        // the other topic's count changes, and the view polls every 10 s while the menu is open
        await service.produce(other, [{ key: 'k', value: 'v' }, { key: 'k', value: 'v' }]);
        await sleep(12_000);
        assert.equal(await entry.isVisible(), true, 'the context menu is still open after a poll of the Topics view');
      }, { clickEntry: false });
      await pickMenuEntry(s, entry);
      const clipboard = () => s.page.evaluate(() => navigator.clipboard.readText());
      await until('the topic name on the clipboard', async () => (await clipboard()) !== 'before copy', 10_000);
      assert.equal(await clipboard(), topic, 'the command got the row the menu was opened on');
      // the poll did update the other row in place
      assert.match((await otherRow.innerText()).replace(/\s+/g, ' '), /1 partition · 2 msg/);
    } finally {
      await service.deleteTopic(other).catch(() => undefined);
    }
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
    const frame = await openBrowserOn(s, topic);
    const count = frame.locator('#match-count');
    await frame.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    await frame.locator('#match-count', { hasText: '3,001 messages' }).waitFor({ timeout: 30_000 });
    await frame.locator('.mt-row[data-seq]').first().waitFor();
    const domRows = await frame.locator('.mt-body .mt-row').count();
    assert.ok(domRows > 10 && domRows <= 200, `${domRows} rows in the DOM for 3,001 messages`);
    await s.screenshot('kafka-message-browser');

    await frame.locator('#search').fill('needle');
    await frame.locator('#match-count', { hasText: /^5 matches$/ }).waitFor({ timeout: 15_000 });
    const rows = frame.locator('.mt-row[data-seq]');
    await until('the table to hold the 5 matches, no other row', async () => (await rows.count()) === 5, { timeoutMs: 5000, detail: () => 'rows other than the matches stayed' });
    for (const v of await rows.locator('.c4').allInnerTexts()) assert.match(v, /"item":"needle"/);
    assert.equal(await frame.locator('.mt-row[data-seq] mark').count(), 5, 'each match is highlighted');
    await s.screenshot('kafka-message-browser-search');
    assert.ok((await count.innerText()).includes('5 matches'));
  });

  it('Export JSON writes exactly the filtered messages to the file the user picks', async function () {
    const s = vsc!;
    const frame = await s.webviewFrame({ containsSelector: '#message-table' });
    await frame.locator('#match-count', { hasText: /^5 matches$/ }).waitFor({ timeout: 15_000 });
    const file = path.join(s.workspace, `${topic}-needle.json`);
    await frame.locator('#export-json').click();
    // code-server's save dialog is VS Code's simple file dialog: a quick input holding the path
    const input = s.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    // wait for the dialog to show its default name (it fills the box asynchronously), then type ours
    for (let i = 0; i < 50 && !(await input.inputValue()).endsWith(`${topic}.json`); i++) await sleep(200);
    await sleep(500); // fixed wait: the simple file dialog rewrites the box once more after its default shows
    for (let i = 0; i < 5 && (await input.inputValue()) !== file; i++) {
      await input.fill(file);
      await sleep(500); // the dialog may rewrite the box: read it again after a moment (bounded retries)
    }
    assert.equal(await input.inputValue(), file);
    await s.screenshot('kafka-export-save-dialog');
    await s.page.locator('.quick-input-widget').getByRole('button', { name: 'OK' }).click();
    await s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: /Exported 5 messages to/ }).waitFor({ timeout: 30_000 });
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ key: string; value: string; headers: Array<{ key: string; value: string; encoding: string }> }>;
    assert.equal(written.length, 5);
    for (const r of written) {
      assert.match(r.key, /^order-\d+$/);
      assert.equal((JSON.parse(r.value) as { item: string }).item, 'needle');
      assert.deepEqual(r.headers, [{ key: 'source', value: 'e2e', encoding: 'utf8' }]);
    }
    const ids = written.map((r) => (JSON.parse(r.value) as { id: number }).id).sort((a, b) => a - b);
    assert.deepEqual(ids, [7, 607, 1207, 1807, 2407]);
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
    await sleep(500); // fixed wait: that no dialog opens for a while is the check
    assert.deepEqual(dialogs, [], 'no alert ran');
    await s.screenshot('kafka-message-browser-html-as-text');
  });

  it('Copy in the detail pane puts the selected message (key, value, headers) on the clipboard', async function () {
    const s = vsc!;
    await s.page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await s.page.evaluate(() => navigator.clipboard.writeText('before copy'));
    const frame = await s.webviewFrame({ containsSelector: '#message-table' });
    await frame.locator('#detail-copy').click();
    await s.page.locator('.statusbar', { hasText: 'Message copied' }).waitFor({ timeout: 15_000 });
    const copied = JSON.parse(await s.page.evaluate(() => navigator.clipboard.readText())) as { key: string; value: string; headers: Array<{ key: string; value: string; encoding: string }> };
    assert.equal(copied.key, 'html');
    assert.equal(copied.value, XSS);
    assert.deepEqual(copied.headers, [{ key: 'source', value: 'e2e', encoding: 'utf8' }]);
  });

  it('the detail pane tells a missing key from the text "null", an empty value from a tombstone, and shows a match deep in a 5 MB value', async function () {
    const s = vsc!;
    const t = `e2e-detail-${crypto.randomBytes(3).toString('hex')}`;
    await service.createTopic({ topic: t, numPartitions: 1, configs: { 'max.message.bytes': String(8 * 1024 * 1024) } });
    try {
      const big = `${'x'.repeat(4 * 1024 * 1024)} NEEDLE deep inside ${'y'.repeat(1024 * 1024)}`;
      await service.produce(t, [
        { key: null, value: 'no key' },
        { key: 'null', value: 'a key that reads null' },
        { key: 'empty', value: '' },
        { key: 'tomb', value: null },
        { key: 'big', value: big },
      ]);
      const frame = await openBrowserOn(s, t, t);
      await frame.locator('#status', { hasText: /Done · 5 buffered/ }).waitFor({ timeout: 60_000 });
      const open = async (offset: number) => {
        await frame.locator('.mt-row[data-seq]').filter({ has: frame.locator('.c1', { hasText: new RegExp(`^${offset}$`) }) }).click();
        await frame.locator('.md-meta', { hasText: `offset ${offset} ` }).waitFor({ timeout: 10_000 });
      };
      await open(0);
      assert.equal(await frame.locator('#detail-key-none').innerText(), '(no key)');
      await open(1);
      assert.equal(await frame.locator('#detail-key').innerText(), 'null');
      assert.equal(await frame.locator('#detail-key-none').count(), 0);
      await open(2);
      assert.equal(await frame.locator('#detail-value-empty').innerText(), '(empty value, 0 bytes)');
      await open(3);
      assert.match(await frame.locator('#detail-value-none').innerText(), /^\(null value: a tombstone/);
      await s.screenshot('kafka-detail-tombstone');
      await frame.locator('#search').fill('NEEDLE');
      await frame.locator('#match-count', { hasText: /^1 match$/ }).waitFor({ timeout: 15_000 });
      await open(4);
      const mark = frame.locator('#detail-body mark');
      await mark.waitFor({ timeout: 15_000 });
      assert.equal(await mark.innerText(), 'NEEDLE');
      const pane = (await frame.locator('.md').boundingBox())!;
      const box = (await mark.boundingBox())!;
      assert.ok(box.y >= pane.y && box.y + box.height <= pane.y + pane.height, `the match is scrolled into view (mark at ${box.y}, pane ${pane.y}–${pane.y + pane.height})`);
      await s.screenshot('kafka-detail-big-match');
      await frame.locator('#search').fill('');
    } finally {
      await service.deleteTopic(t).catch(() => undefined);
    }
  });

  it('a regular expression that would backtrack for minutes is stopped with a clear message; VS Code stays responsive meanwhile', async function () {
    const s = vsc!;
    const t = `e2e-redos-${crypto.randomBytes(3).toString('hex')}`;
    await service.createTopic({ topic: t, numPartitions: 1 });
    try {
      await service.produce(t, [...Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `{"n":${i}}` })), { key: 'evil', value: 'a'.repeat(40) + '!' }]);
      const frame = await openBrowserOn(s, t, t);
      await frame.locator('#status', { hasText: /Done · 201 buffered/ }).waitFor({ timeout: 60_000 });
      await frame.locator('#search-regex').check();
      const t0 = Date.now();
      await frame.locator('#search').fill('(a+)+$');
      await frame.locator('#match-count', { hasText: 'Searching…' }).waitFor({ timeout: 10_000 });
      // the extension host is not blocked: a DataPipeline command runs while the pattern does
      await s.runCommand('DataPipeline: Show Log');
      await s.page.locator('.part.panel .monaco-editor', { hasText: /search|DataPipeline|kafka/ }).first().waitFor({ timeout: 5_000 });
      const answered = Date.now() - t0;
      assert.ok(answered < 8_000, `Show Log answered ${answered} ms into the search`);
      const err = frame.locator('#error', { hasText: /stopped after 10 s.*Simplify the pattern/ });
      await err.waitFor({ timeout: 30_000 });
      await s.screenshot('kafka-search-slow-regex');
      // a pattern that is fine searches and highlights as usual (ranges from the host)
      await frame.locator('#search').fill('a{3}!$');
      await frame.locator('#match-count', { hasText: /^1 match$/ }).waitFor({ timeout: 15_000 });
      await frame.locator('.mt-row[data-seq] mark').first().waitFor({ timeout: 10_000 });
      assert.equal(await frame.locator('.mt-row[data-seq] mark').first().innerText(), 'aaa!');
      assert.ok(await frame.locator('#error').isHidden(), 'the error box is gone');
      await frame.locator('#search').fill('');
      await frame.locator('#search-regex').uncheck();
    } finally {
      await service.deleteTopic(t).catch(() => undefined);
    }
  });

  it("what Kafka's Java clients write reads in the webview: lz4 and zstd batches, an aborted transaction hidden or marked", async function () {
    const s = vsc!;
    await service.createTopic({ topic: javaTopic, numPartitions: 1 });
    await consoleProduce(bootstrap, javaTopic, [{ key: 'lz-1', value: 'from the Java console producer, lz4' }], 'lz4');
    await consoleProduce(bootstrap, javaTopic, [{ key: 'zs-1', value: 'from the Java console producer, zstd' }], 'zstd');
    await javaTransactions(bootstrap, javaTopic, 'zstd', ['commit:kept', 'abort:thrown-away']);
    const frame = await openBrowserOn(s, javaTopic, javaTopic);
    await frame.locator('#status', { hasText: /Done · 3 buffered .*2 transaction markers .*1 record of aborted transactions hidden/ }).waitFor({ timeout: 60_000 });
    const values = async () => (await frame.locator('.mt-row[data-seq] .c4').allInnerTexts()).map((v) => v.trim());
    assert.deepEqual(await values(), ['from the Java console producer, lz4', 'from the Java console producer, zstd', 'kept']);
    await s.screenshot('kafka-browser-java-codecs');
    // read uncommitted: the aborted record appears, tagged
    await frame.locator('#start-isolation').selectOption('read_uncommitted');
    await frame.locator('#start').click();
    await frame.locator('#status', { hasText: /Done · 4 buffered/ }).waitFor({ timeout: 60_000 });
    const aborted = frame.locator('.mt-row[data-mark="aborted"]');
    await aborted.waitFor({ timeout: 10_000 });
    assert.equal(await aborted.count(), 1);
    assert.match(await aborted.innerText(), /aborted\s*thrown-away/);
    await s.screenshot('kafka-browser-read-uncommitted');
  });

  it('the histogram brush filters the table to exactly the messages inside the dragged time window', async function () {
    const s = vsc!;
    // last in this suite: nothing after it needs the first panel, and a quick pick opened while a
    // webview holds the focus can close on the focus moving back (seen once in CI)
    await s.runCommand('View: Close All Editors');
    const brushTopic = `e2e-brush-${crypto.randomBytes(3).toString('hex')}`;
    await service.createTopic({ topic: brushTopic, numPartitions: 1 });
    try {
      // three bursts an hour apart (their own timestamps): 10 early, 7 in the middle, 5 late
      const t0 = Date.now() - 3 * 3600_000;
      const burst = (name: string, n: number, at: number) => Array.from({ length: n }, (_, i) => ({ key: name, value: `${name}-${i}`, timestamp: String(at + i * 1000) }));
      const producer = service.kafka.producer();
      await producer.connect();
      await producer.send({ topic: brushTopic, messages: [...burst('early', 10, t0), ...burst('middle', 7, t0 + 3600_000), ...burst('late', 5, t0 + 7200_000)] });
      await producer.disconnect();
      const frame = await openBrowserOn(s, brushTopic, brushTopic);
      await frame.locator('#status', { hasText: 'Done · 22 buffered' }).waitFor({ timeout: 60_000 });
      await frame.locator('.hg-bar').first().waitFor({ timeout: 15_000 });
      const box = (await frame.locator('.hg-bars').boundingBox())!;
      const y = box.y + box.height / 2;
      // the middle third of the time axis holds the middle burst only
      await s.page.mouse.move(box.x + box.width * 0.35, y);
      await s.page.mouse.down();
      await s.page.mouse.move(box.x + box.width * 0.5, y, { steps: 4 });
      await s.page.mouse.move(box.x + box.width * 0.65, y, { steps: 4 });
      await s.page.mouse.up();
      await frame.locator('#match-count', { hasText: /^7 matches$/ }).waitFor({ timeout: 15_000 });
      const rows = frame.locator('.mt-row[data-seq] .c4');
      await until('the table to hold the 7 messages of the window', async () => (await rows.count()) === 7, { timeoutMs: 5000 });
      assert.deepEqual(await rows.allInnerTexts(), Array.from({ length: 7 }, (_, i) => `middle-${i}`));
      assert.match(await frame.locator('.hg-label').innerText(), /^Selected .* \(double-click to clear\)$/);
      await s.screenshot('kafka-message-browser-brush');
      // double-click clears the window: all 22 again
      await frame.locator('.hg-bars').dblclick();
      await frame.locator('#match-count', { hasText: /^22 messages$/ }).waitFor({ timeout: 15_000 });
      await s.runCommand('View: Close Editor');
    } finally {
      await service.deleteTopic(brushTopic).catch(() => undefined);
    }
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
    await sleep(4000); // fixed wait: that no notification appears after Retry is the check
    await item.waitFor();
    const toasts = await s.notifications();
    assert.ok(!toasts.some((t) => /kafka/i.test(t)), `notifications: ${JSON.stringify(toasts)}`);
    await s.screenshot('kafka-topics-unreachable');
  });
});
