/**
 * Native stack benchmark: cold provisioning (Kafka jars, pyspark venv, Spark Kafka connector, Airflow
 * venv) into a throwaway cache, first and warm start-to-all-healthy
 * of a whole stack on spare ports (25xxx, throwaway state), and the running stack's total RSS
 * against the 8 GB the original compose stack asks for.
 *
 *   npx tsx bench/native.ts          (or npm run bench -- native)
 *   DP_BENCH_NATIVE_SKIP_PROVISION=1 skips the cold provisioning part (2-4 minutes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layout, NativePorts } from '../src/services/stack/native/config';
import { NativeBackend } from '../src/services/stack/native/nativeBackend';
import { checkPrerequisites, provisionSteps, readStepDuration, runSteps } from '../src/services/stack/native/provision';
import { cacheDir } from '../src/services/util/paths';
import { BenchEntry, entry, runStandalone } from './lib';

const root = path.resolve(__dirname, '..');
const stackDir = path.join(root, 'stack');
const PORTS: NativePorts = { kafka: 25092, kafkaController: 25093, sparkMaster: 25077, sparkMasterUi: 25080, sparkWorkerUi: 25081, airflow: 25085, postgres: 25432, lineage: 25055 };
/** The original compose stack asks for 8 GB of RAM. */
const ORIGINAL_RAM_BYTES = 8 * 2 ** 30;

function note(msg: string): void {
  process.stderr.write(`bench native: ${msg}\n`);
}

async function coldProvisioning(): Promise<BenchEntry[]> {
  const out: BenchEntry[] = [];
  const pre = await checkPrerequisites(process.env);
  const tmpCache = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-cache-'));
  try {
    const l = layout(stackDir, tmpCache, path.join(tmpCache, 'state'));
    // every step, timed for real in an empty cache (DP_BENCH_NATIVE_NO_AIRFLOW=1 leaves out the Airflow venv)
    const steps = provisionSteps(l, pre).filter((s) => process.env.DP_BENCH_NATIVE_NO_AIRFLOW !== '1' || !/Airflow/.test(s.name));
    const env = { ...process.env, JAVA_HOME: process.env.JAVA_HOME || pre.javaHome };
    const t0 = Date.now();
    await runSteps(steps, { env, log: () => undefined }, (p) => note(`cold: ${p.step}`));
    const total = Date.now() - t0;
    for (const s of steps) {
      const d = readStepDuration(s);
      if (d) out.push(entry(`native: cold provisioning step "${s.name}" (empty cache)`, d.seconds * 1000, 'ms'));
    }
    out.push(entry(`native: cold provisioning, ${steps.length} steps (empty cache; local Maven/pip download caches warm)`, total, 'ms'));
  } finally {
    fs.rmSync(tmpCache, { recursive: true, force: true });
  }
  // the whole provisioning, from the durations recorded in the real cache (when it was provisioned with them)
  const real = provisionSteps(layout(stackDir, cacheDir(), path.join(cacheDir(), 'state')), pre);
  const recorded = real.map(readStepDuration);
  const airflow = real.findIndex((s) => /Airflow/.test(s.name));
  if (airflow >= 0 && recorded[airflow]) out.push(entry('native: provisioning step "Airflow venv" (recorded)', recorded[airflow]!.seconds * 1000, 'ms'));
  if (recorded.every(Boolean)) {
    out.push(entry('native: cold provisioning total (recorded in the cache stamps)', recorded.reduce((a, d) => a + d!.seconds, 0) * 1000, 'ms'));
  } else {
    note('the cache was provisioned before durations were recorded: no recorded total');
  }
  return out;
}

async function startStopMemory(): Promise<BenchEntry[]> {
  const out: BenchEntry[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-state-'));
  const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir, ports: PORTS });
  try {
    let t0 = Date.now();
    await backend.start();
    out.push(entry('native: first start to all healthy (fresh state: Kafka format, Airflow DB migrate)', Date.now() - t0, 'ms'));
    // let the JVMs and gunicorn settle, then measure every process the stack started
    await new Promise((r) => setTimeout(r, 15_000));
    const pss = backend.memoryBytes();
    out.push(entry('native: running stack memory, PSS (Kafka, Spark master+worker, PostgreSQL, Airflow web+scheduler; vs 8 GB)', pss, 'bytes', ORIGINAL_RAM_BYTES));
    out.push(entry('native: running stack memory vs the 1.2 GB goal', pss, 'bytes', 1.2 * 2 ** 30));
    out.push(entry('native: running stack total RSS (shared pages counted once per process)', backend.rssBytes(), 'bytes'));
    for (const s of backend.services) out.push(entry(`native: PSS ${s}`, backend.memoryBytes([s]), 'bytes'));
    t0 = Date.now();
    await backend.stop();
    out.push(entry('native: stop (all processes gone, ports free)', Date.now() - t0, 'ms'));
    t0 = Date.now();
    await backend.start();
    out.push(entry('native: warm start to all healthy', Date.now() - t0, 'ms'));
  } finally {
    await backend.stop();
    backend.dispose();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  return out;
}

export async function runNativeBench(): Promise<BenchEntry[]> {
  const out: BenchEntry[] = [];
  if (process.env.DP_BENCH_NATIVE_SKIP_PROVISION !== '1') out.push(...(await coldProvisioning()));
  out.push(...(await startStopMemory()));
  return out;
}

if (require.main === module) runStandalone(runNativeBench);
