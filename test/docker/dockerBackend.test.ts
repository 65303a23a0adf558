/**
 * The Docker backend against a real dockerd and the compose CLI, on a fixture project built
 * FROM scratch with busybox-static (host / none networking, ports 18xxx on 127.0.0.1).
 */
import { strict as assert } from 'node:assert';
import Dockerode from 'dockerode';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerBackend } from '../../src/services/stack/docker/dockerBackend';
import { probeDocker } from '../../src/services/stack/select';
import { otherStackQuestion, sharedDataLine } from '../../src/services/stack/owner';
import { StackStatusModel } from '../../src/services/stack/statusModel';
import { StackError, type StackProgress } from '../../src/services/stack/types';
import { ensureDocker, PROJECT_DIR, removeProject } from './harness';
import { until } from '../lib/until';

const PROJECT = 'dpfixture';
const FAULTY = 'dpfaulty';
const WEB_PORT = 18081;
/** who started the fixture stack is recorded here, not in the user's state folder */
const STATE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-docker-state-'));

function backend(extra: Partial<ConstructorParameters<typeof DockerBackend>[0]> = {}): DockerBackend {
  return new DockerBackend({
    stackDir: PROJECT_DIR,
    projectName: PROJECT,
    stateDir: STATE_DIR,
    composeCommand: ['docker', 'compose'],
    healthTimeoutMs: 60_000,
    ...extra,
  });
}

/** Starts a failure variant of the fixture (project FAULTY): its backend and the StackError Start Stack gave. */
async function failedStart(composeFile: string, healthTimeoutMs = 60_000): Promise<{ faulty: DockerBackend; err: StackError }> {
  const faulty = new DockerBackend({ stackDir: PROJECT_DIR, composeFile, projectName: FAULTY, healthTimeoutMs });
  const err = await faulty.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof StackError, String(err));
  return { faulty, err };
}

async function httpGet(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return res.text();
}

describe('Docker backend on a real dockerd (fixture compose project)', function () {
  this.timeout(180_000);
  const b = backend();

  before(async () => {
    await ensureDocker();
    await removeProject(PROJECT);
    await removeProject(FAULTY);
  });

  after(async () => {
    await b.stop().catch(() => undefined);
    await removeProject(PROJECT);
    await removeProject(FAULTY);
    fs.rmSync(STATE_DIR, { recursive: true, force: true });
  });

  // the failure variants share one project name: each starts from nothing, whatever the last one left
  afterEach(async () => {
    await removeProject(FAULTY);
  });

  it('starts every service, reporting each as it becomes healthy, and the web UI answers', async () => {
    const steps: StackProgress[] = [];
    await b.start({ onProgress: (p) => steps.push(p) });
    const healthy = steps.filter((s) => s.service).map((s) => s.service);
    assert.deepEqual([...healthy].sort(), ['init', 'spark-master', 'web', 'worker']);
    assert.equal(steps[steps.length - 1].percent, 100);
    assert.ok(steps.some((s) => !s.service && /(Creating|Created|Starting|Started) \S*web/.test(s.step)), steps.map((s) => s.step).join(' | '));
    assert.match(await httpGet(WEB_PORT), /DataPipeline fixture web UI/);
  });

  it('reads state and health through dockerode, with ports and their URLs', async () => {
    const status = await b.status();
    const by = Object.fromEntries(status.map((s) => [s.id, s]));
    assert.equal(by.web.state, 'running');
    assert.equal(by.web.health, 'healthy');
    assert.equal(by.web.label, 'Fixture web UI');
    assert.deepEqual(by.web.ports, [{ name: 'Web UI', host: '127.0.0.1', port: WEB_PORT, url: `http://127.0.0.1:${WEB_PORT}` }]);
    assert.equal(by.worker.state, 'running');
    assert.equal(by.worker.health, 'none');
    assert.equal(by.init.state, 'exited');
    assert.equal(by.init.detail, 'completed');
    assert.ok(by['spark-master'].pid && by['spark-master'].pid > 0);
  });

  it('the events stream updates the status model when a container stops and comes back', async () => {
    const model = new StackStatusModel(b, { debounceMs: 20 });
    try {
      await model.refresh();
      assert.equal(model.summary().ok, 4);
      let changes = 0;
      const sub = model.onDidChange(() => changes++);
      const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
      const [worker] = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=worker'] } });
      await docker.getContainer(worker.Id).kill();
      await until('the model to see the worker exit', () => model.services.find((s) => s.id === 'worker')?.state === 'exited' || undefined);
      assert.ok(changes > 0, 'no change event was fired');
      assert.equal(model.summary().ok, 3);
      assert.equal(model.summary().degraded, true);
      await docker.getContainer(worker.Id).start();
      await until('the model to see the worker running again', () => model.services.find((s) => s.id === 'worker')?.state === 'running' || undefined);
      assert.equal(model.summary().ok, 4);
      sub.dispose();
    } finally {
      model.dispose();
    }
  });

  it('reads a service log, and follows it until aborted', async () => {
    const lines: string[] = [];
    await b.logs('init', (l) => lines.push(l));
    assert.deepEqual(lines, ['init: preparing', 'init: done']);
    const followed: string[] = [];
    const ac = new AbortController();
    const done = b.logs('worker', (l) => followed.push(l), { follow: true, tail: 1, signal: ac.signal });
    await until('two new worker ticks', () => (followed.length >= 3 ? true : undefined), 10_000);
    ac.abort();
    await done;
    assert.match(followed[followed.length - 1], /^worker tick \d+$/);
  });

  it('submits a Spark job by exec in spark-master: a mounted file by its container path, an outside file copied in', async () => {
    let out = '';
    const mounted = await b.submitSpark(
      { file: path.join(PROJECT_DIR, 'scripts', 'job.py'), args: ['--day', '2024-01-01'] },
      { onStdout: (s) => (out += s), onStderr: (s) => (out += s) },
    );
    assert.equal(mounted.exitCode, 0);
    assert.equal(mounted.appId, 'app-20240101000000-0001');
    assert.match(out, /running \/opt\/scripts\/job\.py/);
    assert.match(out, /--master spark:\/\/spark-master:7077 --deploy-mode client \/opt\/scripts\/job\.py --day 2024-01-01/);
    assert.match(out, /hello from the fixture job/);

    const outsideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-submit-'));
    try {
      const outside = path.join(outsideDir, 'outside.py');
      fs.writeFileSync(outside, 'print("written outside every mount")\n');
      out = '';
      const copied = await b.submitSpark({ file: outside }, { onStdout: (s) => (out += s), onStderr: (s) => (out += s) });
      assert.equal(copied.exitCode, 0, out);
      assert.match(out, /running \/tmp\/datapipeline-submit\/[0-9a-f]{12}\/outside\.py/);
      assert.match(out, /written outside every mount/);
    } finally {
      fs.rmSync(outsideDir, { recursive: true, force: true });
    }
  });

  it('a Spark image that keeps spark-submit elsewhere than /opt/spark/bin is searched: found on its PATH', async () => {
    let out = '';
    const elsewhere = backend({ sparkSubmitPath: '/usr/local/spark/bin/spark-submit' });
    const r = await elsewhere.submitSpark({ file: path.join(PROJECT_DIR, 'scripts', 'job.py') }, { onStdout: (s) => (out += s), onStderr: (s) => (out += s) });
    assert.equal(r.exitCode, 0, out);
    assert.match(out, /hello from the fixture job/);
  });

  it('cancelling a submitted job stops spark-submit inside the container', async () => {
    const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
    const [master] = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=spark-master'] } });
    const ps = async () => {
      let out = '';
      const exec = await docker.getContainer(master.Id).exec({ Cmd: ['ps', '-o', 'args'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      await new Promise<void>((resolve) => {
        stream.on('data', (c: Buffer) => (out += c.toString()));
        stream.once('end', resolve);
      });
      return out;
    };
    const ac = new AbortController();
    let out = '';
    const job = b.submitSpark(
      { file: path.join(PROJECT_DIR, 'scripts', 'job.py'), args: ['--sleep'] },
      { onStdout: (s) => (out += s), onStderr: (s) => (out += s), signal: ac.signal },
    );
    await until('the job to be running', () => (/sleeping like a streaming job/.test(out) ? true : undefined));
    assert.doesNotMatch(out, /datapipeline-submit-pid/, 'the wrapper line leaked into the output');
    assert.match(await ps(), /sleep 4242/);
    ac.abort();
    await job;
    await until('spark-submit to be gone from the container', async () => (/sleep 4242/.test(await ps()) ? undefined : true), 10_000);
  });

  it('restarts one service and waits for it to be healthy again; the others keep running', async () => {
    const before = Object.fromEntries((await b.status()).map((s) => [s.id, s]));
    const steps: string[] = [];
    await b.restart('web', { onProgress: (p) => steps.push(p.step) });
    const after = Object.fromEntries((await b.status()).map((s) => [s.id, s]));
    assert.equal(after.web.health, 'healthy');
    assert.notEqual(after.web.pid, before.web.pid, 'web was not restarted');
    assert.equal(after['spark-master'].pid, before['spark-master'].pid, 'spark-master was restarted too');
    assert.ok(steps.some((s) => /web healthy/.test(s)), steps.join(' | '));
    assert.match(await httpGet(WEB_PORT), /fixture web UI/);
  });

  it('start on a running stack is idempotent (its own ports do not count as conflicts)', async () => {
    await b.start();
    assert.equal((await b.status()).filter((s) => s.state === 'running').length, 3);
  });

  it("another workspace's stack folder sees that this one runs the stack, and Reset there names this one's data too", async () => {
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-other-workspace-'));
    try {
      fs.cpSync(PROJECT_DIR, otherDir, { recursive: true });
      const other = backend({ stackDir: otherDir });
      const owner = await other.runningFrom();
      assert.equal(owner?.stackDir, path.resolve(PROJECT_DIR));
      assert.equal(owner?.backend, 'docker');
      assert.ok((otherStackQuestion(owner, otherDir, 'start') ?? '').includes(`started from ${path.resolve(PROJECT_DIR)}, not from this workspace's ${otherDir}`));
      assert.equal(otherStackQuestion(await b.runningFrom(), PROJECT_DIR, 'start'), undefined, 'its own stack: no question');
      assert.match(sharedDataLine(STATE_DIR, 'docker', otherDir) ?? '', /^the data of every stack run on this machine, which is shared: also the stack of /);
      assert.ok(sharedDataLine(STATE_DIR, 'docker', otherDir)!.includes(path.resolve(PROJECT_DIR)));
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('stops the stack: no container left, the port is free', async () => {
    await b.stop();
    const status = await b.status();
    assert.ok(status.every((s) => s.state === 'stopped'), JSON.stringify(status));
    assert.equal(await b.runningFrom(), undefined, 'nothing runs: no owner');
    await assert.rejects(httpGet(WEB_PORT));
  });

  it('cancelling Start Stack stops what was started and says so', async () => {
    const ac = new AbortController();
    const err = await b
      .start({
        signal: ac.signal,
        onProgress: (p) => {
          if (/^Starting \d+ services/.test(p.step)) ac.abort();
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof StackError, String(err));
    assert.match(err.message, /cancelled/);
    const left = await b.status();
    assert.ok(left.every((s) => s.state !== 'running' && s.state !== 'starting'), JSON.stringify(left));
    await b.stop();
  });

  it('Reset Data removes the containers and the named volumes', async () => {
    await b.start();
    const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
    const volumes = async () => ((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name).filter((n) => n.startsWith(`${PROJECT}_`));
    assert.deepEqual(await volumes(), [`${PROJECT}_data`]);
    await b.reset();
    assert.deepEqual(await volumes(), []);
    assert.ok((await b.status()).every((s) => s.state === 'stopped'));
  });

  it('refuses to start when a port is taken, naming the port, the owner and the setting to change', async () => {
    const srv = net.createServer().listen(WEB_PORT, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const err = await b.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof StackError, String(err));
      assert.match(err.message, new RegExp(`Port ${WEB_PORT} is in use by pid ${process.pid} \\(`));
      assert.equal(err.service, 'web');
      assert.match(err.nextStep ?? '', /WEB_PORT/);
      assert.equal((await b.status()).filter((s) => s.state !== 'stopped').length, 0, 'containers were started anyway');
    } finally {
      srv.close();
    }
  });

  it('a service failing its health check: names it, shows its last log lines, and stops what was started', async () => {
    const { faulty, err } = await failedStart('docker-compose.faulty.yaml');
    assert.equal(err.service, 'sick');
    assert.match(err.message, /sick is unhealthy \(health check: database not reachable\)/);
    assert.ok(err.logTail.includes('sick: cannot reach its database'), err.logTail.join('\n'));
    const left = await faulty.status();
    assert.ok(left.every((s) => s.state !== 'running' && s.state !== 'starting'), `left running: ${JSON.stringify(left)}`);
    await faulty.stop();
  });

  it('a dependency that never gets healthy makes compose up fail: the unhealthy service is named, not its dependent', async () => {
    const { faulty, err } = await failedStart('docker-compose.dependent.yaml');
    assert.equal(err.service, 'sick', err.message);
    assert.match(err.message, /sick is unhealthy/);
    assert.ok(err.logTail.includes('sick: cannot reach its database'), err.logTail.join('\n'));
    // the dependent was created but never started: it is removed, not shown as waiting forever
    const left = await faulty.status();
    assert.ok(left.every((s) => s.state !== 'running' && s.state !== 'starting'), `left running: ${JSON.stringify(left)}`);
    assert.equal(left.find((s) => s.id === 'needs-sick')?.detail, 'not created');
    await faulty.stop();
  });

  it('a service still not healthy when Start Stack gives up: names it, and stops what was started', async () => {
    const t0 = Date.now();
    const { faulty, err } = await failedStart('docker-compose.slow.yaml', 4000);
    assert.equal(err.service, 'slow');
    assert.match(err.message, /slow did not become healthy within 4 s/);
    assert.deepEqual(err.logTail, ['slow: warming up forever']);
    assert.ok(Date.now() - t0 < 60_000);
    assert.ok((await faulty.status()).every((s) => s.state !== 'running'));
    await faulty.stop();
  });

  it('a service that exits: names it with its exit code and last log lines', async () => {
    const { faulty, err } = await failedStart('docker-compose.quitter.yaml');
    assert.equal(err.service, 'quitter', err.message);
    assert.match(err.message, /quitter exited with code 3/);
    assert.deepEqual(err.logTail, ['quitter: bad config']);
    assert.ok((await faulty.status()).every((s) => s.state !== 'running'));
    await faulty.stop();
  });

  it('an image that cannot be pulled: named with the service that needs it; what runs without it starts, and the view says why the other is left out', async () => {
    const partial = new DockerBackend({ stackDir: PROJECT_DIR, composeFile: 'docker-compose.unpullable.yaml', projectName: FAULTY, healthTimeoutMs: 60_000, pullTimeoutMs: 20_000 });
    const steps: Array<{ step: string; notice?: boolean }> = [];
    try {
      await partial.start({ onProgress: (p) => steps.push(p) });
      assert.ok(steps.some((p) => p.step === 'Pulling datapipeline-fixture/never-built-and-not-in-any-registry:0.0.1 (image 1 of 1)'), JSON.stringify(steps));
      const note = steps.find((p) => p.notice);
      assert.equal(note?.step, 'unpullable: image datapipeline-fixture/never-built-and-not-in-any-registry:0.0.1 cannot be pulled; the rest of the stack runs');
      const status = await partial.status();
      assert.deepEqual(status.map((s) => [s.id, s.state]).sort(), [['ok', 'running'], ['unpullable', 'stopped']]);
      assert.equal(status.find((s) => s.id === 'unpullable')?.detail, 'image datapipeline-fixture/never-built-and-not-in-any-registry:0.0.1 cannot be pulled; the rest of the stack runs');
    } finally {
      await partial.stop();
    }
  });

  it('no service can run without the images that cannot be pulled: one clear message naming each image and its services, with the next step; nothing started', async () => {
    const { faulty, err } = await failedStart('docker-compose.unpullable-only.yaml');
    assert.equal(err.message, 'An image of docker-compose.unpullable-only.yaml cannot be pulled: datapipeline-fixture/never-built-and-not-in-any-registry:0.0.2 (app). Without it none of its services can run; nothing was started.');
    assert.match(err.nextStep ?? '', /registry.*docker load.*datapipeline\.project\.stack: bundled/);
    const left = await faulty.status();
    assert.ok(left.every((s) => s.state !== 'running'), JSON.stringify(left));
    await faulty.stop();
  });

  it('accepts docker-compose v1 with a warning and drives the same kind of project', async () => {
    const warnings: string[] = [];
    const v1 = backend({ composeCommand: ['docker-compose'], projectName: `${PROJECT}v1`, env: { ...process.env, WEB_PORT: '18082' }, onWarning: (w) => warnings.push(w) });
    try {
      await v1.start();
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /docker-compose 1\.\d+\.\d+ \(Compose v1, no longer maintained\)/);
      assert.equal((await v1.status()).find((s) => s.id === 'web')?.health, 'healthy');
      assert.match(await httpGet(18082), /fixture web UI/);
    } finally {
      await v1.stop();
      await removeProject(`${PROJECT}v1`);
    }
  });

  it('Docker not installed (no docker on PATH, no daemon): says so and offers the native backend', async () => {
    const none = backend({ env: { PATH: '/nonexistent', DOCKER_HOST: `unix://${path.join(os.tmpdir(), 'no-docker-here.sock')}` } });
    const err = await none.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof StackError, String(err));
    assert.match(err.message, /Docker is not installed/);
    assert.match(err.nextStep ?? '', /native/);
  });

  it('no permission on the Docker socket: says so and how to get it', async () => {
    let result: { ok: boolean; message?: string; nextStep?: string };
    if (process.getuid?.() === 0) {
      // root may use any socket: ask as an unprivileged user, against the real daemon's socket
      const r = spawnSync(path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx'), [path.join(__dirname, 'fixture', 'ping.ts')], {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: os.tmpdir(), DOCKER_HOST: 'unix:///var/run/docker.sock' },
      });
      assert.equal(r.status, 0, r.stderr);
      result = JSON.parse(r.stdout.trim().split('\n').pop()!) as typeof result;
    } else {
      const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dp-sock-')), 'docker.sock');
      const srv = net.createServer().listen(sock);
      await new Promise((r) => srv.once('listening', r));
      fs.chmodSync(sock, 0);
      try {
        await backend({ env: { ...process.env, DOCKER_HOST: `unix://${sock}` } }).ping();
        result = { ok: true };
      } catch (err) {
        result = { ok: false, message: (err as Error).message, nextStep: (err as StackError).nextStep };
      } finally {
        srv.close();
      }
    }
    assert.equal(result.ok, false);
    assert.match(result.message ?? '', /Permission denied on the Docker socket unix:\/\/.*docker\.sock/);
    assert.match(result.nextStep ?? '', /docker" group/);
  });

  it('auto backend selection: docker when CLI, daemon and compose answer; the reason when not', async () => {
    const up = await probeDocker(['docker', 'compose']);
    assert.equal(up.ok, true, up.reason);
    assert.match(up.reason, /docker answers and .*compose.* \d+\.\d+\.\d+ is installed/);
    const down = await probeDocker(['docker', 'compose'], { ...process.env, DOCKER_HOST: `unix://${path.join(os.tmpdir(), 'no-docker-here.sock')}` });
    assert.equal(down.ok, false);
    assert.match(down.reason, /Docker daemon is not running/);
    const noCli = await probeDocker(['docker', 'compose'], { PATH: '/nonexistent' });
    assert.deepEqual(noCli, { ok: false, reason: 'the docker CLI is not installed' });
  });

  it('daemon down (DOCKER_HOST at a dead socket): says so and what to do', async () => {
    const dead = backend({ env: { ...process.env, DOCKER_HOST: `unix://${path.join(os.tmpdir(), 'no-docker-here.sock')}` } });
    const err = await dead.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof StackError, String(err));
    assert.match(err.message, /Docker daemon is not running/);
    assert.match(err.nextStep ?? '', /Start Docker|native/);
    await assert.rejects(dead.status(), /Docker daemon is not running/);
  });
});
