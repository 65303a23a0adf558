/**
 * Kafka against a real Apache Kafka 4.x broker (the shared native stack through the harness):
 * admin operations, produce/browse round trips with keys, headers, binary and 10 MB values, every
 * start mode, search through the browser host, and no consumer group left behind.
 * The broker-restart test runs its own broker on 29192/29193 (the shared one is never stopped).
 */
import { strict as assert } from 'node:assert';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { BrowseSession } from '../../src/services/kafka/browseSession';
import { MessageStore } from '../../src/services/kafka/messageStore';
import { ValidationError } from '../../src/services/kafka/validation';
import type { RowData, StartForm } from '../../src/protocol/messageBrowser';
import type { MessageBrowserController } from '../../src/webviews/messageBrowser/controller';
import { ensureNativeStack } from './harness';
import { browser, sleep, uniqueTopic, waitFor } from './lib/kafkaBrowser';
import { ThrowawayKafka } from './lib/throwawayKafka';

async function browseAll(c: MessageBrowserController, form: StartForm, expectState: 'done' | 'live' = 'done'): Promise<void> {
  await c.startBrowse(form);
  await waitFor(`browse ${form.mode} to be ${expectState}`, () => c.statusData().state === expectState, 60_000);
}

function rows(c: MessageBrowserController): RowData[] {
  return c.page(1, 0, 500).rows;
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
      assert.deepEqual(listed, { name: topic, partitions: 4, messageCount: 6, internal: false });
      const parts = await service.describeTopic(topic);
      assert.equal(parts.length, 4);
      assert.equal(parts.reduce((s, p) => s + p.high - p.low, 0), 6);
      assert.ok(parts.every((p) => p.leader === 1));
      await assert.rejects(service.createTopic({ topic, numPartitions: 1 }), /already exists/);
      await service.deleteTopic(topic);
      await waitFor('topic to disappear', async () => !(await service.topicNames()).includes(topic));
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
            assert.equal(lines[0], 'partition,offset,timestamp,iso_time,key,value,headers');
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
      await waitFor('the empty-window note', () => /^No message/.test(c.statusData().message ?? ''), 15_000);
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
        await waitFor('3 live messages', () => c.view.count === 3);
        assert.deepEqual(rows(c).map((x) => x.value), ['live one', 'live one', 'live one']);
      } finally {
        await c.dispose();
      }
    });
  });

  it('browsing a topic joins no consumer group at all (groups listed before, during and after are the same)', async function () {
    const topic = uniqueTopic('dp-nogroup');
    await create({ topic, numPartitions: 3 });
    await service.produce(topic, [{ value: 'v' }], 30);
    const before = (await service.listGroups({ includeBrowse: true })).map((g) => g.groupId).sort();
    const store = new MessageStore(1000);
    const s = new BrowseSession({ service, topic, request: { start: { mode: 'earliest' }, follow: true }, store });
    await s.start();
    await waitFor('30 messages', () => store.size === 30);
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
      await waitFor('100 messages before the restart', () => store.size === 100);
      await broker.stop();
      await sleep(3000);
      await broker.start();
      await svc.produce(topic, Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `after ${i}` })));
      await waitFor('200 messages after the restart', () => store.size >= 200, 90_000);
      await sleep(1500); // would catch late duplicates
      const seen = new Map<number, number[]>();
      for (let q = store.firstSeq; q < store.endSeq; q++) {
        const p = store.partition(q);
        if (!seen.has(p)) seen.set(p, []);
        seen.get(p)!.push(store.offset(q));
      }
      assert.equal(store.size, 200);
      const wm = await svc.watermarks(topic);
      for (const w of wm) assert.deepEqual(seen.get(w.partition), Array.from({ length: w.high }, (_, i) => i), `partition ${w.partition} offsets`);
      await s.stop();
      assert.ok(states.includes('reconnecting') && states.lastIndexOf('live') > states.indexOf('reconnecting'), `states: ${states.join(' → ')}`);
      // the group the lost consumer was in is deleted too, once its session expired
      assert.deepEqual((await svc.listGroups({ includeBrowse: true })).map((g) => g.groupId), []);
    });
  });
});
