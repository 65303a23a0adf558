/**
 * Kafka against a real Apache Kafka 4.x broker (the shared native stack through the harness):
 * admin operations, produce/browse round trips with keys, headers, binary and 10 MB values, every
 * start mode, search through the browser host, and no consumer group left behind.
 * The broker-restart test runs its own broker on 29192/29193 (the shared one is never stopped).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { BrowseSession } from '../../src/services/kafka/browseSession';
import { MessageStore } from '../../src/services/kafka/messageStore';
import { PreparedConnection } from '../../src/services/kafka/topicReader';
import { ValidationError } from '../../src/services/kafka/validation';
import type { RowData, StartForm } from '../../src/protocol/messageBrowser';
import type { MessageBrowserController } from '../../src/webviews/messageBrowser/controller';
import { ensureNativeStack } from './harness';
import { browser, sleep, uniqueTopic } from './lib/kafkaBrowser';
import { ThrowawayKafka } from './lib/throwawayKafka';
import { until } from '../lib/until';

async function browseAll(c: MessageBrowserController, form: StartForm, expectState: 'done' | 'live' = 'done'): Promise<void> {
  await c.startBrowse(form);
  await until(`browse ${form.mode} to be ${expectState}`, () => c.statusData().state === expectState, 60_000);
}

function rows(c: MessageBrowserController): RowData[] {
  return c.page(1, 0, 500).rows;
}

/** RFC 4180 CSV, each field with whether it was quoted (an empty quoted field is an empty string, an unquoted one null). */
function parseCsv(text: string): Array<Array<{ value: string; quoted: boolean }>> {
  const rows: Array<Array<{ value: string; quoted: boolean }>> = [];
  let row: Array<{ value: string; quoted: boolean }> = [];
  let i = 0;
  while (i < text.length) {
    let value = '';
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\n') value += text[i++];
    }
    row.push({ value, quoted });
    if (text[i] === ',') i++;
    else {
      rows.push(row);
      row = [];
      i++;
    }
  }
  return rows;
}

describe('Kafka (real broker)', function () {
  this.timeout(180_000);
  let service: KafkaService;
  let groupsBefore: string[];
  const created = new Set<string>();
  /** creates a topic and remembers it, so a failed test leaves no topic behind either */
  const create = (req: Parameters<KafkaService['createTopic']>[0]) => {
    created.add(req.topic);
    return service.createTopic(req);
  };

  before(async function () {
    const { endpoints } = await ensureNativeStack(['kafka']);
    service = new KafkaService({ bootstrap: endpoints.kafkaBootstrap });
    groupsBefore = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId);
  });

  after(async function () {
    // browsing leaves no consumer group behind (browse groups are deleted when a read stops)
    const after = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId);
    const leftover = after.filter((g) => !groupsBefore.includes(g) && g.startsWith('datapipeline-browse-'));
    const remaining = (await service.topicNames()).filter((t) => created.has(t));
    for (const t of remaining) await service.deleteTopic(t).catch(() => undefined);
    await service.dispose();
    assert.deepEqual(leftover, [], `browse groups left behind: ${leftover.join(', ')}`);
  });

  describe('admin', function () {
    it('keeps working after another client deletes a topic this one has read', async function () {
      const topic = uniqueTopic('dp-deleted-elsewhere');
      await create({ topic, numPartitions: 1, replicationFactor: 1 });
      await service.describeTopic(topic); // this admin now refreshes metadata for the topic
      const other = new KafkaService({ bootstrap: service.bootstrap });
      try {
        await other.deleteTopic(topic);
      } finally {
        await other.dispose();
      }
      // listing groups and topics still answers (no "does not host this topic-partition")
      await service.listGroups({ includeBrowse: true });
      assert.ok(!(await service.topicNames()).includes(topic));
    });

    it('creates a topic with configs, lists it with partitions and message count, describes and deletes it', async function () {
      const topic = uniqueTopic('dp-admin');
      await create({ topic, numPartitions: 4, replicationFactor: 1, configs: { 'retention.ms': '3600000', 'cleanup.policy': 'delete' } });
      await service.produce(topic, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }], 3);
      const listed = (await service.listTopics()).find((t) => t.name === topic);
      const parts = await service.describeTopic(topic);
      assert.deepEqual(listed, {
        name: topic, partitions: 4, messageCount: 6, internal: false, replicationFactor: 1, underReplicated: 0, offline: 0,
        watermarks: parts.map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
      });
      assert.equal(parts.length, 4);
      assert.equal(parts.reduce((s, p) => s + p.high - p.low, 0), 6);
      assert.ok(parts.every((p) => p.leader === 1));
      await assert.rejects(service.createTopic({ topic, numPartitions: 1 }), /already exists/);
      await service.deleteTopic(topic);
      await until('topic to disappear', async () => !(await service.topicNames()).includes(topic));
    });

    it('listing topics while another client deletes some: the list goes on without them, never "Kafka unreachable", and lists a topic created next', async function () {
      const other = new KafkaService({ bootstrap: service.bootstrap });
      try {
        for (let round = 0; round < 3; round++) {
          const doomed = Array.from({ length: 6 }, () => uniqueTopic('dp-doomed'));
          for (const t of doomed) await create({ topic: t, numPartitions: 3 });
          await service.listTopics(); // this client has seen them
          const deleting = Promise.all(doomed.map((t) => other.deleteTopic(t)));
          const lists: string[][] = [];
          for (let i = 0; i < 10; i++) lists.push((await service.listTopics()).map((t) => t.name));
          await deleting;
          assert.ok(lists.length === 10);
          // a topic created by someone else right after is listed (the deleted ones this client had seen do not hide it)
          const fresh = uniqueTopic('dp-fresh');
          await other.createTopic({ topic: fresh, numPartitions: 1 });
          created.add(fresh);
          await until(`${fresh} listed`, async () => (await service.listTopics()).some((t) => t.name === fresh), 10_000);
          assert.ok(!(await service.listTopics()).some((t) => doomed.includes(t.name)), 'the deleted topics are gone from the list');
        }
      } finally {
        await other.dispose();
      }
    });

    it('rejects invalid names, partition counts and configs before anything is sent', async function () {
      const before = await service.topicNames();
      await assert.rejects(service.createTopic({ topic: 'bad name!', numPartitions: 1 }), (e: Error) => e instanceof ValidationError && /does not allow/.test(e.message));
      await assert.rejects(service.createTopic({ topic: uniqueTopic('dp-zero'), numPartitions: 0 }), /Partition count must be from 1/);
      await assert.rejects(service.createTopic({ topic: uniqueTopic('dp-rf'), numPartitions: 1, replicationFactor: 3 }), /one broker, so use 1/);
      await assert.rejects(service.createTopic({ topic: uniqueTopic('dp-cfg'), numPartitions: 1, configs: { 'cleanup.policy': 'sometimes' } }), /cleanup.policy must be/);
      assert.deepEqual(await service.topicNames(), before);
    });

    it('lists consumer groups with their lag, and hides internal topics unless asked', async function () {
      const topic = uniqueTopic('dp-lag');
      await create({ topic, numPartitions: 2 });
      await service.produce(topic, [{ value: 'x', partition: 0 }, { value: 'y', partition: 1 }], 5);
      const groupId = uniqueTopic('dp-test-group');
      const admin = service.kafka.admin();
      await admin.connect();
      try {
        await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }, { partition: 1, offset: '5' }] });
      } finally {
        await admin.disconnect();
      }
      const g = (await service.listGroups()).find((x) => x.groupId === groupId);
      assert.ok(g, 'group listed');
      assert.deepEqual(g.topics, [topic]);
      assert.deepEqual(
        g.lag.map((l) => [l.partition, l.committed, l.high, l.lag]),
        [
          [0, 2, 5, 3],
          [1, 5, 5, 0],
        ],
      );
      assert.equal(g.totalLag, 3);
      assert.ok(!(await service.listTopics()).some((t) => t.name === '__consumer_offsets'));
      assert.ok((await service.listTopics({ includeInternal: true })).some((t) => t.name === '__consumer_offsets' && t.internal));
      await service.deleteGroups([groupId]);
      await service.deleteTopic(topic);
    });
  });

  describe('produce and browse', function () {
    it('round-trips keys, headers, null keys and binary values through the browser host', async function () {
      const topic = uniqueTopic('dp-rt');
      await create({ topic, numPartitions: 1 });
      const binary = Buffer.from([0x00, 0xff, 0xfe, 0x10, 0x80, 0x41]);
      await service.produce(topic, [
        { key: 'order-1', value: '{"id":1,"name":"Alice"}', headers: { source: 'test', trace: 'abc' } },
        { key: null, value: 'plain text' },
        { key: Buffer.from([0xff, 0x00]), value: binary },
        { key: 'x', value: '<img src=x onerror=alert(1)>' },
      ]);
      const { c } = browser(service, topic);
      try {
        await browseAll(c, { mode: 'earliest', follow: false });
        const r = rows(c);
        assert.equal(r.length, 4);
        assert.deepEqual(
          r.map((x) => [x.offset, x.key, x.value, x.headerCount, x.valueBinary]),
          [
            [0, 'order-1', '{"id":1,"name":"Alice"}', 2, false],
            [1, null, 'plain text', 0, false],
            [2, 'ff 00', '00 ff fe 10 80 41', 0, true],
            [3, 'x', '<img src=x onerror=alert(1)>', 0, false],
          ],
        );
        const d0 = c.detail(r[0].seq)!;
        assert.equal(d0.valuePretty, JSON.stringify({ id: 1, name: 'Alice' }, null, 2));
        assert.deepEqual(d0.headers, [
          { key: 'source', value: 'test', binary: false },
          { key: 'trace', value: 'abc', binary: false },
        ]);
        const d2 = c.detail(r[2].seq)!;
        assert.equal(d2.valueText, null);
        assert.match(d2.valueHex!, /^00000000 {2}00 ff fe 10 80 41/);
      } finally {
        await c.dispose();
        await service.deleteTopic(topic);
      }
    });

    it('keeps a 10 MB message: the row preview is truncated, the detail pane has it all', async function () {
      const topic = uniqueTopic('dp-big');
      await create({ topic, numPartitions: 1, configs: { 'max.message.bytes': String(12 * 1024 * 1024) } });
      const big = JSON.stringify({ payload: 'x'.repeat(10 * 1024 * 1024) });
      await service.produce(topic, [{ key: 'big', value: big }, { key: 'small', value: 'after' }]);
      const { c } = browser(service, topic);
      try {
        await browseAll(c, { mode: 'earliest', follow: false });
        const r = rows(c);
        assert.equal(r.length, 2);
        assert.ok(r[0].valueTruncated);
        assert.ok(r[0].value!.length <= 200, `preview is ${r[0].value!.length} chars`);
        assert.equal(r[0].valueSize, big.length);
        const d = c.detail(r[0].seq)!;
        assert.equal(d.valueText!.length, big.length);
        assert.equal(r[1].value, 'after');
      } finally {
        await c.dispose();
        await service.deleteTopic(topic);
      }
    });

    it('a 5 MB value with one bad byte deep inside is binary: a hex view, never text with U+FFFD', async function () {
      const topic = uniqueTopic('dp-badbyte');
      await create({ topic, numPartitions: 1, configs: { 'max.message.bytes': String(8 * 1024 * 1024) } });
      const value = Buffer.alloc(5 * 1024 * 1024, 'a');
      value[100_000] = 0xff; // not UTF-8, far past any prefix
      await service.produce(topic, [{ key: 'bad', value }]);
      const { c } = browser(service, topic);
      try {
        await browseAll(c, { mode: 'earliest', follow: false });
        const [row] = rows(c);
        assert.equal(row.valueBinary, true, 'the row shows it as binary');
        const d = c.detail(row.seq)!;
        assert.equal(d.valueText, null);
        assert.ok(d.valueHex && d.valueHex.startsWith('00000000'), 'the detail pane offers the hex view');
      } finally {
        await c.dispose();
        await service.deleteTopic(topic);
      }
    });

    it('search narrows the rows (substring, regex, key-only, headers) and an invalid regex says what to fix', async function () {
      const topic = uniqueTopic('dp-search');
      await create({ topic, numPartitions: 3 });
      const recs = Array.from({ length: 300 }, (_, i) => ({
        key: `user-${i}`,
        value: JSON.stringify({ i, city: ['Paris', 'Lima', 'Oslo'][i % 3] }),
        headers: (i % 50 === 0 ? { flag: 'special' } : {}) as Record<string, string>,
      }));
      await service.produce(topic, recs);
      const { c, posts, exported } = browser(service, topic);
      try {
        await browseAll(c, { mode: 'earliest', follow: false });
        assert.equal(c.view.count, 300);
        const f = { regex: false, caseSensitive: false, fields: { key: true, value: true, headers: true } };
        await c.handle({ type: 'filter', filter: { ...f, query: 'oslo' } });
        assert.equal(c.view.count, 100);
        assert.ok(rows(c).every((x) => x.value!.includes('Oslo')));
        // export writes exactly the filtered messages
        for (const format of ['csv', 'json'] as const) {
          await c.handle({ type: 'export', format });
          const text = exported();
          if (format === 'csv') {
            const lines = text.trim().split('\n');
            assert.equal(lines[0], 'partition,offset,timestamp,iso_time,key_encoding,key,value_encoding,value,headers');
            assert.equal(lines.length, 101);
            assert.ok(lines.slice(1).every((l) => l.includes('Oslo')));
          } else {
            const arr = JSON.parse(text) as Array<{ key: string; value: string }>;
            assert.equal(arr.length, 100);
            assert.ok(arr.every((r) => JSON.parse(r.value).city === 'Oslo' && r.key.startsWith('user-')));
          }
        }
        await c.handle({ type: 'filter', filter: { ...f, query: '^user-1\\d$', regex: true, fields: { key: true, value: false, headers: false } } });
        assert.deepEqual(rows(c).map((x) => x.key).sort(), Array.from({ length: 10 }, (_, i) => `user-1${i}`).sort());
        // the webview never runs the pattern: the page it gets carries the ranges to highlight
        await c.handle({ type: 'page', reqId: 7, start: 0, count: 10 });
        const page = posts.filter((p) => p.type === 'page').pop();
        assert.ok(page && page.type === 'page' && page.highlights, 'a regex page has host-computed highlights');
        assert.deepEqual(new Map(page.highlights).get('user-10'), [[0, 7]]);
        await c.handle({ type: 'filter', filter: { ...f, query: 'special', fields: { key: false, value: false, headers: true } } });
        assert.equal(c.view.count, 6);
        await c.handle({ type: 'filter', filter: { ...f, query: 'user-(', regex: true } });
        const fr = posts.filter((p) => p.type === 'filterResult').pop();
        assert.ok(fr && fr.type === 'filterResult' && /Invalid regular expression.*turn off regex/.test(fr.error ?? ''));
        await c.handle({ type: 'filter', filter: { ...f, query: '', partitions: [1] } });
        assert.ok(c.view.count > 0 && rows(c).every((x) => x.partition === 1));
      } finally {
        await c.dispose();
        await service.deleteTopic(topic);
      }
    });
  });

    it('export keeps each message as it was: a timestamp beyond JavaScript dates, null apart from empty, binary key and header values marked base64, repeated header keys; a failed export leaves no partial file', async function () {
      const topic = uniqueTopic('dp-export');
      // Kafka 4 refuses timestamps over an hour ahead unless the topic allows them (as a producer replaying data would need)
      await create({ topic, numPartitions: 1, configs: { 'message.timestamp.after.max.ms': '9223372036854775807' } });
      const producer = service.kafka.producer();
      await producer.connect();
      try {
        await producer.send({
          topic,
          messages: [
            { key: 'far', value: 'v', timestamp: '9000000000000000', headers: { trace: ['a', 'b'], bin: Buffer.from([0xff, 0x00, 0x01]) } },
            { key: null, value: '' },
            { key: '', value: null },
            { key: Buffer.from([0xc3, 0x28]), value: '=1+1' },
          ],
        });
      } finally {
        await producer.disconnect();
      }
      const { c, exported, exportedFile } = browser(service, topic);
      try {
        await browseAll(c, { mode: 'earliest', follow: false });
        assert.equal(c.view.count, 4);
        await c.handle({ type: 'export', format: 'json' });
        const json = JSON.parse(exported()) as Array<{ key: string | null; value: string | null; keyEncoding: string; timestamp: number; headers: Array<{ key: string; value: string; encoding: string }> }>;
        assert.equal(json.length, 4);
        assert.equal(json[0].timestamp, 9e15);
        assert.deepEqual(json[0].headers, [
          { key: 'trace', value: 'a', encoding: 'utf8' },
          { key: 'trace', value: 'b', encoding: 'utf8' },
          { key: 'bin', value: Buffer.from([0xff, 0x00, 0x01]).toString('base64'), encoding: 'base64' },
        ]);
        assert.deepEqual([json[1].key, json[1].value, json[2].key, json[2].value], [null, '', '', null]);
        assert.deepEqual([json[3].key, json[3].keyEncoding], [Buffer.from([0xc3, 0x28]).toString('base64'), 'base64']);

        await c.handle({ type: 'export', format: 'csv' });
        const rowsCsv = parseCsv(exported());
        assert.deepEqual(rowsCsv[0].map((f) => f.value), ['partition', 'offset', 'timestamp', 'iso_time', 'key_encoding', 'key', 'value_encoding', 'value', 'headers']);
        assert.equal(rowsCsv.length, 5, 'every message is a row, the far-future one too');
        const [far, nullKey, nullValue, binKey] = rowsCsv.slice(1).map((r) => ({ raw: r, ts: r[2], iso: r[3], keyEnc: r[4], key: r[5], valueEnc: r[6], value: r[7], headers: r[8] }));
        assert.equal(far.ts.value, '9000000000000000');
        assert.equal(far.iso.value, '', 'no ISO time for a timestamp a Date cannot hold, and no error');
        assert.deepEqual(JSON.parse(far.headers.value), json[0].headers);
        assert.deepEqual([nullKey.keyEnc.value, nullKey.key, nullKey.value], ['null', { value: '', quoted: false }, { value: '', quoted: true }]);
        assert.deepEqual([nullValue.key, nullValue.valueEnc.value, nullValue.value], [{ value: '', quoted: true }, 'null', { value: '', quoted: false }]);
        assert.deepEqual([binKey.keyEnc.value, binKey.key.value, binKey.value.value], ['base64', Buffer.from([0xc3, 0x28]).toString('base64'), "'=1+1"]);

        // a write error part way (the file size limit of the process, as a full disk would): nothing half-written is left
        const file = exportedFile();
        const before = fs.readFileSync(file, 'utf8');
        const { c: big, posts: bigPosts, exportedFile: bigFile } = browser(service, topic, 100_000, { exportFile: file });
        try {
          await browseAll(big, { mode: 'earliest', follow: false });
          const limit = spawnSync('prlimit', ['--pid', String(process.pid), '--fsize=200:unlimited']);
          assert.equal(limit.status, 0, String(limit.stderr));
          try {
            await big.handle({ type: 'export', format: 'json' });
          } finally {
            spawnSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:unlimited']);
          }
          const err = bigPosts.filter((p) => p.type === 'error').pop();
          assert.ok(err && err.type === 'error', 'the failure is shown');
          assert.match(err.message, /^Export to .+ failed after 0\.0 MB: the file grew larger than this system allows\. Nothing was written there \(the file that was there is unchanged\); the partial copy was removed\.$/);
          assert.equal(bigFile(), file);
          assert.equal(fs.readFileSync(file, 'utf8'), before, 'the file that was there is unchanged');
          assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('.part')), [], 'no partial file left');
        } finally {
          await big.dispose();
        }
      } finally {
        await c.dispose();
        await service.deleteTopic(topic);
      }
    });

  describe('start modes', function () {
    let topic: string;
    const T0 = Date.now() - 3600_000;

    before(async function () {
      topic = uniqueTopic('dp-modes');
      await create({ topic, numPartitions: 2 });
      // three batches 10 minutes apart (create-time timestamps), 10 messages per partition each
      const producer = service.kafka.producer();
      await producer.connect();
      for (let b = 0; b < 3; b++) {
        const ts = String(T0 + b * 600_000);
        const messages = Array.from({ length: 20 }, (_, i) => ({ key: `b${b}-${i}`, value: `batch ${b} #${i}`, partition: i % 2, timestamp: ts }));
        await producer.send({ topic, messages });
      }
      await producer.disconnect();
    });

    after(async function () {
      await service.deleteTopic(topic);
    });

    async function read(form: StartForm, expect: 'done' | 'live' = 'done') {
      const { c } = browser(service, topic);
      await browseAll(c, form, expect);
      const r = rows(c);
      await c.dispose();
      return r;
    }

    it('earliest reads everything; partition filter limits it', async function () {
      assert.equal((await read({ mode: 'earliest', follow: false })).length, 60);
      const p1 = await read({ mode: 'earliest', follow: false, partitions: [1] });
      assert.equal(p1.length, 30);
      assert.ok(p1.every((r) => r.partition === 1));
    });

    it('offset: one offset for all partitions, or per partition; out of range is refused with the range', async function () {
      const all = await read({ mode: 'offset', offsets: '25', follow: false });
      assert.deepEqual(all.map((r) => r.offset).sort((a, b) => a - b), [25, 25, 26, 26, 27, 27, 28, 28, 29, 29]);
      const per = await read({ mode: 'offset', offsets: '0:28, 1:10', follow: false });
      assert.equal(per.filter((r) => r.partition === 0).length, 2);
      assert.equal(per.filter((r) => r.partition === 1).length, 20);
      const { c } = browser(service, topic);
      await assert.rejects(c.startBrowse({ mode: 'offset', offsets: '99', follow: false }), /Offset 99 is outside partition 0's range 0–30/);
      await c.dispose();
    });

    it('timestamp starts at the first message at or after the time; a future time is refused', async function () {
      const r = await read({ mode: 'timestamp', from: T0 + 600_000, follow: false });
      assert.equal(r.length, 40);
      assert.ok(r.every((x) => x.timestamp >= T0 + 600_000));
      const { c } = browser(service, topic);
      await assert.rejects(c.startBrowse({ mode: 'timestamp', from: Date.now() + 3600_000, follow: false }), /is in the future/);
      await c.dispose();
    });

    it('a time window reads only messages inside [from, to]', async function () {
      const r = await read({ mode: 'window', from: T0 + 300_000, to: T0 + 900_000, follow: false });
      assert.equal(r.length, 20);
      assert.ok(r.every((x) => x.key!.startsWith('b1-')));
      const { c } = browser(service, topic);
      await assert.rejects(c.startBrowse({ mode: 'window', from: T0 + 900_000, to: T0, follow: false }), /starts .* after it ends/);
      // the status line speaks of that attempt too
      assert.equal(c.statusData().state, 'error');
      assert.match(c.statusData().message ?? '', /starts .* after it ends/);
      // a window that holds nothing says which window, and when the topic has messages
      await browseAll(c, { mode: 'window', from: T0 - 7_200_000, to: T0 - 3_600_000, follow: false });
      const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
      await until('the empty-window note', () => /^No message/.test(c.statusData().message ?? ''), 15_000);
      assert.equal(c.statusData().message, `No message from ${iso(T0 - 7_200_000)} to ${iso(T0 - 3_600_000)}; the topic holds messages from ${iso(T0)} to ${iso(T0 + 1_200_000)}.`);
      await c.dispose();
    });

    it("a consumer group's committed offsets, read without joining the group", async function () {
      const groupId = uniqueTopic('dp-modes-group');
      const admin = service.kafka.admin();
      await admin.connect();
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '20' }, { partition: 1, offset: '28' }] });
      const r = await read({ mode: 'group', groupId, follow: false });
      assert.equal(r.filter((x) => x.partition === 0).length, 10);
      assert.equal(r.filter((x) => x.partition === 1).length, 2);
      // the group is untouched: same offsets, no members
      const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.deepEqual(offs[0].partitions.map((p) => [p.partition, p.offset]).sort(), [[0, '20'], [1, '28']]);
      const desc = await admin.describeGroups([groupId]);
      assert.equal(desc.groups[0].members.length, 0);
      await admin.deleteGroups([groupId]);
      await admin.disconnect();
    });

    it('latest tails only new messages, live', async function () {
      const { c } = browser(service, topic);
      try {
        await browseAll(c, { mode: 'latest', follow: true }, 'live');
        assert.equal(c.view.count, 0);
        await service.produce(topic, [{ key: 'new', value: 'live one' }], 3);
        await until('3 live messages', () => c.view.count === 3);
        assert.deepEqual(rows(c).map((x) => x.value), ['live one', 'live one', 'live one']);
      } finally {
        await c.dispose();
      }
    });
  });

  it('status is pulled: ready is answered with the first rows of its window; a pull waits for news and brings the rows of the window it asks for', async function () {
    const topic = uniqueTopic('dp-pull');
    await create({ topic, numPartitions: 1 });
    await service.produce(topic, Array.from({ length: 120 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const { c, posts } = browser(service, topic, 100_000, { initial: { mode: 'earliest', follow: true } });
    const statuses = () => posts.flatMap((p) => (p.type === 'status' ? [p] : []));
    /** the webview's loop: pull with the version it holds until a status says `done` */
    const pullUntil = async (what: string, done: (st: ReturnType<typeof statuses>[number]) => boolean) => {
      for (;;) {
        const last = statuses().at(-1);
        if (last && done(last)) return last;
        const n = statuses().length;
        await c.handle({ type: 'pull', start: 0, count: 40, version: last?.page?.version ?? last?.status.version ?? -1 });
        await until(what, () => statuses().length > n, 30_000);
      }
    };
    try {
      await c.handle({ type: 'ready', start: 0, count: 40 });
      await until('the answer to ready', () => statuses().length === 1);
      const live = await pullUntil('live with 120 rows', (st) => st.status.state === 'live' && st.status.buffered === 120);
      assert.ok(statuses().length <= 4, `${statuses().length} statuses for one read of 120 messages`);
      const shown = statuses().flatMap((st) => st.page?.rows ?? []);
      assert.deepEqual(shown.slice(-40).map((r) => r.value), Array.from({ length: 40 }, (_, i) => `v${i}`), 'the rows of the window came with a status');
      // the webview holds the current rows: its pull waits, however long, until something changes
      await c.handle({ type: 'pull', start: 0, count: 40, version: live.status.version });
      const before = statuses().length;
      await sleep(600); // fixed wait: that nothing is sent for a while is the check
      assert.equal(statuses().length, before, 'a pull with nothing new is not answered');
      await service.produce(topic, [{ key: 'new', value: 'fresh' }]);
      await until('the waiting pull is answered', () => statuses().length === before + 1);
      const news = statuses()[before];
      assert.equal(news.status.buffered, 121);
      assert.deepEqual(news.page?.rows.map((r) => r.value), Array.from({ length: 40 }, (_, i) => `v${i}`), 'the rows of the window it asked for');
      // another window, with an old version: answered at once with those rows (121 in all: 21 from 100)
      await c.handle({ type: 'pull', start: 100, count: 40, version: -1 });
      await until('the second pull is answered', () => statuses().length === before + 2);
      const tail = statuses()[before + 1].page!;
      assert.equal(tail.start, 100);
      assert.deepEqual(tail.rows.map((r) => r.value), [...Array.from({ length: 20 }, (_, i) => `v${100 + i}`), 'fresh']);
      // nothing is sent without a pull, however many messages arrive: the next pull's answer is the
      // first status after them, and it already holds all 171
      const n = statuses().length;
      await service.produce(topic, Array.from({ length: 50 }, (_, i) => ({ value: `more${i}` })));
      await until('171 buffered', () => c.store.size === 171);
      await c.handle({ type: 'pull', start: 0, count: 40, version: tail.version });
      await until('the next pull is answered', () => statuses().length > n);
      assert.equal(statuses().length, n + 1, 'no status without a pull');
      assert.equal(statuses()[n].status.buffered, 171);
    } finally {
      await c.dispose();
      await service.deleteTopic(topic);
    }
  });

  it('a connection opened while the panel loads is adopted by the first read of that topic and isolation, and only by it', async function () {
    const topic = uniqueTopic('dp-ahead');
    await create({ topic, numPartitions: 3 });
    await service.produce(topic, Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const read = async (prepared: PreparedConnection, isolation: 'read_committed' | 'read_uncommitted') => {
      const store = new MessageStore(1000);
      const s = new BrowseSession({ service, topic, request: { start: { mode: 'earliest' }, follow: false }, store, isolation, prepared });
      await s.start();
      await until('all 30 read', () => store.size === 30);
      await s.stop();
      return store;
    };
    const ahead = new PreparedConnection(service.kafka, topic, 'read_committed');
    const other = new PreparedConnection(service.kafka, topic, 'read_committed');
    try {
      const store = await read(ahead, 'read_committed');
      assert.deepEqual([...Array(30).keys()].map((i) => store.value(store.firstSeq + i)?.toString()).sort(), Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
      assert.equal(ahead.take(topic, 'read_committed'), undefined, 'the read took the connection opened ahead');
      // a read at another isolation level opens its own and leaves this one to be disposed
      await read(other, 'read_uncommitted');
      const left = other.take(topic, 'read_committed');
      assert.ok(left, 'not taken by a read that does not fit');
      const c = await left;
      await c.disconnect();
    } finally {
      ahead.dispose();
      other.dispose();
    }
  });

  it('browsing a topic joins no consumer group at all (groups listed before, during and after are the same)', async function () {
    const topic = uniqueTopic('dp-nogroup');
    await create({ topic, numPartitions: 3 });
    await service.produce(topic, [{ value: 'v' }], 30);
    const before = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId).sort();
    const store = new MessageStore(1000);
    const s = new BrowseSession({ service, topic, request: { start: { mode: 'earliest' }, follow: true }, store });
    await s.start();
    await until('30 messages', () => store.size === 30);
    const during = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId).sort();
    assert.deepEqual(during, before, 'no group while reading');
    await s.stop();
    const after = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId).sort();
    assert.deepEqual(after, before);
    await service.deleteTopic(topic);
  });

  it('an unreachable broker gives one error that names the address and says what to do', async function () {
    const down = new KafkaService({ bootstrap: '127.0.0.1:29999', connectionTimeout: 500 });
    const { c, posts } = browser(down, 'any');
    await c.handle({ type: 'ready' });
    const err = posts.find((p) => p.type === 'error');
    assert.ok(err && err.type === 'error');
    assert.match(err.message, /Kafka unreachable at 127\.0\.0\.1:29999.*Start the stack or check datapipeline\.kafka\.bootstrapServers/);
    assert.equal(err.retry, true);
    await c.dispose();
    await down.dispose();
  });

  it('a regular expression that backtracks for minutes is stopped with a clear error; the host answers meanwhile and the next search works', async function () {
    const topic = uniqueTopic('dp-redos');
    await create({ topic, numPartitions: 1 });
    await service.produce(topic, [...Array.from({ length: 500 }, (_, i) => ({ value: `{"n":${i}}` })), { value: 'a'.repeat(40) + '!' }]);
    const { c, posts } = browser(service, topic, 100_000, { searchLimitMs: 3000 });
    try {
      await browseAll(c, { mode: 'earliest', follow: true }, 'live');
      const f = { regex: true, caseSensitive: false, fields: { key: true, value: true, headers: true } };
      const t0 = Date.now();
      const search = c.handle({ type: 'filter', filter: { ...f, query: '(a+)+$' } });
      // while the pattern runs, the host thread serves the webview: a page comes back at once
      await until('the status to say a search is running', () => c.statusData().searching === true, 2000);
      const p0 = Date.now();
      await c.handle({ type: 'page', reqId: 1, start: 0, count: 50 });
      assert.ok(Date.now() - p0 < 500, `a page took ${Date.now() - p0} ms during the search`);
      await search;
      const took = Date.now() - t0;
      const fr = posts.filter((p) => p.type === 'filterResult').pop();
      assert.ok(fr && fr.type === 'filterResult');
      assert.match(fr.error ?? '', /stopped after 3 s.*Simplify the pattern/);
      assert.ok(took < 6000, `stopped after ${took} ms`);
      assert.equal(c.view.count, 0);
      // live tail goes on, and is not tested against the stopped pattern
      await service.produce(topic, [{ value: 'a'.repeat(40) + '!' }]);
      await until('the new message', () => c.statusData().buffered === 502);
      await c.handle({ type: 'filter', filter: { ...f, query: '"n":4\\d\\d' } });
      assert.equal(c.view.count, 100);
    } finally {
      await c.dispose();
      await service.deleteTopic(topic);
    }
  });

  it('live tail keeps a message with a 70,000-character header key and goes on: no loop, no duplicate', async function () {
    const topic = uniqueTopic('dp-longheader');
    await create({ topic, numPartitions: 1, configs: { 'max.message.bytes': String(2 * 1024 * 1024) } });
    await service.produce(topic, Array.from({ length: 5 }, (_, i) => ({ value: `before ${i}` })));
    const { c } = browser(service, topic);
    try {
      await browseAll(c, { mode: 'earliest', follow: true }, 'live');
      const longKey = 'h'.repeat(70_000);
      await service.produce(topic, [{ value: 'first of batch' }, { value: 'long header', headers: { [longKey]: 'v' } }, { value: 'last of batch' }]);
      await service.produce(topic, [{ value: 'next batch' }]);
      await until('9 messages', () => c.statusData().buffered >= 9, 30_000);
      // a retry loop would append the batch again before it reads on: once a later sentinel (offset
      // 9) is in, everything before it has been read as often as it will be
      await service.produce(topic, [{ value: 'sentinel' }]);
      await until('the sentinel', () => rows(c).some((r) => r.value === 'sentinel'), 30_000);
      const st = c.statusData();
      assert.equal(st.buffered, 10, 'each message once');
      assert.equal(st.state, 'live', `state ${st.state}: ${st.message ?? ''}`);
      const r = rows(c);
      assert.deepEqual(r.map((x) => x.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const d = c.detail(r[6].seq)!;
      assert.equal(d.valueText, 'long header');
      assert.equal(d.headers.length, 1);
      assert.equal(d.headers[0].key.length, 70_000);
      assert.equal(d.headers[0].value, 'v');
    } finally {
      await c.dispose();
      await service.deleteTopic(topic);
    }
  });

  it('clears empty browse groups a crashed window of an older version left, never any other group, and never on a read-only connection', async function () {
    const hex = uniqueTopic('g').slice(2);
    const topic = uniqueTopic('dp-groups');
    await create({ topic, numPartitions: 1 });
    await service.produce(topic, [{ value: 'v' }]);
    const kafka = new Kafka({ clientId: 'groups-test', brokers: [service.bootstrap], logLevel: logLevel.NOTHING });
    /** a group that read the topic and committed, then its consumer left: Empty, with offsets */
    const emptyGroup = async (groupId: string) => {
      const consumer = kafka.consumer({ groupId });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let got = false;
      await consumer.run({ eachMessage: async () => void (got = true) });
      await until(`${groupId} to read`, () => got, 30_000);
      await consumer.disconnect();
    };
    const stale = `datapipeline-browse-${hex}`;
    const teams = `orders-app-${hex}`;
    await emptyGroup(stale);
    await emptyGroup(teams);
    const live = kafka.consumer({ groupId: `datapipeline-browse-live-${hex}` });
    await live.connect();
    await live.subscribe({ topic, fromBeginning: true });
    let liveGot = false;
    await live.run({ eachMessage: async () => void (liveGot = true) });
    try {
      await until('the live group to read', () => liveGot, 30_000);
      // a read-only connection writes nothing at all: no housekeeping, no record, no topic, no group
      const readOnly = new KafkaService({ bootstrap: service.bootstrap, readOnly: true });
      try {
        const before = await service.watermarks(topic);
        assert.deepEqual(await readOnly.cleanupStaleBrowseGroups(), []);
        await assert.rejects(readOnly.produce(topic, [{ value: 'x' }]), /read-only: producing to ".*" was refused and nothing was sent/);
        await assert.rejects(readOnly.createTopic({ topic: `${topic}-ro`, numPartitions: 1 }), /read-only: creating topic/);
        await assert.rejects(readOnly.deleteTopic(topic), /read-only: deleting topic/);
        await assert.rejects(readOnly.deleteGroups([teams]), /read-only: deleting consumer group/);
        const ids = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId);
        assert.ok(ids.includes(stale) && ids.includes(teams), 'the read-only connection deleted no group');
        assert.deepEqual(await service.watermarks(topic), before, 'nothing was produced');
        assert.ok(!(await service.topicNames()).includes(`${topic}-ro`), 'no topic was created');
      } finally {
        await readOnly.dispose();
      }
      const removed = await service.cleanupStaleBrowseGroups();
      assert.deepEqual(removed, [stale]);
      const ids = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId);
      assert.ok(!ids.includes(stale), 'the stale browse group is gone');
      assert.ok(ids.includes(teams), 'a team group is never touched, empty or not');
      assert.ok(ids.includes(`datapipeline-browse-live-${hex}`), 'a browse group with a member is kept');
    } finally {
      await live.disconnect();
      await service.deleteGroups([teams, `datapipeline-browse-live-${hex}`]).catch(() => undefined);
      await service.deleteTopic(topic);
    }
  });

  describe('broker restarted during live tail (own broker on 29192)', function () {
    let broker: ThrowawayKafka;
    let svc: KafkaService;

    before(async function () {
      broker = new ThrowawayKafka(29192, 29193);
      await broker.start();
      svc = new KafkaService({ bootstrap: broker.bootstrap });
    });

    after(async function () {
      await svc?.dispose();
      await broker?.destroy();
    });

    it('resumes from the last offsets: no gap, no duplicate', async function () {
      const topic = 'restart-topic';
      await svc.createTopic({ topic, numPartitions: 2 });
      await svc.produce(topic, Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `before ${i}` })));
      const store = new MessageStore(10_000);
      const states: string[] = [];
      const s = new BrowseSession({ service: svc, topic, request: { start: { mode: 'earliest' }, follow: true }, store, reconnectDelayMs: 500, onStatus: (st) => states.push(st.state) });
      await s.start();
      await until('100 messages before the restart', () => store.size === 100);
      await broker.stop();
      await sleep(3000); // fixed wait: the broker stays down 3 s (the outage under test)
      await broker.start();
      await svc.produce(topic, Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `after ${i}` })));
      await until('200 messages after the restart', () => store.size >= 200, 90_000);
      // a late duplicate would come before a later sentinel of its partition: once both sentinels are
      // in, the store holds each offset as often as it ever will
      await svc.produce(topic, [0, 1].map((partition) => ({ partition, value: 'sentinel' })));
      const sentinels = () => {
        let n = 0;
        for (let q = store.firstSeq; q < store.endSeq; q++) if (store.value(q)?.toString() === 'sentinel') n++;
        return n;
      };
      await until('a sentinel in each partition', () => sentinels() === 2, 30_000);
      const seen = new Map<number, number[]>();
      for (let q = store.firstSeq; q < store.endSeq; q++) {
        const p = store.partition(q);
        if (!seen.has(p)) seen.set(p, []);
        seen.get(p)!.push(store.offset(q));
      }
      assert.equal(store.size, 202);
      const wm = await svc.watermarks(topic);
      for (const w of wm) assert.deepEqual(seen.get(w.partition), Array.from({ length: w.high }, (_, i) => i), `partition ${w.partition} offsets`);
      await s.stop();
      assert.ok(states.includes('reconnecting') && states.lastIndexOf('live') > states.indexOf('reconnecting'), `states: ${states.join(' → ')}`);
      // the group the lost consumer was in is deleted too, once its session expired
      assert.deepEqual((await svc.listGroups({ includeBrowse: true })).map((g) => g.groupId), []);
    });
  });
});
