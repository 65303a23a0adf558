/**
 * Docker test harness: makes sure a real dockerd answers on /var/run/docker.sock (starts one in
 * the background when none does, and stops it by pid when the test process exits), builds the
 * fixture image FROM scratch with busybox-static, and makes the bundled stack's base image
 * (debian:bookworm-slim) with debootstrap (nothing can be pulled here).
 *
 * The dockerd it starts keeps its images under the cache (<cache>/docker/data, so built layers
 * survive between runs) and has no default bridge and no iptables rules: compose projects get
 * their own bridge networks (containers reach each other by service name), and the host reaches
 * them only through ports published on 127.0.0.1 (docker's userland proxy).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDocker, pingDocker } from '../../src/services/docker/client';
import { run } from '../../src/services/docker/compose';
import { cacheDir } from '../../src/services/util/paths';

export const FIXTURE_IMAGE = 'datapipeline-fixture/busybox:1';
export const FIXTURE_DIR = path.join(__dirname, 'fixture');
export const PROJECT_DIR = path.join(FIXTURE_DIR, 'project');
export const SOCKET = '/var/run/docker.sock';

let started: { pid: number; log: string } | undefined;
let ready: Promise<void> | undefined;

async function answers(): Promise<boolean> {
  try {
    await pingDocker(createDocker({ DOCKER_HOST: `unix://${SOCKET}` }), 2000);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A dockerd still starting or shutting down (e.g. the previous test stage's): its pid, from its pid file. */
function dockerdPidFromFile(): number | undefined {
  try {
    const pid = Number(fs.readFileSync('/var/run/docker.pid', 'utf8').trim());
    return pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function startDockerd(): Promise<void> {
  if (await answers()) return;
  // Another dockerd is coming up or going down: wait for it to answer or to be gone.
  for (let i = 0; i < 60 && dockerdPidFromFile(); i++) {
    if (await answers()) return;
    await new Promise((r) => setTimeout(r, 500)); // poll interval of a bounded wait for dockerd to stop
  }
  if (process.getuid?.() !== 0) throw new Error('dockerd is not running and these tests are not root: start Docker first.');
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
  if (!dockerd) throw new Error('dockerd is not installed: run "bash scripts/setup/docker.sh" first.');
  const log = path.join(os.tmpdir(), `datapipeline-dockerd-${process.pid}.log`);
  const out = fs.openSync(log, 'a');
  const dataRoot = path.join(cacheDir(), 'docker', 'data');
  fs.mkdirSync(dataRoot, { recursive: true });
  const child = spawn(dockerd, ['--host', `unix://${SOCKET}`, '--data-root', dataRoot, '--bridge=none', '--iptables=false', '--ip6tables=false'], {
    stdio: ['ignore', out, out],
    detached: true,
  });
  child.unref();
  fs.closeSync(out);
  started = { pid: child.pid!, log };
  process.once('exit', stopStartedDockerd);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await answers()) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 300)); // poll interval of a bounded wait for dockerd to answer
  }
  throw new Error(`dockerd did not come up within 60 s; see ${log}`);
}

/** Stops the dockerd this process started (never one that was already running). */
export function stopStartedDockerd(): void {
  if (!started) return;
  const { pid } = started;
  started = undefined;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  // Runs in the 'exit' handler, so wait synchronously (up to 20 s) for it to be gone: the next
  // test stage must not find a daemon that is shutting down.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 200 && alive(pid); i++) Atomics.wait(sleeper, 0, 0, 100);
}

/** Hash of the fixture image's sources and busybox: the image is rebuilt when they change. */
function fixtureHash(busybox: string): string {
  const h = crypto.createHash('sha256');
  const dir = path.join(FIXTURE_DIR, 'image');
  for (const f of fs.readdirSync(dir).sort()) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  h.update(fs.readFileSync(busybox));
  return h.digest('hex').slice(0, 16);
}

async function buildFixtureImage(): Promise<void> {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!busybox) throw new Error('busybox-static is not installed: run "bash scripts/setup/docker.sh" first.');
  const hash = fixtureHash(busybox);
  const inspect = spawnSync('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "datapipeline.fixture-hash"}}', FIXTURE_IMAGE], { encoding: 'utf8' });
  if (inspect.status === 0 && inspect.stdout.trim() === hash) return;
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-fixture-image-'));
  try {
    for (const f of fs.readdirSync(path.join(FIXTURE_DIR, 'image'))) fs.copyFileSync(path.join(FIXTURE_DIR, 'image', f), path.join(ctx, f));
    fs.copyFileSync(busybox, path.join(ctx, 'busybox'));
    const r = await run(['docker', 'build', '--network=none', '--label', `datapipeline.fixture-hash=${hash}`, '-t', FIXTURE_IMAGE, ctx], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    if (r.code !== 0) throw new Error(`building ${FIXTURE_IMAGE} failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}

/** dockerd running + the fixture image built; once per process. */
export function ensureDocker(): Promise<void> {
  ready ??= (async () => {
    await startDockerd();
    await buildFixtureImage();
    // no buildx plugin here: compose builds with the classic builder (users' BuildKit works too)
    if (spawnSync('docker', ['buildx', 'version']).status !== 0) process.env.DOCKER_BUILDKIT = '0';
  })();
  return ready;
}

/** debian:bookworm-slim in the daemon, made by scripts/setup/docker-base.sh (debootstrap + import) when missing. */
export async function ensureBaseImage(): Promise<void> {
  await ensureDocker();
  const r = await run(['bash', path.join(__dirname, '..', '..', 'scripts', 'setup', 'docker-base.sh')], { env: { ...process.env, DOCKER_HOST: `unix://${SOCKET}` } });
  if (r.code !== 0) throw new Error(`making the base image failed (scripts/setup/docker-base.sh):\n${r.stderr.slice(-3000)}`);
}

/** Removes every container of a compose project (whatever state it is in), by label. */
export async function removeProject(project: string): Promise<void> {
  const docker = createDocker({ DOCKER_HOST: `unix://${SOCKET}` });
  const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  // and its volumes: a run that failed before its Reset leaves no data behind for the next one
  const volumes = (await docker.listVolumes({ filters: { label: [`com.docker.compose.project=${project}`] } })).Volumes ?? [];
  await Promise.all(volumes.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
}
