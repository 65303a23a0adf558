/**
 * Any DAG traced (issue #28), on the native stack: the root-layout fixture's orders_enrichment DAG has
 * no DataPipeline code (kafka-python produces 100 orders, a SparkSubmitOperator job reads them and
 * writes a second topic and a PostgreSQL table over JDBC, kafka-python consumes the second topic with a
 * consumer group). After each run, the run view's trace, read from OpenLineage events alone (Airflow's
 * provider, the Spark listener, the stack's listener), lists exactly those datasets per task, with the
 * Kafka ranges equal to the topics' real offsets before and after the run; the Spark application is
 * linked to its task by the lineage parent run. Two runs: each run's ranges are its own.
 * A private stack (own state and ports: Kafka, Spark, Airflow, its receiver) runs the project.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { AirflowClient } from '../../src/services/airflow/client';
import { followRun } from '../../src/services/airflow/streamingRun';
import { collectRunTrace, type RunTrace } from '../../src/services/airflow/runTrace';
import { LineageFeed } from '../../src/services/lineage/openlineage';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { detectProject } from '../../src/services/project/detect';
import { stackAirflowPassword } from '../../src/services/stack/airflowPassword';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { stackSecrets } from '../../src/services/stack/native/secrets';
import { cacheDir } from '../../src/services/util/paths';
import { stackDir } from './harness';
import { addWarehouse } from './lib/lineageTrace';
import { until } from '../lib/until';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'projects', 'root-layout');
const PORTS = { kafka: 29492, kafkaController: 29493, sparkMaster: 29477, sparkMasterUi: 29480, sparkWorkerUi: 29481, airflow: 29485, postgres: 29432, lineage: 29455 };
const DAG = 'orders_enrichment';

type Offsets = Record<string, Record<number, number>>;

describe('any DAG traced from OpenLineage on the native stack (a DAG with no DataPipeline code)', function () {
  this.timeout(30 * 60_000);
  let state: string;
  let backend: NativeBackend;
  let client: AirflowClient;
  let kafka: Kafka;
  const feed = new LineageFeed(`http://127.0.0.1:${PORTS.lineage}`);
  const master = new SparkMasterClient(`http://127.0.0.1:${PORTS.sparkMasterUi}`);
  const sparkApps = async () => {
    const st = await master.status();
    return [...st.activeApps, ...st.completedApps];
  };

  async function endOffsets(): Promise<Offsets> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const out: Offsets = {};
      const topics = await admin.listTopics();
      for (const t of ['orders_raw', 'orders_enriched']) {
        out[t] = {};
        if (!topics.includes(t)) continue;
        for (const p of await admin.fetchTopicOffsets(t)) out[t][p.partition] = Number(p.high);
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /** The range between two end-offset readings, as the trace gives it (partitions that grew). */
  function grown(before: Offsets, after: Offsets, topic: string): Array<[number, number, number]> {
    return Object.entries(after[topic])
      .map(([p, end]) => [Number(p), before[topic][Number(p)] ?? 0, end] as [number, number, number])
      .filter(([, start, end]) => end > start)
      .sort((a, b) => a[0] - b[0]);
  }

  async function runOnce(): Promise<{ runId: string; before: Offsets; after: Offsets; trace: RunTrace }> {
    const before = await endOffsets();
    const run = await client.triggerDagRun(DAG);
    const end = await followRun(client, DAG, run.runId, { pollMs: 2000, stuckAfterMs: 8 * 60_000 });
    if (end.run.state !== 'success') {
      const logs = await Promise.all(end.tasks.map(async (t) => (await client.getTaskLog(t, Math.max(1, t.tryNumber))).text));
      assert.fail(`${DAG}: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n').slice(-6000)}`);
    }
    const after = await endOffsets();
    // the listener's events arrive as each task ends; the Spark application's as it stops
    let trace!: RunTrace;
    await until('the run\u2019s lineage: 3 tasks and the Spark job\u2019s table', async () => {
      trace = (await collectRunTrace(client, DAG, run.runId, { sparkApps, lineage: () => feed.read() })).trace;
      return trace.datasets.some((d) => d.kind === 'table') && new Set(trace.datasets.map((d) => d.taskId)).size === 3;
    }, { timeoutMs: 60_000, intervalMs: 1000, detail: () => JSON.stringify(trace?.datasets.map((d) => [d.taskId, d.role, d.label])) });
    return { runId: run.runId, before, after, trace };
  }

  /** What the run view lists per task: [task, role, dataset, [partition, start, end]…, where the range came from]. */
  function listed(trace: RunTrace) {
    return trace.datasets.map((d) => [d.taskId, d.role, d.kind, d.label, (d.partitions ?? []).filter((p) => p.end > p.start).map((p) => [p.partition, p.start, p.end]), d.rangeSource ?? null]);
  }

  before(async function () {
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-lineage-state-'));
    backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: state, groups: ['kafka', 'spark', 'airflow'], ports: PORTS, project: detectProject([FIXTURE], stackDir), airflow: 2 });
    const t0 = Date.now();
    await backend.start({ onProgress: (p) => process.stderr.write(`[lineage] ${p.step}\n`) });
    process.stderr.write(`[lineage] stack healthy in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.airflow}`, username: 'admin', password: stackAirflowPassword(state) });
    kafka = new Kafka({ brokers: [`127.0.0.1:${PORTS.kafka}`], clientId: 'dp-lineage-test', logLevel: logLevel.NOTHING });
    // the warehouse: the stack's own PostgreSQL, as a user adds a connection in Airflow
    await addWarehouse(client, { host: '127.0.0.1', port: PORTS.postgres, password: stackSecrets(state).postgresPassword });
    await until(`${DAG} parsed`, async () => (await client.listDags()).some((d) => d.dagId === DAG), { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
    await client.setPaused(DAG, false);
  });

  after(async function () {
    await backend?.stop().catch(() => undefined);
    backend?.dispose();
    if (state) fs.rmSync(state, { recursive: true, force: true });
  });

  const runs: Array<Awaited<ReturnType<typeof runOnce>>> = [];

  it('one run: each task\u2019s datasets with the Kafka ranges the topics really grew by; the Spark application linked by its parent run', async function () {
    const r = await runOnce();
    runs.push(r);
    const raw = grown(r.before, r.after, 'orders_raw');
    const enriched = grown(r.before, r.after, 'orders_enriched');
    assert.equal(raw.reduce((n, [, s, e]) => n + e - s, 0), 100, 'the DAG produced 100 orders');
    assert.equal(enriched.reduce((n, [, s, e]) => n + e - s, 0), 100, 'and Spark wrote 100 enriched ones');
    assert.deepEqual(listed(r.trace), [
      ['publish_raw_orders', 'write', 'kafka', 'orders_raw', raw, 'measured'],
      ['enrich_orders', 'read', 'kafka', 'orders_raw', raw, 'upstream'],
      ['enrich_orders', 'write', 'kafka', 'orders_enriched', enriched, 'end offsets'],
      ['enrich_orders', 'write', 'table', 'orders_enriched', [], null],
      ['count_enriched_orders', 'read', 'kafka', 'orders_enriched', enriched, 'measured'],
    ]);
    const ds = (task: string, label: string) => r.trace.datasets.find((d) => d.taskId === task && d.label === label)!;
    assert.deepEqual(ds('enrich_orders', 'orders_enriched').via, ['spark'], 'named by the Spark listener');
    assert.deepEqual(ds('publish_raw_orders', 'orders_raw').via, ['listener']);
    // the Kafka section and "Open these messages" get the same ranges
    assert.deepEqual(r.trace.kafka.map((k) => [k.taskId, k.role, k.topic, k.count, k.source]), [
      ['publish_raw_orders', 'write', 'orders_raw', 100, 'measured'],
      ['enrich_orders', 'read', 'orders_raw', 100, 'upstream'],
      ['enrich_orders', 'write', 'orders_enriched', 100, 'end offsets'],
      ['count_enriched_orders', 'read', 'orders_enriched', 100, 'measured'],
    ]);
    // the application the master lists for the task is the one lineage names as its child run
    assert.equal(r.trace.spark.length, 1, JSON.stringify(r.trace.spark));
    assert.equal(r.trace.spark[0].taskId, 'enrich_orders');
    const events = await feed.read();
    const app = events.find((e) => (e.run.facets?.spark_applicationDetails as { applicationId?: string } | undefined)?.applicationId === r.trace.spark[0].appId);
    assert.ok(app, `a Spark event of ${r.trace.spark[0].appId}`);
    const parent = (app.run.facets?.parent as { job: { name: string }; root?: { job: { name: string } } });
    assert.equal((parent.root ?? parent).job.name, `${DAG}.enrich_orders`);
    assert.deepEqual(r.trace.notes, []);
  });

  it('a second run: its ranges are its own (they start where the first run\u2019s ended)', async function () {
    assert.equal(runs.length, 1, 'the first run ran');
    const r = await runOnce();
    const raw = grown(r.before, r.after, 'orders_raw');
    const enriched = grown(r.before, r.after, 'orders_enriched');
    assert.deepEqual(listed(r.trace).map((x) => [x[0], x[1], x[3], x[4]]), [
      ['publish_raw_orders', 'write', 'orders_raw', raw],
      ['enrich_orders', 'read', 'orders_raw', raw],
      ['enrich_orders', 'write', 'orders_enriched', enriched],
      ['enrich_orders', 'write', 'orders_enriched', []],
      ['count_enriched_orders', 'read', 'orders_enriched', enriched],
    ]);
    for (const [p, start] of raw) assert.equal(start, runs[0].after.orders_raw[p], `orders_raw[${p}] starts where run 1 ended`);
    // and the first run's trace still has its own
    const first = (await collectRunTrace(client, DAG, runs[0].runId, { sparkApps, lineage: () => feed.read() })).trace;
    assert.deepEqual(listed(first), listed(runs[0].trace));
  });
});
