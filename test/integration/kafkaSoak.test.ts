/**
 * Soak: the message browser over minutes of real traffic from Kafka's own Java producer
 * (org.apache.kafka.tools.ProducerPerformance), on a private broker that the test restarts.
 * - live tail at ~2,000 msg/s for 2 minutes with a broker restart in the middle: the offsets the
 *   browser holds are exactly the topic's (no gap, no duplicate);
 * - 20,000 values of 1 MB streaming past a 256 MiB byte budget: the buffer never holds more than
 *   the budget, says how many it dropped and up to where, and the process does not grow with the stream.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { cacheDir } from '../../src/services/util/paths';
import { ensureNativeStack } from './harness';
import { browser, sleep } from './lib/kafkaBrowser';
import { ThrowawayKafka } from './lib/throwawayKafka';
import { until } from '../lib/until';

/** Kafka's producer benchmark tool: `records` values of `size` bytes at `perSecond` (-1: as fast as it can). */
function producerPerformance(bootstrap: string, topic: string, records: number, size: number, perSecond: number): { proc: ChildProcess; done: Promise<string> } {
  const proc = spawn(
    'java',
    [
      '-Xmx512m',
      '-cp', `${path.join(cacheDir(), 'kafka', 'libs')}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic', topic,
      '--num-records', String(records),
      '--record-size', String(size),
      '--throughput', String(perSecond),
      '--producer-props', `bootstrap.servers=${bootstrap}`, 'acks=all', 'linger.ms=5', `max.request.size=${2 * 1024 * 1024}`, 'delivery.timeout.ms=300000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`ProducerPerformance exited ${code}:\n${out.slice(-3000)}`))));
  });
  return { proc, done };
}

describe('Kafka soak (own broker on 29292, Java producer)', function () {
  this.timeout(900_000);
  let broker: ThrowawayKafka;
  let svc: KafkaService;
  const producers: ChildProcess[] = [];

  before(async function () {
    await ensureNativeStack(['kafka']); // provisions the Kafka jars the private broker runs
    // old segments are deleted within seconds, so 20 GB streaming past does not fill the disk
    broker = new ThrowawayKafka(29292, 29293, { 'log.retention.check.interval.ms': '5000', 'log.segment.delete.delay.ms': '1000' });
    await broker.start();
    svc = new KafkaService({ bootstrap: broker.bootstrap });
  });

  after(async function () {
    for (const p of producers) p.kill('SIGKILL');
    await svc?.dispose();
    await broker?.destroy();
  });

  it('live tail at ~2,000 msg/s for 2 minutes with a broker restart: the browser holds exactly the topic\'s offsets', async function () {
    const topic = 'soak-live';
    await svc.createTopic({ topic, numPartitions: 3 });
    const { c } = browser(svc, topic, 1_000_000);
    const states: string[] = [];
    const watch = setInterval(() => {
      const st = c.statusData().state;
      if (states[states.length - 1] !== st) states.push(st);
    }, 50);
    try {
      await c.startBrowse({ mode: 'earliest', follow: true });
      await until('live', () => c.statusData().state === 'live', 60_000);
      const t0 = Date.now();
      const prod = producerPerformance(broker.bootstrap, topic, 240_000, 200, 2000);
      producers.push(prod.proc);
      await sleep(55_000); // fixed wait: a minute of live traffic before the restart is the load under test
      const before = c.store.size;
      assert.ok(before > 80_000, `${before} messages after 55 s`);
      await broker.stop();
      await sleep(3000); // fixed wait: the broker stays down 3 s (the outage under test)
      await broker.start();
      const report = await prod.done;
      const seconds = (Date.now() - t0) / 1000;
      const wm = await svc.watermarks(topic);
      const total = wm.reduce((n, w) => n + (w.high - w.low), 0);
      assert.ok(total >= 230_000, `the topic holds ${total} records (producer: ${report.trim().split('\n').pop()})`);
      await until(`the browser to hold all ${total}`, () => c.store.size >= total, 120_000);
      // a late duplicate would come before a later sentinel of its partition: once the 3 sentinels are
      // in, every offset is held as often as it ever will be (the sentinels are the last offsets)
      await svc.produce(topic, [0, 1, 2].map((partition) => ({ partition, value: 'soak-sentinel' })));
      const sentinels = () => {
        let n = 0;
        for (let q = Math.max(c.store.firstSeq, c.store.endSeq - 10_000); q < c.store.endSeq; q++) if (c.store.value(q)?.toString() === 'soak-sentinel') n++;
        return n;
      };
      await until('a sentinel in each partition', () => sentinels() === 3, 60_000);
      for (const w of wm) w.high++;
      const held = new Map<number, number[]>();
      for (let q = c.store.firstSeq; q < c.store.endSeq; q++) {
        const p = c.store.partition(q);
        if (!held.has(p)) held.set(p, []);
        held.get(p)!.push(c.store.offset(q));
      }
      for (const w of wm) {
        const got = held.get(w.partition) ?? [];
        assert.equal(got.length, w.high - w.low, `partition ${w.partition}: ${got.length} held, the topic has ${w.high - w.low}`);
        for (let i = 0; i < got.length; i++) if (got[i] !== w.low + i) assert.fail(`partition ${w.partition}: offset ${w.low + i} expected at ${i}, got ${got[i]} (gap or duplicate)`);
      }
      const lost = states.indexOf('reconnecting');
      assert.ok(lost >= 0 && states.lastIndexOf('live') > lost, `states: ${states.join(' → ')}`);
      assert.equal(c.statusData().state, 'live');
      console.log(`      soak: ${total} records in ${seconds.toFixed(0)} s (${Math.round(total / seconds)} msg/s) with a broker restart; browser holds them all, in order`);
    } finally {
      clearInterval(watch);
      await c.dispose();
    }
  });

  it('20,000 values of 1 MB stream past a 256 MiB byte budget: memory stays under it and the browser says what it dropped', async function () {
    const topic = 'soak-big';
    const budget = 256 * 1024 * 1024;
    await svc.createTopic({ topic, numPartitions: 2, configs: { 'segment.bytes': String(256 * 1024 * 1024), 'retention.bytes': String(1024 * 1024 * 1024) } });
    const { c } = browser(svc, topic, 100_000, { maxBytes: budget });
    try {
      await c.startBrowse({ mode: 'latest', follow: true });
      await until('live', () => c.statusData().state === 'live', 60_000);
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      let maxBytes = 0;
      let maxRetained = 0;
      let maxRss = 0;
      const sampler = setInterval(() => {
        maxBytes = Math.max(maxBytes, c.store.chunkMemory);
        maxRetained = Math.max(maxRetained, c.store.retainedBytes);
        maxRss = Math.max(maxRss, process.memoryUsage().rss - rss0);
      }, 200);
      const t0 = Date.now();
      const prod = producerPerformance(broker.bootstrap, topic, 20_000, 1_000_000, -1);
      producers.push(prod.proc);
      try {
        await prod.done;
        const wm = await svc.watermarks(topic);
        const produced = wm.reduce((n, w) => n + w.high, 0);
        assert.equal(produced, 20_000);
        await until('the browser to read all 20,000', () => c.store.size + c.store.evicted >= 20_000, 300_000);
      } finally {
        clearInterval(sampler);
      }
      const seconds = (Date.now() - t0) / 1000;
      const MiB = 1024 * 1024;
      assert.ok(maxBytes <= budget, `the messages took ${maxBytes} bytes, budget ${budget}`);
      // beyond the budget: only the fixed columns (100,000 slots × 45 bytes)
      assert.ok(maxRetained <= budget + 5 * MiB, `retained ${Math.round(maxRetained / MiB)} MiB`);
      assert.ok(maxRss <= budget + 512 * MiB, `rss grew ${Math.round(maxRss / MiB)} MiB while 20 GB streamed past`);
      const st = c.statusData();
      assert.ok(st.buffered >= 0.9 * (budget / 1_000_000) && st.buffered <= budget / 1_000_000, `${st.buffered} buffered`);
      assert.equal(st.evicted, 20_000 - st.buffered);
      assert.equal(st.evictedBy, 'bytes');
      // "dropped up to" is right: each partition's first held offset follows it
      for (const [p, upTo] of st.droppedUpTo ?? []) {
        let first: number | undefined;
        for (let q = c.store.firstSeq; q < c.store.endSeq && first === undefined; q++) if (c.store.partition(q) === p) first = c.store.offset(q);
        assert.equal(first, upTo + 1, `partition ${p}`);
      }
      assert.equal(st.state, 'live');
      console.log(
        `      soak: 20,000 × 1 MB in ${seconds.toFixed(0)} s (${Math.round(20_000 / seconds)} msg/s); held ≤ ${Math.round(maxBytes / MiB)} MiB, retained ≤ ${Math.round(maxRetained / MiB)} MiB, rss +${Math.round(maxRss / MiB)} MiB`,
      );
    } finally {
      await c.dispose();
    }
  });
});
