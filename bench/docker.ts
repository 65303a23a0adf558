/**
 * Docker backend benchmark on the fixture compose project (busybox FROM scratch, real dockerd):
 * - Start Stack (DockerBackend.start, to every service healthy) against the compose CLI alone
 *   bringing the same project up and waiting for health (`up -d --wait` with compose v2; with v1,
 *   which has no --wait, `up -d` then `docker inspect` polled every 100 ms), median of 3 each,
 *   interleaved in the same run;
 * - the status model's update latency after a container changes state (killed / started),
 *   measured from the docker API call (kill / start, issued by the bench) to the model holding the new state.
 * Run alone: `npx tsx bench/docker.ts`.
 */
import Dockerode from 'dockerode';
import { detectCompose, run, type ComposeCli } from '../src/services/docker/compose';
import { DockerBackend } from '../src/services/stack/docker/dockerBackend';
import { StackStatusModel } from '../src/services/stack/statusModel';
import { ensureDocker, PROJECT_DIR, removeProject, stopStartedDockerd } from '../test/docker/harness';
import { entry, median, type BenchEntry, runStandalone } from './lib';
import { until } from '../test/lib/until';

const PROJECT = 'dpbench';
const WEB_PORT = '18181';
const ROUNDS = 3;
const env = { ...process.env, WEB_PORT };

async function composeUpAndWait(cli: ComposeCli, docker: Dockerode): Promise<number> {
  const argv = [...cli.command, '-p', PROJECT, '-f', 'docker-compose.yaml'];
  const t0 = performance.now();
  if (cli.major >= 2) {
    const r = await run([...argv, 'up', '-d', '--wait'], { cwd: PROJECT_DIR, env });
    if (r.code !== 0) throw new Error(`compose up --wait failed: ${r.stderr}`);
    return performance.now() - t0;
  }
  const r = await run([...argv, 'up', '-d'], { cwd: PROJECT_DIR, env });
  if (r.code !== 0) throw new Error(`compose up failed: ${r.stderr}`);
  for (;;) {
    const ids = (await run([...argv, 'ps', '-q'], { cwd: PROJECT_DIR, env })).stdout.split('\n').filter(Boolean);
    const states = await Promise.all(
      ids.map(async (id) => {
        const i = await docker.getContainer(id).inspect();
        if (i.State.Status === 'exited') return i.State.ExitCode === 0;
        return i.State.Status === 'running' && (!i.State.Health || i.State.Health.Status === 'healthy');
      }),
    );
    if (ids.length >= 4 && states.every(Boolean)) return performance.now() - t0;
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function down(cli: ComposeCli): Promise<void> {
  await run([...cli.command, '-p', PROJECT, '-f', 'docker-compose.yaml', 'down', '--remove-orphans'], { cwd: PROJECT_DIR, env });
}

export async function runDockerBench(): Promise<BenchEntry[]> {
  await ensureDocker();
  await removeProject(PROJECT);
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  const cli = await detectCompose(['docker', 'compose']);
  const backend = new DockerBackend({ stackDir: PROJECT_DIR, projectName: PROJECT, env, composeCommand: cli.command });
  const ours: number[] = [];
  const theirs: number[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await backend.start();
      ours.push(performance.now() - t0);
      await backend.stop();
      theirs.push(await composeUpAndWait(cli, docker));
      await down(cli);
    }

    await backend.start();
    const model = new StackStatusModel(backend, { debounceMs: 0 });
    try {
      await model.refresh();
      const [worker] = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=worker'] } });
      const c = docker.getContainer(worker.Id);
      const state = () => model.services.find((s) => s.id === 'worker')?.state;
      for (let i = 0; i < 5; i++) {
        let t0 = performance.now();
        await c.kill();
        await until('the model to see the worker exit', () => state() === 'exited', { timeoutMs: 15_000, intervalMs: 1 });
        latencies.push(performance.now() - t0);
        t0 = performance.now();
        await c.start();
        await until('the model to see the worker running', () => state() === 'running', { timeoutMs: 15_000, intervalMs: 1 });
        latencies.push(performance.now() - t0);
      }
    } finally {
      model.dispose();
      await backend.stop();
    }
  } finally {
    await removeProject(PROJECT);
  }
  console.error(`[bench/docker] baseline: ${cli.major >= 2 ? `compose ${cli.version} up -d --wait` : `docker-compose ${cli.version} up -d + inspect poll`}`);
  return [
    entry(`docker: Start Stack to all healthy vs compose up + wait (fixture, median of ${ROUNDS})`, median(ours), 'ms', median(theirs)),
    entry('docker: status model update after a container changes state (median of 10)', median(latencies), 'ms', null),
    entry('docker: status model update after a container changes state (max of 10)', Math.max(...latencies), 'ms', null),
  ];
}

if (require.main === module) runStandalone(runDockerBench, stopStartedDockerd);
