/**
 * Run view benchmarks (issue #18), on the shared native stack:
 * 1. A run's end to its complete run view (host side): the streaming DAG run, followed as the command
 *    does; once it ends, everything the run view shows is read (tries, the Spark application by its
 *    tags from the master, the Kafka ranges, the output messages), against the two REST calls a view
 *    of the run and its tasks alone needs. Median of 5 reads.
 * 2. The run view of a DAG with 50 tasks in the real webview (code-server + Chromium): from the
 *    run picked in "Open Run View" to its 50 timeline rows drawn, and the page's own render time,
 *    against the same for the 4-task streaming run.
 *   npx tsx bench/runView.ts      (or through npm run bench -- runView)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowClient } from '../src/services/airflow/client';
import { collectRunOutput, kafkaRangeReader } from '../src/services/airflow/runOutput';
import { followRun, STREAMING_DAG_ID, triggerStreaming } from '../src/services/airflow/streamingRun';
import { KafkaService } from '../src/services/kafka/kafkaClient';
import { SparkMasterClient } from '../src/services/spark/sparkMasterClient';
import { ensureNativeStack, releaseNativeStack, repoRoot } from '../test/integration/harness';
import { until } from '../test/lib/until';
import { BenchEntry, entry, median, runStandalone } from './lib';

const WIDE_DAG = 'bench_run_view_50_tasks';
const WIDE_FILE = path.join(repoRoot, 'stack', 'dags', `${WIDE_DAG}.py`);

/** 50 tasks in 5 lanes of 10 (EmptyOperator: the scheduler marks them done, so the run takes seconds). */
function wideDag(): string {
  return `from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="${WIDE_DAG}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"]):
    for lane in range(5):
        previous = None
        for step in range(10):
            task = EmptyOperator(task_id=f"lane{lane}_step{step}")
            if previous is not None:
                previous >> task
            previous = task
`;
}

function log(msg: string): void {
  console.log(`  ${msg}`);
}

export async function runRunViewBench(): Promise<BenchEntry[]> {
  const stack = await ensureNativeStack(['kafka', 'spark', 'airflow']);
  const out: BenchEntry[] = [];
  const client = new AirflowClient({ baseUrl: stack.endpoints.airflowUrl, username: 'admin', password: 'admin' });
  const master = new SparkMasterClient(stack.endpoints.sparkUiUrl);
  const sparkApps = async () => {
    const st = await master.status();
    return [...st.activeApps, ...st.completedApps];
  };
  fs.writeFileSync(WIDE_FILE, wideDag());
  const kafka = new KafkaService({ bootstrap: stack.endpoints.kafkaBootstrap });
  try {
    // 1. host side, right after the run's end
    const triggered = await triggerStreaming(client);
    const end = await followRun(client, STREAMING_DAG_ID, triggered.runId, { pollMs: 1000, stuckAfterMs: 600_000 });
    if (end.run.state !== 'success') throw new Error(`${STREAMING_DAG_ID} run ${triggered.runId} ended ${end.run.state}`);
    const full: number[] = [];
    const bare: number[] = [];
    let first = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const { data } = await collectRunOutput(client, kafkaRangeReader(kafka), STREAMING_DAG_ID, triggered.runId, 'output-topic', 1, { sparkApps });
      full.push(performance.now() - t0);
      if (i === 0) first = full[0];
      if (!data.trace?.spark.length || data.trace.kafka.length !== 4 || data.total !== 3) throw new Error(`the run view is incomplete: ${JSON.stringify({ spark: data.trace?.spark, ranges: data.trace?.kafka.length, total: data.total })}`);
      const t1 = performance.now();
      await Promise.all([client.getDagRun(STREAMING_DAG_ID, triggered.runId), client.listTaskInstances(STREAMING_DAG_ID, triggered.runId)]);
      bare.push(performance.now() - t1);
    }
    log(`run end -> complete run view: first ${first.toFixed(0)} ms, median ${median(full).toFixed(0)} ms; run + tasks alone ${median(bare).toFixed(0)} ms`);
    out.push(entry('run view complete after the run ends (tries, Spark app by tags, Kafka ranges, output) vs the run and its tasks alone (median of 5)', median(full), 'ms', median(bare)));

    // 2. the real webview: 50 tasks against the 4 of the streaming run
    await until('the 50-task DAG parsed', async () => (await client.listDags()).some((d) => d.dagId === WIDE_DAG), { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
    await client.setPaused(WIDE_DAG, false);
    const wide = await client.triggerDagRun(WIDE_DAG);
    const wideEnd = await followRun(client, WIDE_DAG, wide.runId, { pollMs: 1000, stuckAfterMs: 600_000 });
    if (wideEnd.run.state !== 'success') throw new Error(`${WIDE_DAG} run ended ${wideEnd.run.state}`);
    out.push(...(await webviewRounds(stack.endpoints.kafkaBootstrap, [[STREAMING_DAG_ID, triggered.runId, 4], [WIDE_DAG, wide.runId, 50]])));
  } finally {
    fs.rmSync(WIDE_FILE, { force: true });
    await kafka.dispose();
  }
  return out;
}

async function webviewRounds(bootstrap: string, runs: Array<[dagId: string, runId: string, tasks: number]>): Promise<BenchEntry[]> {
  const { VsCodeSession, datapipelineVsix } = await import('../test/e2e/lib/codeServer');
  if (!fs.existsSync(datapipelineVsix)) {
    log('datapipeline.vsix missing (npm run package): webview part skipped');
    return [];
  }
  const s = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack'), settings: { 'datapipeline.kafka.bootstrapServers': bootstrap } });
  const total = new Map<string, number[]>();
  const render = new Map<string, number[]>();
  try {
    await s.openContainer('DataPipeline');
    const pick = async (text: string) => {
      const row = s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
      await s.page.locator('.quick-input-widget .quick-input-box input').fill(text);
      await row.click({ timeout: 30_000 });
    };
    for (let round = 0; round < 3; round++) {
      for (const [dagId, runId, tasks] of round % 2 ? [...runs].reverse() : runs) {
        await s.runCommand('View: Close All Editors');
        await s.runCommand('DataPipeline: Open Run View');
        await pick(dagId);
        await s.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Run view of which' }).waitFor();
        const t0 = Date.now();
        await pick(runId);
        const frame = await s.webviewFrame({ containsSelector: '#timeline', timeoutMs: 60_000 });
        await frame.waitForFunction((n) => document.querySelectorAll('#timeline .gantt-row').length === n, tasks, { timeout: 60_000 });
        const ms = Date.now() - t0;
        const drawn = Number(await frame.locator('#root').getAttribute('data-render-ms'));
        total.set(dagId, [...(total.get(dagId) ?? []), ms]);
        render.set(dagId, [...(render.get(dagId) ?? []), drawn]);
      }
    }
  } finally {
    await s.close();
  }
  const [small, big] = runs.map(([d]) => d);
  log(`run view in the webview, pick -> timeline drawn ms: ${small} [${total.get(small)!.join(', ')}], ${big} [${total.get(big)!.join(', ')}]`);
  log(`page render ms: ${small} [${render.get(small)!.join(', ')}], ${big} [${render.get(big)!.join(', ')}]`);
  return [
    entry('run view of a 50-task DAG run in the real webview, run picked -> 50 timeline rows drawn, vs the 4-task streaming run (median of 3)', median(total.get(big)!), 'ms', median(total.get(small)!)),
    entry('run view page render of 50 tasks vs 4 (median of 3)', median(render.get(big)!), 'ms', median(render.get(small)!)),
  ];
}

export async function runRunViewBenchAndRelease(): Promise<BenchEntry[]> {
  try {
    return await runRunViewBench();
  } finally {
    await releaseNativeStack();
  }
}

if (require.main === module) runStandalone(runRunViewBenchAndRelease);
