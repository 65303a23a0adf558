/**
 * Lineage benchmarks (issue #28):
 * 1. What OpenLineage costs a run: the root-layout fixture's orders_enrichment DAG (kafka-python, a
 *    Spark job to a topic and a PostgreSQL table, a consumer) on a private native stack, with lineage
 *    (the provider, the Spark listener, the stack's listener) and with DATAPIPELINE_LINEAGE=off,
 *    alternated on, off, on, off (the stack restarted between; one warm-up run after each start), 2
 *    runs each: median run time, ratio.
 * 2. The lineage graph of 50 DAGs x 20 runs (events in the shapes the real producers send, posted to a
 *    receiver of its own): the host's graph and layout, and the first paint in the real webview
 *    (code-server + Chromium, its own receiver as the Local stack's), against one DAG with one run.
 *   npx tsx bench/lineage.ts     (or npm run bench -- lineage)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../src/services/airflow/client';
import { followRun } from '../src/services/airflow/streamingRun';
import { lineageGraph } from '../src/services/lineage/graph';
import type { OLEvent } from '../src/services/lineage/openlineage';
import { indexEvents } from '../src/services/lineage/runLineage';
import { detectProject } from '../src/services/project/detect';
import { stackAirflowPassword } from '../src/services/stack/airflowPassword';
import { NativeBackend } from '../src/services/stack/native/nativeBackend';
import { stackSecrets } from '../src/services/stack/native/secrets';
import { cacheDir } from '../src/services/util/paths';
import { repoRoot } from '../test/integration/harness';
import { until } from '../test/lib/until';
import { addWarehouse } from '../test/integration/lib/lineageTrace';
import { BenchEntry, entry, median, runStandalone } from './lib';

const PORTS = { kafka: 20492, kafkaController: 20493, sparkMaster: 20477, sparkMasterUi: 20480, sparkWorkerUi: 20481, airflow: 20485, postgres: 20432, lineage: 20455 };
const GRAPH_RECEIVER_PORT = 20555;
const DAG = 'orders_enrichment';

function log(msg: string): void {
  console.log(`  ${msg}`);
}

async function overhead(): Promise<BenchEntry[]> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-lineage-'));
  const project = detectProject([path.join(repoRoot, 'test', 'fixtures', 'projects', 'root-layout')], path.join(repoRoot, 'stack'));
  const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
  let backend: NativeBackend | undefined;
  try {
    for (const mode of ['on', 'off', 'on', 'off'] as const) {
      await backend?.stop();
      backend?.dispose();
      backend = new NativeBackend({ stackDir: path.join(repoRoot, 'stack'), cacheDir: cacheDir(), stateDir: state, groups: ['kafka', 'spark', 'airflow'], ports: PORTS, project, airflow: 2, env: { ...process.env, DATAPIPELINE_LINEAGE: mode } });
      await backend.start();
      const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.airflow}`, username: 'admin', password: stackAirflowPassword(state) });
      await addWarehouse(client, { host: '127.0.0.1', port: PORTS.postgres, password: stackSecrets(state).postgresPassword });
      await until(`${DAG} parsed`, async () => (await client.listDags()).some((d) => d.dagId === DAG), { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
      await client.setPaused(DAG, false);
      // one run not counted after each start: the first Spark submit of a fresh stack pays for cold caches
      for (let i = -1; i < 2; i++) {
        const run = await client.triggerDagRun(DAG);
        const end = await followRun(client, DAG, run.runId, { pollMs: 500, stuckAfterMs: 600_000 });
        if (end.run.state !== 'success') throw new Error(`${DAG} run ended ${end.run.state} (lineage ${mode})`);
        const ms = Date.parse(end.run.endDate!) - Date.parse(end.run.startDate!);
        if (i < 0) continue;
        times[mode].push(ms);
        log(`lineage ${mode}: run ${(ms / 1000).toFixed(1)} s (${end.tasks.map((t) => `${t.taskId} ${t.duration?.toFixed(1)} s`).join(', ')})`);
      }
    }
  } finally {
    await backend?.stop().catch(() => undefined);
    backend?.dispose();
    fs.rmSync(state, { recursive: true, force: true });
  }
  return [entry(`${DAG} run time with OpenLineage (provider, Spark listener, the stack's listener) vs DATAPIPELINE_LINEAGE=off (median of 4, alternated; goal 1.05)`, median(times.on), 'ms', median(times.off))];
}

/** One run of a DAG as the producers report it: a task producing to a topic, a Spark job to a topic and a table, a consumer. */
export function syntheticRun(dag: string, run: string, n: number, at: string): OLEvent[] {
  const id = (s: string) => `${dag}-${n}-${s}`;
  const K = 'kafka://broker:19092';
  const ev = (runId: string, job: string, extra: Partial<OLEvent>): OLEvent => ({ eventType: 'COMPLETE', eventTime: at, producer: 'bench', run: { runId }, job: { namespace: 'datapipeline', name: job }, ...extra });
  const dp = (taskId: string, f: Record<string, unknown>) => ({ datapipeline_kafka: { dagId: dag, taskId, runId: run, tryNumber: 1, state: 'success', measured: [], endOffsets: {}, ...f } });
  const parent = (runId: string, root?: string) => ({ parent: { run: { runId }, job: { namespace: 'datapipeline', name: 'p' }, ...(root ? { root: { run: { runId: root }, job: { namespace: 'datapipeline', name: 'r' } } } : {}) } });
  const raw = `${dag}_raw`;
  const out = `${dag}_out`;
  return [
    ev(id('p'), `${dag}.publish`, { eventType: 'START', run: { runId: id('p'), facets: parent('dagrun') } }),
    ev(id('p'), `${dag}.publish`, { eventType: 'OTHER', outputs: [{ namespace: K, name: raw }], run: { runId: id('p'), facets: dp('publish', { measured: [{ servers: 'broker:19092', topic: raw, role: 'write', start: { '0': n * 100 }, end: { '0': n * 100 + 100 } }] }) } }),
    ev(id('e'), `${dag}.enrich`, { eventType: 'START', run: { runId: id('e'), facets: parent('dagrun') } }),
    ev(id('a'), `${dag}_job`, { eventType: 'START', run: { runId: id('a'), facets: { ...parent(id('e')), spark_applicationDetails: { applicationId: `app-${dag}-${n}`, appName: `${dag}_job` } } } }),
    ev(id('a1'), `${dag}_job.save`, { inputs: [{ namespace: K, name: raw }], outputs: [{ namespace: K, name: out }], run: { runId: id('a1'), facets: parent(id('a'), id('e')) } }),
    ev(id('a2'), `${dag}_job.jdbc`, { inputs: [{ namespace: K, name: raw }], outputs: [{ namespace: 'postgres://postgres:5432', name: `airflow.${dag}` }], run: { runId: id('a2'), facets: parent(id('a'), id('e')) } }),
    ev(id('e'), `${dag}.enrich`, { eventType: 'OTHER', run: { runId: id('e'), facets: dp('enrich', { endOffsets: { [out]: { start: { '0': n * 50 }, end: { '0': n * 50 + 50 } } } }) } }),
    ev(id('c'), `${dag}.consume`, { eventType: 'OTHER', inputs: [{ namespace: K, name: out }], run: { runId: id('c'), facets: dp('consume', { measured: [{ servers: 'broker:19092', topic: out, role: 'read', start: { '0': n * 50 }, end: { '0': n * 50 + 50 } }] }) } }),
  ];
}

function events(dags: number, runs: number): OLEvent[] {
  const out: OLEvent[] = [];
  for (let r = 0; r < runs; r++) for (let d = 0; d < dags; d++) out.push(...syntheticRun(`dag_${String(d).padStart(2, '0')}`, `manual__run_${r}`, r, new Date(Date.UTC(2026, 11, 6, 0, r, d)).toISOString()));
  return out;
}

function hostGraph(): BenchEntry[] {
  const big = events(50, 20);
  const small = events(1, 1);
  const time = (evs: OLEvent[]) => {
    const ts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const g = lineageGraph(indexEvents(evs), { runsPerDag: 20 });
      ts.push(performance.now() - t0);
      if (!g.nodes.length) throw new Error('an empty graph');
    }
    return median(ts);
  };
  const [b, s] = [time(big), time(small)];
  const g = lineageGraph(big);
  log(`graph of 50 DAGs x 20 runs (${big.length} events): ${g.nodes.length} nodes, ${g.edges.length} edges, ${b.toFixed(1)} ms; 1 DAG x 1 run ${s.toFixed(2)} ms`);
  return [entry(`lineage graph and layout in the host, 50 DAGs x 20 runs (${big.length} events, ${g.nodes.length} nodes) vs 1 DAG x 1 run (median of 5)`, b, 'ms', s)];
}

async function webviewPaint(): Promise<BenchEntry[]> {
  const { VsCodeSession, datapipelineVsix } = await import('../test/e2e/lib/codeServer');
  if (!fs.existsSync(datapipelineVsix)) {
    log('datapipeline.vsix missing (npm run package): webview part skipped');
    return [];
  }
  const paints: Record<string, number[]> = { big: [], small: [] };
  for (const [name, evs] of [['small', events(1, 1)], ['big', events(50, 20)]] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-receiver-'));
    const receiver = spawn('python3', [path.join(repoRoot, 'stack', 'lineage', 'receiver.py'), '--port', String(GRAPH_RECEIVER_PORT), '--store', dir], { stdio: 'ignore' });
    try {
      const url = `http://127.0.0.1:${GRAPH_RECEIVER_PORT}`;
      await until('the bench receiver', async () => (await fetch(`${url}/health`)).ok, { timeoutMs: 20_000, intervalMs: 200, ignoreErrors: true });
      for (let i = 0; i < evs.length; i += 50) {
        await Promise.all(evs.slice(i, i + 50).map(async (e) => (await fetch(`${url}/api/v1/lineage`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(e) })).arrayBuffer()));
      }
      // the Local stack (native) whose receiver is this one
      const s = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack'), settings: { 'datapipeline.stack.backend': 'native', 'datapipeline.stack.nativePorts': { lineage: GRAPH_RECEIVER_PORT } } });
      try {
        for (let round = 0; round < 3; round++) {
          await s.runCommand('View: Close All Editors');
          await s.runCommand('DataPipeline: Show Lineage Graph');
          const frame = await s.webviewFrame({ containsSelector: '#graph', timeoutMs: 60_000 });
          const ms = Number(await frame.locator('#root').getAttribute('data-render-ms'));
          paints[name].push(ms);
        }
      } finally {
        await s.close();
      }
    } finally {
      receiver.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  log(`lineage graph first paint in the webview ms: 50x20 [${paints.big.join(', ')}], 1x1 [${paints.small.join(', ')}]`);
  return [entry('lineage graph of 50 DAGs x 20 runs, first paint in the real webview (data in -> next frame; goal 500 ms) vs 1 DAG x 1 run (median of 3)', median(paints.big), 'ms', median(paints.small))];
}

export async function runLineageBench(): Promise<BenchEntry[]> {
  return [...hostGraph(), ...(await webviewPaint()), ...(await overhead())];
}

if (require.main === module) runStandalone(runLineageBench);
