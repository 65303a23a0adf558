/**
 * The bundled compose stack on a real dockerd (the harness's), in one run:
 * - cold build of every image (the stack's images and their build layers removed first; Debian,
 *   PyPI and Maven Central reached from the builds) — DP_BENCH_DOCKER_COLD=0 skips it;
 * - warm Start Stack (DockerBackend.start, images built, volumes initialised) to every service
 *   healthy vs `docker compose up -d --wait` on the same stack, interleaved, best of 2 each;
 * - memory of the running Docker stack (containers' usage, as `docker stats` shows it) vs the native
 *   stack (PSS of its processes) vs the 8 GB the original stack asks for;
 * - Trigger Streaming DAG → output visible (trigger, follow to the end, read output-topic), Docker vs native.
 * Run alone: `npx tsx bench/dockerStack.ts`.
 */
import Dockerode from 'dockerode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../src/services/airflow/client';
import { collectRunOutput, kafkaRangeReader } from '../src/services/airflow/runOutput';
import { KafkaService } from '../src/services/kafka/kafkaClient';
import { followRun, STREAMING_DAG_ID, triggerStreaming } from '../src/services/airflow/streamingRun';
import { run } from '../src/services/docker/compose';
import { DockerBackend } from '../src/services/stack/docker/dockerBackend';
import { ensureBaseImage, removeProject, stopStartedDockerd } from '../test/docker/harness';
import { ensureNativeStack, releaseNativeStack } from '../test/integration/harness';
import { until } from '../test/lib/until';
import { entry, type BenchEntry, runStandalone } from './lib';

const PROJECT = 'dpbench-stack';
const PORTS = { KAFKA_PORT: '27092', SPARK_MASTER_PORT: '27077', SPARK_MASTER_UI_PORT: '27080', AIRFLOW_PORT: '27085', KAFKA_UI_PORT: '27090' };
const IMAGES = ['datapipeline/postgres:15', 'datapipeline/kafka:4.0.0', 'datapipeline/spark:3.5.0', 'datapipeline/airflow:2.8.1'];
const ORIGINAL_RAM_BYTES = 8 * 2 ** 30;

function log(msg: string): void {
  process.stderr.write(`[bench/dockerStack] ${msg}\n`);
}

/** Memory the project's containers use (usage minus inactive page cache, as `docker stats`). */
async function containersMemory(docker: Dockerode): Promise<number> {
  const list = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`] } });
  let total = 0;
  for (const c of list) {
    const st = (await docker.getContainer(c.Id).stats({ stream: false })) as unknown as { memory_stats: { usage?: number; stats?: Record<string, number> } };
    const m = st.memory_stats;
    total += (m.usage ?? 0) - (m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0);
  }
  return total;
}

async function streamingRun(airflowUrl: string, bootstrap: string): Promise<number> {
  const client = new AirflowClient({ baseUrl: airflowUrl, username: 'admin', password: 'admin' });
  await until('the DAGs to be parsed', async () => ((await client.listDags()).some((d) => d.dagId === STREAMING_DAG_ID) ? true : undefined), { timeoutMs: 180_000, intervalMs: 2000 });
  const t0 = performance.now();
  const r = await triggerStreaming(client, STREAMING_DAG_ID);
  const end = await followRun(client, STREAMING_DAG_ID, r.runId, { pollMs: 1000, stuckAfterMs: 10 * 60_000 });
  if (end.run.state !== 'success') throw new Error(`run ${r.runId} ended ${end.run.state}`);
  const kafka = new KafkaService({ bootstrap });
  const out = await collectRunOutput(client, kafkaRangeReader(kafka), STREAMING_DAG_ID, r.runId).finally(() => kafka.dispose());
  if (out.messages.count !== 3) throw new Error(`run ${r.runId} wrote ${out.messages.count} records`);
  return performance.now() - t0;
}

export async function runDockerStackBench(): Promise<BenchEntry[]> {
  await ensureBaseImage();
  await removeProject(PROJECT);
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-stack-'));
  const stackDir = path.join(work, 'stack');
  fs.cpSync(path.join(__dirname, '..', 'stack'), stackDir, { recursive: true, filter: (src) => !/__pycache__|[/\\](logs|checkpoints)$/.test(src) });
  const env = { ...process.env, ...PORTS, DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? '0' };
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  const backend = new DockerBackend({ stackDir, projectName: PROJECT, env, composeCommand: ['docker', 'compose'], extraCaFile: fs.existsSync(ca) ? ca : undefined, pullTimeoutMs: 15_000 });
  const out: BenchEntry[] = [];
  const compose = (...args: string[]) => run(['docker', 'compose', '-p', PROJECT, ...args], { cwd: stackDir, env: { ...env, DATAPIPELINE_UID: String(fs.statSync(stackDir).uid) } });
  try {
    if (process.env.DP_BENCH_DOCKER_COLD !== '0') {
      for (const image of IMAGES) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
      await docker.pruneImages({ filters: { dangling: { true: true } } }).catch(() => undefined);
      const t0 = performance.now();
      await backend.provision({ onProgress: (p) => log(p.step) });
      const ms = performance.now() - t0;
      log(`cold build: ${(ms / 1000).toFixed(0)} s`);
      out.push(entry(`docker: cold build of the stack's ${IMAGES.length} images from debian:bookworm-slim`, ms, 'ms'));
    }
    await backend.start(); // volumes initialised (Kafka format, Airflow DB): the rounds below are warm starts
    await backend.stop();
    const services = backend.model().services.filter((s) => !s.profiles.length).map((s) => s.name);
    let ours = Infinity;
    let theirs = Infinity;
    for (let round = 0; round < 2; round++) {
      let t0 = performance.now();
      await backend.start();
      ours = Math.min(ours, performance.now() - t0);
      await backend.stop();
      t0 = performance.now();
      const r = await compose('up', '-d', '--wait', ...services);
      if (r.code !== 0) throw new Error(`compose up --wait failed: ${r.stderr.slice(-2000)}`);
      theirs = Math.min(theirs, performance.now() - t0);
      await compose('down');
    }
    log(`warm start: Start Stack ${(ours / 1000).toFixed(1)} s, compose up --wait ${(theirs / 1000).toFixed(1)} s`);
    out.push(entry('docker: warm Start Stack to all healthy vs docker compose up -d --wait (bundled stack, best of 2)', ours, 'ms', theirs));

    await backend.start();
    const native = await ensureNativeStack(['kafka', 'spark', 'airflow']);
    await new Promise((r) => setTimeout(r, 20_000)); // idle: JVMs and gunicorn settled
    const dockerMem = await containersMemory(docker);
    const nativeMem = native.backend.memoryBytes();
    log(`memory: docker ${(dockerMem / 2 ** 30).toFixed(2)} GB, native ${(nativeMem / 2 ** 30).toFixed(2)} GB`);
    out.push(
      entry('docker: running stack memory (containers, as docker stats) vs the 8 GB of the original', dockerMem, 'bytes', ORIGINAL_RAM_BYTES),
      entry('docker: running stack memory vs the native stack (PSS)', dockerMem, 'bytes', nativeMem),
    );
    const e = backend.endpoints();
    const dockerRun = await streamingRun(e.airflowUrl, e.kafkaBootstrap);
    const nativeRun = await streamingRun(native.endpoints.airflowUrl, native.endpoints.kafkaBootstrap);
    log(`streaming DAG: docker ${(dockerRun / 1000).toFixed(1)} s, native ${(nativeRun / 1000).toFixed(1)} s`);
    out.push(entry('docker: Trigger Streaming DAG → output visible, Docker vs native', dockerRun, 'ms', nativeRun));
  } finally {
    await backend.reset().catch(() => undefined);
    await removeProject(PROJECT);
    await releaseNativeStack();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return out;
}

if (require.main === module) runStandalone(runDockerStackBench, stopStartedDockerd);
