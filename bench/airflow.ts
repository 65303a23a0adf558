/**
 * Airflow benchmarks.
 * 1. DAGs view load with 500 DAGs: a throwaway Airflow 2.8.1 (the stack's version, its own
 *    AIRFLOW_HOME, webserver on 127.0.0.1:28086) holding 500 generated DAG files and 200 runs; the
 *    view's root load (AirflowClient listings of DAGs, latest runs and import errors, validated, plus
 *    the view model) against the same REST calls made raw (fetch + JSON.parse), same run, medians.
 *    Goal: ratio <= 1.2.
 * 2. Trigger Streaming DAG on the shared native stack: trigger to the output viewer's data ready
 *    (run followed as the command does, output read back from Kafka) against the run's own duration
 *    in Airflow (start_date to end_date).
 *   npx tsx bench/airflow.ts      (or through npm run bench)
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../src/services/airflow/client';
import { buildDagRows } from '../src/services/airflow/dagsModel';
import { collectRunOutput, kafkaRangeReader } from '../src/services/airflow/runOutput';
import { KafkaService } from '../src/services/kafka/kafkaClient';
import { followRun, STREAMING_DAG_ID, triggerStreaming } from '../src/services/airflow/streamingRun';
import { cacheDir } from '../src/services/util/paths';
import { ensureNativeStack, releaseNativeStack } from '../test/integration/harness';
import { BenchEntry, entry, median, runStandalone } from './lib';

const DAG_COUNT = 500;
const RUN_COUNT = 200;
const PORT = 28086;
const ROUNDS = Number(process.env.DATAPIPELINE_BENCH_ROUNDS ?? '7');

function dagFile(i: number): string {
  const id = `bench_dag_${String(i).padStart(3, '0')}`;
  return `from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="${id}", schedule=${i % 3 === 0 ? '"@daily"' : 'None'}, start_date=datetime(2024, 1, 1), catchup=False,
         tags=["bench", "group${i % 10}"], description="generated DAG ${i}"):
    EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
`;
}

interface BenchAirflow {
  url: string;
  stop(): Promise<void>;
}

async function startBenchAirflow(): Promise<BenchAirflow> {
  const bin = path.join(cacheDir(), 'airflow', 'venv', 'bin');
  const airflow = path.join(bin, 'airflow');
  if (!fs.existsSync(airflow)) throw new Error(`No Airflow 2.8.1 venv at ${bin}: provision the native stack first (npm run stack -- up).`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-airflow-bench-'));
  const home = path.join(root, 'home');
  const dags = path.join(root, 'dags');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(dags, { recursive: true });
  for (let i = 0; i < DAG_COUNT; i++) fs.writeFileSync(path.join(dags, `bench_dag_${String(i).padStart(3, '0')}.py`), dagFile(i));
  const url = `http://127.0.0.1:${PORT}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: dags,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'True',
    AIRFLOW__CORE__EXECUTOR: 'SequentialExecutor',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
    AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS: 'False',
    AIRFLOW__API__AUTH_BACKENDS: 'airflow.api.auth.backend.basic_auth',
    AIRFLOW__WEBSERVER__WEB_SERVER_HOST: '127.0.0.1',
    AIRFLOW__WEBSERVER__WEB_SERVER_PORT: String(PORT),
    AIRFLOW__WEBSERVER__WORKERS: '1',
    AIRFLOW__WEBSERVER__SECRET_KEY: 'datapipeline-bench-only',
    AIRFLOW__WEBSERVER__WARN_DEPLOYMENT_EXPOSURE: 'False',
  };
  const run = (args: string[]) => {
    const r = spawnSync(airflow, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`airflow ${args.join(' ')} failed: ${(r.stderr || r.stdout).slice(-2000)}`);
  };
  run(['db', 'migrate']);
  run(['users', 'create', '--username', 'admin', '--password', 'admin', '--firstname', 'A', '--lastname', 'B', '--role', 'Admin', '--email', 'a@example.com']);
  // Parses the DAG folder and writes the DAGs to the metadata DB (what the scheduler would do).
  run(['dags', 'reserialize']);
  const log = fs.openSync(path.join(root, 'webserver.log'), 'a');
  const web: ChildProcess = spawn(airflow, ['webserver', '--hostname', '127.0.0.1', '--port', String(PORT)], { env, stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  const stop = async () => {
    if (web.pid && web.exitCode === null) {
      try {
        process.kill(-web.pid, 'SIGTERM');
      } catch {
        // gone
      }
      const deadline = Date.now() + 15_000;
      while (web.exitCode === null && web.signalCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      try {
        process.kill(-web.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ok = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(3000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`The bench Airflow webserver did not answer on ${url} within 180 s.`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { url, stop };
}

/** The same listings the view makes, as plain fetch + JSON.parse with no validation or model. */
async function rawLoad(url: string): Promise<number> {
  const auth = 'Basic ' + Buffer.from('admin:admin').toString('base64');
  const pageAll = async (p: string, key: string, query: string) => {
    const out: unknown[] = [];
    for (;;) {
      const res = await fetch(`${url}/api/v1${p}?${query}&limit=100&offset=${out.length}`, { headers: { authorization: auth, accept: 'application/json' } });
      const body = JSON.parse(await res.text()) as Record<string, unknown>;
      const items = body[key] as unknown[];
      out.push(...items);
      if (!items.length || out.length >= (body.total_entries as number)) return out;
    }
  };
  const [dags] = await Promise.all([
    pageAll('/dags', 'dags', 'only_active=true&order_by=dag_id'),
    pageAll('/dags/~/dagRuns', 'dag_runs', 'order_by=-execution_date'),
    pageAll('/importErrors', 'import_errors', 'order_by=import_error_id'),
  ]);
  return dags.length;
}

async function viewLoad(client: AirflowClient): Promise<number> {
  const [dags, latest, errors] = await Promise.all([client.listDags(), client.latestRunByDag(), client.listImportErrors()]);
  void errors;
  return buildDagRows(dags, latest).length;
}

async function timed(fn: () => Promise<number>): Promise<[number, number]> {
  const t0 = performance.now();
  const n = await fn();
  return [performance.now() - t0, n];
}

export async function runDagsViewBench(): Promise<BenchEntry[]> {
  const af = await startBenchAirflow();
  try {
    const client = new AirflowClient({ baseUrl: af.url, username: 'admin', password: 'admin' });
    await client.apiVersion();
    const dags = await client.listDags();
    if (dags.length !== DAG_COUNT) throw new Error(`expected ${DAG_COUNT} DAGs in the bench Airflow, found ${dags.length}`);
    for (let i = 0; i < RUN_COUNT; i++) await client.triggerDagRun(dags[i % dags.length]!.dagId);
    // warm both paths once
    await viewLoad(client);
    await rawLoad(af.url);
    const view: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // alternate the order so neither side always runs on a warmer server
      const pair = r % 2 === 0 ? [await timed(() => viewLoad(client)), await timed(() => rawLoad(af.url))] : [await timed(() => rawLoad(af.url)), await timed(() => viewLoad(client))].reverse();
      const [[v, nv], [w, nw]] = pair as [[number, number], [number, number]];
      if (nv !== DAG_COUNT || nw !== DAG_COUNT) throw new Error(`listing returned ${nv}/${nw} DAGs, expected ${DAG_COUNT}`);
      view.push(v);
      raw.push(w);
    }
    console.log(`  DAGs view load ms: [${view.map((v) => v.toFixed(0)).join(', ')}], raw REST ms: [${raw.map((v) => v.toFixed(0)).join(', ')}]`);
    return [entry(`DAGs view load, ${DAG_COUNT} DAGs + ${RUN_COUNT} runs vs raw REST (median of ${ROUNDS})`, median(view), 'ms', median(raw))];
  } finally {
    await af.stop();
  }
}

export async function runStreamingBench(): Promise<BenchEntry[]> {
  const stack = await ensureNativeStack(['kafka', 'spark', 'airflow']);
  const client = new AirflowClient({ baseUrl: stack.endpoints.airflowUrl, username: 'admin', password: 'admin' });
  const t0 = performance.now();
  const run = await triggerStreaming(client);
  const end = await followRun(client, STREAMING_DAG_ID, run.runId, { pollMs: 2000, stuckAfterMs: 600_000 });
  if (end.run.state !== 'success') throw new Error(`${STREAMING_DAG_ID} run ${run.runId} ended ${end.run.state}`);
  const kafka = new KafkaService({ bootstrap: stack.endpoints.kafkaBootstrap });
  const { data, messages } = await collectRunOutput(client, kafkaRangeReader(kafka), STREAMING_DAG_ID, run.runId).finally(() => kafka.dispose());
  const visibleMs = performance.now() - t0;
  if (!messages.count) throw new Error(`run ${run.runId} shows no output: ${data.note ?? ''}`);
  const runMs = Date.parse(end.run.endDate!) - Date.parse(end.run.startDate!);
  console.log(`  run ${run.runId}: ${messages.count} output records, trigger->output ${(visibleMs / 1000).toFixed(1)} s, run ${(runMs / 1000).toFixed(1)} s`);
  return [entry('Trigger Streaming DAG: trigger to output visible vs the run duration in Airflow', visibleMs / 1000, 's', runMs / 1000)];
}

export async function runAirflowBench(): Promise<BenchEntry[]> {
  const out = [...(await runDagsViewBench())];
  try {
    out.push(...(await runStreamingBench()));
  } finally {
    await releaseNativeStack();
  }
  return out;
}

if (require.main === module) runStandalone(runAirflowBench);
