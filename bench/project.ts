/**
 * Your own project (#27), native backend, each figure against a baseline measured in the same run:
 * - a requirements change: the project's layer made (pip resolves under Airflow's constraints, then
 *   installs only what the venv lacks) vs `pip install -r` of the same file into a fresh venv
 *   (goal <= 1.2x); and the whole loop a user waits for (the layer, Airflow restarted on it, the
 *   project's DAGs imported again), against the same baseline;
 * - a warm Start of Airflow on the root-layout fixture vs on the bundled stack (goal <= 1.1x).
 * A private Airflow on spare ports (25xxx) with a throwaway state folder; the fixture is copied.
 *
 *   npx tsx bench/project.ts          (or npm run bench -- project)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../src/services/airflow/client';
import { detectProject } from '../src/services/project/detect';
import { stackAirflowPassword } from '../src/services/stack/airflowPassword';
import { NativeBackend } from '../src/services/stack/native/nativeBackend';
import { ensureRequirementsLayer } from '../src/services/stack/native/requirementsLayer';
import { layoutVersions } from '../src/services/stack/native/provision';
import { cacheDir } from '../src/services/util/paths';
import { BenchEntry, entry, median, runStandalone } from './lib';
import { until } from '../test/lib/until';

const root = path.resolve(__dirname, '..');
const stackDir = path.join(root, 'stack');
const FIXTURE = path.join(root, 'test', 'fixtures', 'projects', 'root-layout');
const PORTS = { airflow: 25285, postgres: 25632, lineage: 25255 }; // not the integration tests' private stack's

function note(msg: string): void {
  process.stderr.write(`bench project: ${msg}\n`);
}

/** `python3 -m venv` + `pip install -r` of the file, in a temporary folder: the baseline. */
export function pipIntoFreshVenv(requirements: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-venv-'));
  try {
    const t0 = Date.now();
    const venv = spawnSync('python3', ['-m', 'venv', path.join(dir, 'venv')], { encoding: 'utf8' });
    if (venv.status !== 0) throw new Error(`python3 -m venv: ${venv.stderr}`);
    const pip = spawnSync(path.join(dir, 'venv', 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', requirements], { encoding: 'utf8' });
    if (pip.status !== 0) throw new Error(`pip install -r ${requirements}: ${pip.stderr.slice(-2000)}`);
    return Date.now() - t0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await fn();
  return Date.now() - t0;
}

export async function runProjectBench(): Promise<BenchEntry[]> {
  const out: BenchEntry[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-project-'));
  const project = path.join(work, 'orders pipeline');
  fs.cpSync(FIXTURE, project, { recursive: true });
  const requirements = path.join(project, 'requirements.txt');
  const layers = path.join(work, 'cache');
  const state = path.join(work, 'state');
  const backends: NativeBackend[] = [];
  const make = (withProject: boolean) => {
    const b = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: state, groups: ['airflow'], ports: PORTS, project: withProject ? detectProject([project], stackDir) : undefined });
    backends.push(b);
    return b;
  };
  try {
    // 1. the layer alone, made in this run's own (empty) cache, vs a fresh venv
    const probe = make(true);
    const l = probe.layout;
    const v = layoutVersions(l);
    const layer = (file: string) =>
      ensureRequirementsLayer({
        python: path.join(l.airflowVenv, 'bin', 'python'),
        requirements: file,
        constraints: path.join(l.versionsDir, `airflow-constraints-${v.airflow}.txt`),
        airflowVersion: v.airflow,
        cacheDir: layers,
      });
    const baseline = pipIntoFreshVenv(requirements);
    const made = await timed(() => layer(requirements));
    const reused = await timed(() => layer(requirements));
    out.push(entry(`project: requirements layer made (${path.basename(FIXTURE)}: 5 requirements, 2 the venv lacks) vs pip install -r into a fresh venv (goal <= 1.2x)`, made, 'ms', baseline));
    out.push(entry('project: requirements layer unchanged (taken from the cache) vs pip install -r into a fresh venv', reused, 'ms', baseline));
    note(`layer ${made} ms, reused ${reused} ms, fresh venv ${baseline} ms`);

    // 2. warm starts, in turn (each once before, so both are cached; a switch between them retires the
    // other's DAGs, so each is timed on a start after its own): the median of 3 each
    const bundled = make(false);
    const own = make(true);
    const bundledTimes: number[] = [];
    const ownTimes: number[] = [];
    await bundled.start({ onProgress: (p) => note(`bundled: ${p.step}`) });
    await bundled.stop();
    await own.start({ onProgress: (p) => note(`project: ${p.step}`) });
    await own.stop();
    for (let round = 0; round < 3; round++) {
      await bundled.start();
      await bundled.stop();
      bundledTimes.push(await timed(() => bundled.start()));
      await bundled.stop();
      await own.start();
      await own.stop();
      ownTimes.push(await timed(() => own.start()));
      if (round < 2) await own.stop();
    }
    const tBundled = median(bundledTimes);
    const tOwn = median(ownTimes);
    out.push(entry('project: warm start of Airflow on the root-layout fixture vs on the bundled stack, median of 3 (goal <= 1.1x)', tOwn, 'ms', tBundled));
    note(`start: project ${ownTimes.join(', ')} ms, bundled ${bundledTimes.join(', ')} ms`);

    // 3. the loop a user waits for: requirements.txt gains a package, a DAG needs it; until it imports
    const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.airflow}`, username: 'admin', password: stackAirflowPassword(state) });
    const dag = path.join(project, 'dags', 'order_greeting.py');
    fs.writeFileSync(dag, 'from datetime import datetime\nimport cowsay\nfrom airflow.decorators import dag, task\n\n@dag(dag_id="order_greeting", start_date=datetime(2024, 1, 1), schedule=None)\ndef order_greeting():\n    @task\n    def greet():\n        print(cowsay.get_output_string("cow", "hi"))\n    greet()\n\norder_greeting()\n');
    await until('the import error for cowsay', async () => (await client.listImportErrors()).some((e) => /cowsay/.test(e.stackTrace)), { timeoutMs: 180_000, intervalMs: 1000, ignoreErrors: true });
    fs.appendFileSync(requirements, 'cowsay==6.1\n');
    const loopBaseline = pipIntoFreshVenv(requirements);
    const tLoop = await timed(async () => {
      await own.reloadRequirements({ onProgress: (p) => note(`reload: ${p.step}`) });
      await until('order_greeting to import', async () => (await client.listImportErrors()).length === 0 && (await client.listDags()).some((d) => d.dagId === 'order_greeting'), { timeoutMs: 300_000, intervalMs: 500, ignoreErrors: true });
    });
    out.push(entry('project: requirements.txt changed -> layer, Airflow restarted, the DAG that needed it imports (native) vs pip install -r into a fresh venv', tLoop, 'ms', loopBaseline));
    note(`loop ${tLoop} ms, fresh venv ${loopBaseline} ms`);
  } finally {
    for (const b of backends) {
      await b.stop().catch(() => undefined);
      b.dispose();
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
  return out;
}

if (require.main === module) runStandalone(runProjectBench);
