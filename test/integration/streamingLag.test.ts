/**
 * A Structured Streaming query's lag (issue #18), on the real native stack: the stack's streaming
 * job (stack/scripts/kafka_spark_streaming.py) runs on the Spark master while Kafka's Java console
 * producer writes 10,000 people at a fixed rate. Spark's Kafka source commits no consumer-group
 * offsets, so the lag comes from the query's checkpoint and progress records: it rises while
 * producing and returns to 0, and where the query stands at the end matches the end offsets read
 * independently with the Kafka admin API; the adults it wrote are all in the output topic.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { findStreamingQueries, queryLag, totalLag, type StreamingQuery } from '../../src/services/spark/streaming';
import { cacheDir, stateDir } from '../../src/services/util/paths';
import { ensureNativeStack, sharedPorts, stackDir } from './harness';
import { startConsoleProducer } from './lib/foreignClients';
import { until } from '../lib/until';

const MESSAGES = 10_000;
const RATE_PER_S = 250;

describe('a Structured Streaming query\u2019s lag, from its checkpoint (native stack, Kafka\u2019s Java producer)', function () {
  this.timeout(15 * 60_000);
  let kafka: KafkaService;
  let backend: NativeBackend;
  const suffix = crypto.randomBytes(3).toString('hex');
  const input = `stream-in-${suffix}`;
  const output = `stream-out-${suffix}`;

  before(async function () {
    this.timeout(15 * 60_000);
    const { endpoints } = await ensureNativeStack(['kafka', 'spark']);
    kafka = new KafkaService({ bootstrap: endpoints.kafkaBootstrap });
    await kafka.createTopic({ topic: input, numPartitions: 3 });
    await kafka.createTopic({ topic: output, numPartitions: 3 });
    // the shared stack's backend, to submit the job with a micro-batch trigger that keeps running
    backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: stateDir(), groups: ['kafka', 'spark'], ports: sharedPorts(), env: { ...process.env, STREAMING_TIMEOUT_SECONDS: '600' } });
  });

  after(async () => {
    await kafka?.deleteTopic(input).catch(() => undefined);
    await kafka?.deleteTopic(output).catch(() => undefined);
    await kafka?.dispose();
  });

  it('the lag rises while 10,000 messages arrive at a fixed rate and returns to 0; the query\u2019s offsets match the admin API\u2019s end offsets', async function () {
    const abort = new AbortController();
    let driver = '';
    const job = backend.submitSpark(
      { file: path.join(stackDir, 'scripts', 'kafka_spark_streaming.py'), args: ['--input-topic', input, '--output-topic', output], kafkaConnector: true },
      { onStdout: (c) => (driver += c), onStderr: (c) => (driver += c), signal: abort.signal },
    );
    const checkpoint = path.join(backend.checkpointDirs()[0], `kafka_spark_streaming-${input}-${output}`);
    const query = (): StreamingQuery | undefined => findStreamingQueries(backend.checkpointDirs()).find((q) => q.checkpoint === checkpoint);
    const lagNow = async (q: StreamingQuery) => totalLag(queryLag(q, input, await kafka.watermarks(input)));
    let producer: ChildProcess | undefined;
    try {
      // the query is up once it has recorded a progress (an empty batch is one too)
      const started = await until('the query\u2019s first progress record', () => {
        const q = query();
        return q?.appId ? q : undefined;
      }, { timeoutMs: 240_000, intervalMs: 1000, detail: () => driver.slice(-3000) });
      const master = await new SparkMasterClient(backend.endpoints().sparkUiUrl).status();
      assert.ok(master.activeApps.some((a) => a.id === started.appId), `${started.appId} runs on the master`);

      producer = startConsoleProducer(backend.endpoints().kafkaBootstrap, input);
      const samples: number[] = [];
      let sent = 0;
      const t0 = Date.now();
      while (sent < MESSAGES) {
        // a fixed rate: as many as the clock says by now
        const due = Math.min(MESSAGES, Math.floor(((Date.now() - t0) / 1000) * RATE_PER_S));
        const lines: string[] = [];
        for (; sent < due; sent++) lines.push(JSON.stringify({ name: `p${sent}`, age: sent % 2 ? 30 : 12, city: 'Lyon' }));
        if (lines.length) producer.stdin!.write(`${lines.join('\n')}\n`);
        const q = query();
        if (q) samples.push(await lagNow(q));
        await new Promise((r) => setTimeout(r, 200)); // sampling interval of the lag
      }
      producer.stdin!.end();
      await until('the producer sent all and exited', () => producer!.exitCode !== null, 60_000);
      assert.equal(producer.exitCode, 0);
      const maxLag = Math.max(...samples);
      assert.ok(maxLag > 0, `the lag rose while producing (samples: ${samples.slice(0, 20).join(',')}…)`);

      const caughtUp = await until('the lag back to 0', async () => {
        const q = query();
        return q && (await lagNow(q)) === 0 ? q : undefined;
      }, { timeoutMs: 180_000, intervalMs: 1000, detail: () => driver.slice(-3000) });
      // independently: the admin API's end offsets are exactly where the query stands
      const ends = await kafka.watermarks(input);
      assert.equal(ends.reduce((n, w) => n + w.high, 0), MESSAGES);
      for (const w of ends) assert.equal(caughtUp.offsets.get(input)?.get(w.partition), w.high, `partition ${w.partition}`);
      assert.ok((caughtUp.processedRowsPerSecond ?? 0) >= 0 && caughtUp.batchDurationMs !== undefined, 'the progress record gives the rates and the batch duration');
      // it processed them: every adult is in the output topic
      const out = await until('the 5,000 adults in the output topic', async () => {
        const n = (await kafka.watermarks(output)).reduce((s, w) => s + w.high, 0);
        return n >= MESSAGES / 2 ? n : undefined;
      }, 60_000);
      assert.equal(out, MESSAGES / 2);
      process.stderr.write(`[streaming] ${MESSAGES} messages at ${RATE_PER_S}/s: lag peaked at ${maxLag}, back to 0; ${samples.length} samples\n`);
    } finally {
      producer?.kill();
      abort.abort();
      await job.catch(() => undefined);
    }
  });
});
