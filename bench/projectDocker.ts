/**
 * Your own project (#27) on the Docker stack, each figure against a baseline measured in the same run:
 * - the loop a user waits for: requirements.txt gains a package a DAG needs while the stack runs ->
 *   the project's Airflow and Spark images built anew, Airflow and Spark recreated on them, the DAG
 *   imports; vs `pip install -r` of the same file into a fresh venv (goal <= 1.2x);
 * - a warm Start Stack of the root-layout fixture (its images built) vs of the bundled stack, in turn.
 * The harness's dockerd, a copy of the stack and of the fixture, spare ports (26xxx).
 *
 *   npx tsx bench/projectDocker.ts          (or npm run bench -- projectDocker)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../src/services/airflow/client';
import { detectProject } from '../src/services/project/detect';
import { dockerStackFor } from '../src/services/project/whichStack';
import { stackAirflowPassword } from '../src/services/stack/airflowPassword';
import { DockerBackend } from '../src/services/stack/docker/dockerBackend';
import { ensureBaseImage, removeProject } from '../test/docker/harness';
import { until } from '../test/lib/until';
import { pipIntoFreshVenv } from './project';
import { entry, median, runStandalone, type BenchEntry } from './lib';

const PROJECT = 'dpbench-project';
const PORTS = { KAFKA_PORT: '26092', KAFKA_PORT_2: '26094', KAFKA_PORT_3: '26096', SPARK_MASTER_PORT: '26077', SPARK_MASTER_UI_PORT: '26080', AIRFLOW_PORT: '26085', KAFKA_UI_PORT: '26090', LINEAGE_PORT: '26055', AIRFLOW_DEBUG_PORT: '26079' };
const FIXTURE = path.join(__dirname, '..', 'test', 'fixtures', 'projects', 'root-layout');

function note(msg: string): void {
  process.stderr.write(`bench projectDocker: ${msg}\n`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function runProjectDockerBench(): Promise<BenchEntry[]> {
  await ensureBaseImage();
  await removeProject(PROJECT);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-project-docker-'));
  const stackDir = path.join(work, 'stack');
  fs.cpSync(path.join(__dirname, '..', 'stack'), stackDir, { recursive: true, filter: (src) => !/__pycache__|[/\\](logs|checkpoints)$/.test(src) });
  const project = path.join(work, 'orders pipeline');
  fs.cpSync(FIXTURE, project, { recursive: true });
  const state = path.join(work, 'state');
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  const make = (withProject: boolean) =>
    new DockerBackend({
      stackDir,
      projectName: PROJECT,
      composeCommand: ['docker', 'compose'],
      env: { ...process.env, ...PORTS, DOCKER_HOST: 'unix:///var/run/docker.sock' },
      extraCaFile: fs.existsSync(ca) ? ca : undefined,
      pullTimeoutMs: 15_000,
      stateDir: state,
      project: withProject ? dockerStackFor(detectProject([project], stackDir), 'bundled', stackDir).project : undefined,
    });
  const bundled = make(false);
  const own = make(true);
  const out: BenchEntry[] = [];
  try {
    // 1. warm starts in turn (each once before, so images are built and volumes made): the median of 2 each
    await bundled.start({ onProgress: (p) => note(`bundled: ${p.step}`) });
    await own.start({ onProgress: (p) => note(`project: ${p.step}`) });
    const tBundled: number[] = [];
    const tOwn: number[] = [];
    for (let round = 0; round < 2; round++) {
      await own.stop();
      tBundled.push(await timed(() => bundled.start()));
      await bundled.stop();
      tOwn.push(await timed(() => own.start()));
    }
    out.push(entry('project (Docker): warm Start Stack of the root-layout fixture (its images built) vs of the bundled stack, median of 2 (goal <= 1.1x)', median(tOwn), 'ms', median(tBundled)));
    note(`start: project ${tOwn.map(Math.round).join(', ')} ms, bundled ${tBundled.map(Math.round).join(', ')} ms`);

    // 2. the loop: a DAG needs a package the project lacks; requirements.txt gains it while the stack runs
    const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.AIRFLOW_PORT}`, username: 'admin', password: stackAirflowPassword(state) });
    fs.writeFileSync(path.join(project, 'dags', 'order_greeting.py'), 'from datetime import datetime\nimport cowsay\nfrom airflow.decorators import dag, task\n\n@dag(dag_id="order_greeting", start_date=datetime(2024, 1, 1), schedule=None)\ndef order_greeting():\n    @task\n    def greet():\n        print(cowsay.get_output_string("cow", "hi"))\n    greet()\n\norder_greeting()\n');
    await until('the import error for cowsay', async () => (await client.listImportErrors()).some((e) => /cowsay/.test(e.stackTrace)), { timeoutMs: 300_000, intervalMs: 1000, ignoreErrors: true });
    const requirements = path.join(project, 'requirements.txt');
    // a marker that always holds and is new to this run: the images are built, not found from an earlier run
    fs.appendFileSync(requirements, `cowsay==6.1; platform_release != "bench-${Date.now()}"\n`);
    const baseline = pipIntoFreshVenv(requirements);
    const steps: string[] = [];
    const tLoop = await timed(async () => {
      await own.reloadRequirements!({ onProgress: (p) => steps.push(p.step) });
      await until('order_greeting to import', async () => (await client.listImportErrors()).length === 0 && (await client.listDags()).some((d) => d.dagId === 'order_greeting'), { timeoutMs: 600_000, intervalMs: 500, ignoreErrors: true });
    });
    const built = steps.filter((s) => /^Building the project's (Airflow|Spark) image/.test(s));
    if (!built.some((s) => /Airflow/.test(s)) || !built.some((s) => /Spark/.test(s))) throw new Error(`the loop built no new images: ${steps.join(' | ')}`);
    out.push(entry('project (Docker): requirements.txt changed -> Airflow and Spark images built, services recreated, the DAG that needed it imports vs pip install -r into a fresh venv (goal <= 1.2x)', tLoop, 'ms', baseline));
    note(`loop ${Math.round(tLoop)} ms, fresh venv ${baseline} ms`);
  } finally {
    await own.stop().catch(() => undefined);
    await bundled.reset().catch(() => undefined);
    await removeProject(PROJECT);
    fs.rmSync(work, { recursive: true, force: true });
  }
  return out;
}

if (require.main === module) runStandalone(runProjectDockerBench);
