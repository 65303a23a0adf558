/**
 * Spark benchmark on the shared native stack (Spark 3.5.0 standalone, default ports):
 * - submit → first driver output line through Submit Spark Job's path (checks + backend +
 *   line splitting/error detection), against `spark-submit` spawned directly with the same argv
 *   and environment, alternating, median of ROUNDS each (goal: ratio ≤ 1.1);
 * - the Spark Applications view's time to list a new application after the master registered it
 *   (the view model as the command drives it: fast polling once the driver announced its id).
 *
 *   npx tsx bench/spark.ts        (or through bench/run.ts)
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ensureNativeStack, releaseNativeStack, repoRoot } from '../test/integration/harness';
import { SparkMasterClient } from '../src/services/spark/sparkMasterClient';
import { SparkJob } from '../src/services/spark/sparkJob';
import { SparkViewModel } from '../src/services/spark/sparkViewModel';
import type { NativeBackend } from '../src/services/stack/native/nativeBackend';
import { HOST } from '../src/services/stack/native/config';
import { type BenchEntry, entry, median, runStandalone } from './lib';

const ROUNDS = Number(process.env.DP_BENCH_SPARK_ROUNDS || 4);
const HELLO = path.join(repoRoot, 'stack', 'scripts', 'hello_spark.py');

/** spark-submit run by hand: same argv and environment as the backend uses; ms to its first output line. */
function directFirstLine(backend: NativeBackend): Promise<number> {
  const sparkHome = backend.sparkHome();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SPARK_HOME: sparkHome,
    PYSPARK_PYTHON: path.join(backend.layout.sparkVenv, 'bin', 'python'),
    SPARK_LOCAL_IP: HOST,
  };
  const argv = backend.sparkSubmitArgv({ file: HELLO });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first: number | undefined;
    const child = spawn(path.join(sparkHome, 'bin', 'spark-submit'), argv, { env, cwd: path.dirname(HELLO), stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => {
      if (first === undefined && d.toString().includes('\n')) first = performance.now() - t0;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`direct spark-submit exited ${code}`));
      else if (first === undefined) reject(new Error('direct spark-submit printed nothing'));
      else resolve(first);
    });
  });
}

export async function runSparkBench(): Promise<BenchEntry[]> {
  const { backend, endpoints } = await ensureNativeStack(['spark']);
  const client = new SparkMasterClient(endpoints.sparkUiUrl);
  const model = new SparkViewModel(() => client);
  model.setVisible(true);
  const viaExtension: number[] = [];
  const direct: number[] = [];
  const viewLag: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      // alternate which goes first so neither always runs on the warmer page cache
      if (i % 2 === 0) direct.push(await directFirstLine(backend));
      const job = new SparkJob(backend, client, { file: HELLO });
      let shown: Promise<number> | undefined;
      const res = await job.run({
        onAppId: (id) => {
          shown = model.waitForApp(id, 60_000).then((ok) => {
            const app = model.findApp(id);
            if (!ok || !app) throw new Error(`the view never listed ${id}`);
            // the master's startTime is when it registered the application (same clock: 127.0.0.1)
            return Date.now() - app.startTime;
          });
        },
      });
      if (res.exitCode !== 0 || res.firstOutputMs === undefined) throw new Error(`hello_spark.py failed through SparkJob (exit ${res.exitCode})`);
      viaExtension.push(res.firstOutputMs);
      if (!shown) throw new Error('the driver never announced its application id');
      viewLag.push(await shown);
      if (i % 2 === 1) direct.push(await directFirstLine(backend));
    }
  } finally {
    model.dispose();
  }
  process.stderr.write(`spark bench: extension ${viaExtension.map(Math.round).join(', ')} ms; direct ${direct.map(Math.round).join(', ')} ms; view ${viewLag.map(Math.round).join(', ')} ms\n`);
  // Best of N is the figure to compare on a shared machine (noise only ever adds time); medians for context.
  return [
    entry(`spark: submit → first driver line (Submit Spark Job, best of ${ROUNDS})`, Math.min(...viaExtension), 'ms', Math.min(...direct)),
    entry(`spark: submit → first driver line (spark-submit directly, best of ${ROUNDS})`, Math.min(...direct), 'ms'),
    entry(`spark: submit → first driver line (Submit Spark Job, median of ${ROUNDS})`, median(viaExtension), 'ms', median(direct)),
    entry(`spark: view lists a new application after the master registered it (median of ${ROUNDS})`, median(viewLag), 'ms'),
  ];
}

if (require.main === module) runStandalone(runSparkBench, releaseNativeStack);
