/**
 * What real producers write, read by the message browser host as the webview drives it, on the
 * shared native Kafka 4 broker. The data comes from clients nobody here wrote: Kafka's own Java
 * console producer (every codec), a transactional producer on Kafka's Java client, kafka-python
 * (the bundled DAGs' client) and confluent-kafka (librdkafka); what DataPipeline produces with a
 * codec is read back by Kafka's Java console consumer. Kafka 4's consumer protocol groups are
 * compared with Kafka's own consumer-groups tool.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { readOutputRange } from '../../src/services/airflow/outputReader';
import { CODEC_NAMES, failDecompressionForTests } from '../../src/services/kafka/codecs';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import type { RowData, StartForm } from '../../src/protocol/messageBrowser';
import type { MessageBrowserController } from '../../src/webviews/messageBrowser/controller';
import { ensureNativeStack } from './harness';
import { consoleConsume, consoleProduce, describeGroupWithKafkaTool, javaTransactions, pythonProduce, startConsoleConsumer } from './lib/foreignClients';
import { browser, uniqueTopic } from './lib/kafkaBrowser';
import { until } from '../lib/until';

async function readAll(c: MessageBrowserController, form: Partial<StartForm> = {}): Promise<RowData[]> {
  await c.startBrowse({ mode: 'earliest', follow: false, ...form });
  await until('the read to be done', () => c.statusData().state === 'done' || c.statusData().state === 'error', 60_000);
  assert.equal(c.statusData().state, 'done', `status: ${JSON.stringify(c.statusData())}`);
  return c.page(1, 0, 500).rows;
}

function byKey(rows: RowData[]): Map<string, RowData> {
  return new Map(rows.map((r) => [r.key ?? '', r]));
}

describe('Kafka: what real producers write (Java, Python, librdkafka; every codec; transactions)', function () {
  this.timeout(300_000);
  let service: KafkaService;
  let bootstrap: string;
  const topics: string[] = [];
  const topic = (prefix: string) => {
    const t = uniqueTopic(prefix);
    topics.push(t);
    return t;
  };

  before(async function () {
    this.timeout(600_000);
    bootstrap = (await ensureNativeStack(['kafka'])).endpoints.kafkaBootstrap;
    service = new KafkaService({ bootstrap });
  });

  after(async function () {
    for (const t of topics) await service.deleteTopic(t).catch(() => undefined);
    await service.dispose();
  });

  for (const codec of CODEC_NAMES) {
    it(`reads Kafka's Java console producer with ${codec}: keys, values and headers; the count matches the end offsets`, async function () {
      const t = topic(`dp-java-${codec}`);
      await service.createTopic({ topic: t, numPartitions: 3 });
      const sent = Array.from({ length: 20 }, (_, i) => ({
        key: `k${i}`,
        value: JSON.stringify({ n: i, codec, text: 'é ✓ '.repeat(i) }),
        headers: [['source', 'console-producer'], ['n', String(i)]] as Array<[string, string]>,
      }));
      await consoleProduce(bootstrap, t, sent, codec);
      const { c } = browser(service, t);
      try {
        const rows = await readAll(c);
        const seen = byKey(rows);
        assert.equal(rows.length, 20, `rows: ${rows.map((r) => r.key).join(',')}`);
        for (const s of sent) {
          const r = seen.get(s.key);
          assert.ok(r, `message ${s.key} missing`);
          assert.equal(r.value, s.value);
          assert.equal(r.mark, undefined);
          const d = c.detail(r.seq)!;
          assert.deepEqual(d.headers.map((h) => [h.key, h.value]), s.headers);
        }
        const wm = await service.watermarks(t);
        assert.equal(wm.reduce((n, w) => n + w.high - w.low, 0), rows.length, 'the end offsets count the same messages');
        const listed = (await service.listTopics()).find((x) => x.name === t);
        assert.equal(listed?.messageCount, 20, 'the Topics view counts the same');
      } finally {
        await c.dispose();
      }
    });
  }

  for (const [script, codecs] of [
    ['kafka_python_producer.py', ['lz4', 'snappy']],
    ['confluent_producer.py', ['lz4', 'snappy', 'zstd']],
  ] as const) {
    for (const codec of codecs) {
      it(`reads ${script === 'kafka_python_producer.py' ? 'kafka-python (the DAGs\u2019 client)' : 'confluent-kafka (librdkafka)'} with ${codec}`, async function () {
        const t = topic(`dp-py-${codec}`);
        await service.createTopic({ topic: t, numPartitions: 3 });
        await pythonProduce(script, [bootstrap, t, codec, '25']);
        const { c } = browser(service, t);
        try {
          const rows = await readAll(c);
          assert.equal(rows.length, 25);
          const client = script === 'kafka_python_producer.py' ? 'kafka-python' : 'confluent-kafka';
          const prefix = client === 'kafka-python' ? 'py' : 'rd';
          for (let i = 0; i < 25; i++) {
            const r = byKey(rows).get(`${prefix}-${i}`);
            assert.ok(r, `message ${prefix}-${i} missing`);
            assert.deepEqual(JSON.parse(r.value!), { n: i, codec, client });
            assert.equal(c.detail(r.seq)!.headers[0].value, client);
          }
        } finally {
          await c.dispose();
        }
      });
    }
  }

  it('what DataPipeline produces with each codec (batches of several blocks), Kafka\u2019s Java console consumer reads', async function () {
    for (const codec of CODEC_NAMES) {
      const t = topic(`dp-ours-${codec}`);
      await service.createTopic({ topic: t, numPartitions: 1 });
      // ~400 KB per send: several 64 KB lz4 blocks and 32 KB snappy blocks, repetitive and random parts
      const values = Array.from({ length: 2000 }, (_, i) => `{"n":${i},"codec":"${codec}","city":"${['Oslo', 'Lima', 'Pune'][i % 3]}","pad":"${'ab'.repeat(i % 50)}","r":"${Math.random().toString(36).slice(2)}"}`);
      await service.produce(t, values.map((value, i) => ({ key: `k${i}`, value })), 1, { compression: codec });
      assert.deepEqual(await consoleConsume(bootstrap, t, values.length), values, `${codec}: what the Java consumer printed`);
    }
  });

  describe('transactions from Kafka\u2019s Java client', function () {
    let t: string;
    before(async function () {
      t = topic('dp-txn');
      await service.createTopic({ topic: t, numPartitions: 1 });
      // offsets: c1 c2 c3 (0-2) COMMIT(3) a1 a2 (4-5) ABORT(6) c4 (7) COMMIT(8)
      await javaTransactions(bootstrap, t, 'lz4', ['commit:c1,c2,c3', 'abort:a1,a2', 'commit:c4']);
    });

    it('read committed (the default) shows exactly the committed records; markers and aborted records are counted, not shown', async function () {
      const { c } = browser(service, t);
      try {
        const rows = await readAll(c);
        assert.deepEqual(rows.map((r) => r.value), ['c1', 'c2', 'c3', 'c4']);
        assert.deepEqual(rows.map((r) => r.offset), [0, 1, 2, 7]);
        assert.ok(rows.every((r) => r.mark === undefined));
        const st = c.statusData();
        assert.match(st.message ?? '', /3 transaction markers \(not messages\), 2 records of aborted transactions hidden \(read committed\)/);
        // the counts add up to the end offsets the Topics view shows
        const listed = (await service.listTopics()).find((x) => x.name === t)!;
        assert.equal(listed.messageCount, 4 + 3 + 2);
      } finally {
        await c.dispose();
      }
    });

    it('the output viewer reads the same committed records from that offset range', async function () {
      const out = await readOutputRange({ topic: t, start: new Map([[0, 0]]), end: new Map([[0, 9]]) }, { service });
      assert.deepEqual(out.records().map((r) => [r.offset, r.value]), [['0', 'c1'], ['1', 'c2'], ['2', 'c3'], ['7', 'c4']]);
    });

    it('read uncommitted shows every record and marks the aborted ones; control records never appear', async function () {
      const { c } = browser(service, t);
      try {
        const rows = await readAll(c, { isolation: 'read_uncommitted' });
        assert.deepEqual(
          rows.map((r) => [r.value, r.mark ?? '']),
          [['c1', ''], ['c2', ''], ['c3', ''], ['a1', 'aborted'], ['a2', 'aborted'], ['c4', '']],
        );
        assert.equal(c.detail(rows[3].seq)!.mark, 'aborted');
      } finally {
        await c.dispose();
      }
    });
  });

  it('the output viewer holds a range the Java producer wrote over 3 partitions: rows in partition, offset order, JSON fields as columns, a note at its limit', async function () {
    const t = topic('dp-output-range');
    await service.createTopic({ topic: t, numPartitions: 3 });
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i === 7 ? 'not json' : JSON.stringify({ name: `p${i}`, age: 20 + i, tags: { i } }) }));
    await consoleProduce(bootstrap, t, sent, 'zstd');
    const wm = await service.watermarks(t);
    const range = { topic: t, start: new Map(wm.map((w) => [w.partition, w.low])), end: new Map(wm.map((w) => [w.partition, w.high])) };
    const out = await readOutputRange(range, { service });
    assert.equal(out.count, 30);
    assert.equal(out.note, undefined);
    assert.deepEqual(out.columns(), ['name', 'age', 'tags']);
    const rows = out.page(0, 100);
    // partition, then offset: what the table shows top to bottom
    const order = rows.map((r) => [r.partition, r.offset]);
    assert.deepEqual(order, [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
    assert.deepEqual(new Set(rows.map((r) => r.partition)).size, 3, 'keys spread over the 3 partitions');
    const byKey = new Map(rows.map((r) => [r.key, r]));
    assert.deepEqual(byKey.get('k3')!.fields, ['p3', '23', '{"i":3}']);
    assert.deepEqual(byKey.get('k7')!.fields, ['', '', ''], 'a value that is not JSON leaves its field cells empty');
    assert.equal(byKey.get('k7')!.value, 'not json');
    // a page is a window of the same order
    assert.deepEqual(out.page(10, 5).map((r) => r.seq), rows.slice(10, 15).map((r) => r.seq));
    // at its limit it says so, and holds that many
    const capped = await readOutputRange(range, { service, max: 12 });
    assert.equal(capped.count, 12);
    assert.equal(capped.note, "Showing the first 12 messages; the run's range spans 30 offsets.");
  });

  it('a batch that cannot be decompressed is one error row naming the partition, offsets and reason; the rest is read', async function () {
    const t = topic('dp-undecodable');
    await service.createTopic({ topic: t, numPartitions: 1 });
    const rec = (p: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `${p}${i}`, value: `${p} value ${i}` }));
    await consoleProduce(bootstrap, t, rec('gz', 3), 'gzip');
    await consoleProduce(bootstrap, t, rec('lz', 4), 'lz4');
    await consoleProduce(bootstrap, t, rec('sn', 2), 'snappy');
    failDecompressionForTests('lz4', 'corrupt LZ4 frame (simulated)');
    const { c } = browser(service, t);
    try {
      const rows = await readAll(c);
      assert.deepEqual(rows.map((r) => r.key ?? `[${r.mark}]`), ['gz0', 'gz1', 'gz2', '[error]', 'sn0', 'sn1']);
      const err = rows[3];
      assert.equal(err.mark, 'error');
      assert.equal(err.value, 'Partition 0 offsets 3–6: lz4-compressed batch could not be decompressed: corrupt LZ4 frame (simulated). The other messages are shown.');
      assert.doesNotMatch(c.statusData().message ?? '', /Lost the connection/);
      assert.match(c.statusData().message ?? '', /1 batch could not be decompressed/);
    } finally {
      failDecompressionForTests('lz4', undefined);
      await c.dispose();
    }
  });

  describe('Kafka 4 consumer groups (group.protocol=consumer)', function () {
    let consumer: ChildProcess | undefined;
    after(() => consumer?.kill('SIGKILL'));

    it('a running Java consumer\u2019s group is Stable with one member and the lag Kafka\u2019s own group tool shows', async function () {
      const t = topic('dp-g848');
      const group = `dp-group-${t}`;
      await service.createTopic({ topic: t, numPartitions: 3 });
      await service.produce(t, Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
      consumer = startConsoleConsumer(bootstrap, t, group, ['--consumer-property', 'group.protocol=consumer', '--consumer-property', 'auto.commit.interval.ms=500']);
      let read = 0;
      consumer.stdout!.on('data', (d: Buffer) => (read += d.toString().split('\n').filter(Boolean).length));
      await until('the Java consumer to read 30 messages', () => read >= 30, 90_000);
      // the consumer auto-commits every 500 ms: wait until its commits cover all 30
      await until('the group to commit all 30', async () => {
        const g = (await service.listGroups()).find((x) => x.groupId === group);
        return g && g.lag.reduce((n, l) => n + Math.max(0, l.committed), 0) === 30;
      }, 30_000);
      const tool = await describeGroupWithKafkaTool(bootstrap, group);
      assert.equal(tool.state, 'Stable');
      const ours = (await service.listGroups()).find((g) => g.groupId === group);
      assert.ok(ours, 'the group is listed');
      assert.equal(ours.state, 'Stable');
      assert.equal(ours.members, 1);
      assert.deepEqual(ours.topics, [t]);
      assert.deepEqual(
        ours.lag.map((l) => [l.partition, l.committed, l.high, l.lag]),
        tool.rows.sort((a, b) => a.partition - b.partition).map((r) => [r.partition, r.current, r.logEnd, r.lag]),
        'committed offsets, end offsets and lag per partition as Kafka\u2019s tool shows them',
      );
    });
  });
});
