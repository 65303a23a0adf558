import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBackendFactory } from '../../src/services/stack/select';
import { addStackToWorkspace, prepareStackDir, StackExistsError } from '../../src/services/stack/stackFiles';
import { StackStatusModel, summarize } from '../../src/services/stack/statusModel';
import type { ServiceStatus, StackBackend } from '../../src/services/stack/types';
import { until } from '../lib/until';
import { ManualClock } from '../lib/manualClock';

const status = (id: string, over: Partial<ServiceStatus> = {}): ServiceStatus => ({ id, label: id, state: 'running', health: 'healthy', ports: [], ...over });

const made: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-stack-'));
  made.push(dir);
  return dir;
}


/** The stand-in backends' addresses (the status model reads them with every status). */
const ENDPOINTS = { kafkaBootstrap: '127.0.0.1:9092', sparkMasterUrl: 'spark://127.0.0.1:7077', sparkUiUrl: 'http://127.0.0.1:8080', airflowUrl: 'http://127.0.0.1:8085' };
describe('stack: backend selection, stack files, status summary', () => {
  after(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('auto picks docker when it answers, native otherwise, and logs why', async () => {
    const logged: string[] = [];
    const log = { trace() {}, debug() {}, warn() {}, error() {}, info: (m: string) => logged.push(m) };
    const native = { kind: 'native' } as StackBackend;
    const deps = { dockerStackDir: () => path.join(__dirname, '..', '..', 'stack'), composeCommand: () => ['docker', 'compose'], createNative: async () => native, log };
    const noDocker = createBackendFactory({ ...deps, probe: async () => ({ ok: false, reason: 'The Docker daemon is not running (nothing answers at unix:///x).' }) });
    assert.equal((await noDocker('auto')).kind, 'native');
    assert.match(logged.pop()!, /auto → native: The Docker daemon is not running/);
    const withDocker = createBackendFactory({ ...deps, probe: async () => ({ ok: true, reason: 'docker answers' }) });
    assert.equal((await withDocker('auto')).kind, 'docker');
    assert.match(logged.pop()!, /auto → docker/);
    assert.equal((await noDocker('docker')).kind, 'docker', 'an explicit setting is not second-guessed');
    assert.equal((await withDocker('native')).kind, 'native');
  });

  it('runs the bundled stack from a writable copy, refreshed when the extension version changes', () => {
    const bundled = tmp();
    fs.mkdirSync(path.join(bundled, 'dags'));
    fs.writeFileSync(path.join(bundled, 'docker-compose.yaml'), 'services: {}\n');
    fs.writeFileSync(path.join(bundled, 'dags', 'a.py'), 'v1');
    const writable = path.join(tmp(), 'stack');
    assert.equal(prepareStackDir(bundled, bundled, writable, '1.0.0'), writable);
    assert.equal(fs.readFileSync(path.join(writable, 'dags', 'a.py'), 'utf8'), 'v1');
    fs.writeFileSync(path.join(bundled, 'dags', 'a.py'), 'v2');
    prepareStackDir(bundled, bundled, writable, '1.0.0');
    assert.equal(fs.readFileSync(path.join(writable, 'dags', 'a.py'), 'utf8'), 'v1', 'copied again without a version change');
    prepareStackDir(bundled, bundled, writable, '1.0.1');
    assert.equal(fs.readFileSync(path.join(writable, 'dags', 'a.py'), 'utf8'), 'v2');
    const workspaceStack = tmp();
    assert.equal(prepareStackDir(workspaceStack, bundled, writable, '1.0.1'), workspaceStack, 'a workspace stack is used in place');
  });

  it('adds the stack to a workspace folder, never over an existing stack/', () => {
    const bundled = tmp();
    fs.writeFileSync(path.join(bundled, 'docker-compose.yaml'), 'services: {}\n');
    fs.writeFileSync(path.join(bundled, '.env'), 'KAFKA_PORT=9092\n');
    const ws = tmp();
    const target = addStackToWorkspace(bundled, ws);
    assert.equal(target, path.join(ws, 'stack'));
    assert.equal(fs.readFileSync(path.join(target, '.env'), 'utf8'), 'KAFKA_PORT=9092\n');
    assert.throws(() => addStackToWorkspace(bundled, ws), StackExistsError);
  });

  it('summarises the stack for the status bar: 8/8 running, degraded, stopped', () => {
    const all = ['postgres', 'kafka', 'kafka-ui', 'spark-master', 'spark-worker', 'airflow-webserver', 'airflow-scheduler'].map((id) => status(id));
    const init = status('airflow-init', { state: 'exited', exitCode: 0, detail: 'completed', health: 'none' });
    assert.deepEqual(summarize([...all, init]), { ok: 8, total: 8, degraded: false, running: true, text: '8/8 running' });
    const sick = [...all.slice(1), status('postgres', { health: 'unhealthy' }), init];
    assert.equal(summarize(sick).text, '7/8 running');
    assert.equal(summarize(sick).degraded, true);
    assert.equal(summarize([status('kafka', { health: 'none' })]).text, '1/1 running');
    assert.equal(summarize(all.map((s) => ({ ...s, state: 'stopped' as const, health: 'none' as const }))).text, 'stopped');
    assert.equal(summarize([status('x', { state: 'exited', exitCode: 1, detail: 'exited with code 1' }), status('y')]).degraded, true);
  });

  it('status model: a burst of change events becomes one read, and listeners hear only real changes', async () => {
    let reads = 0;
    let current = [status('kafka')];
    const listeners = new Set<() => void>();
    const backend = {
      kind: 'docker',
      status: async () => {
        reads++;
        await new Promise((r) => setImmediate(r)); // a read takes a turn of the event loop, as a real one does
        return current;
      },
      onDidChange: (l: () => void) => {
        listeners.add(l);
        return { dispose: () => listeners.delete(l) };
      },
      endpoints: () => ENDPOINTS,
    } as unknown as StackBackend;
    const clock = new ManualClock();
    const model = new StackStatusModel(backend, { debounceMs: 20, clock });
    let fired = 0;
    model.onDidChange(() => fired++);
    await model.refresh();
    assert.equal(fired, 1);
    current = [status('kafka', { state: 'exited', exitCode: 1 })];
    for (let i = 0; i < 10; i++) {
      for (const l of listeners) l();
      await clock.advance(5); // within the debounce of the one before
    }
    assert.equal(reads, 1, 'read before the burst ended');
    await clock.advance(20);
    await until('the read after the burst', () => fired === 2, 2000);
    assert.equal(reads, 2, 'ten events in a burst caused more than one read');
    assert.equal(fired, 2);
    assert.equal(model.services[0].state, 'exited');
    await model.refresh();
    assert.equal(fired, 2, 'an unchanged read fired a change');
    model.dispose();
    assert.equal(listeners.size, 0, 'the backend subscription was not disposed');
  });
});

describe('stack status model: nothing goes stale, nothing freezes', () => {
  const fake = (statuses: () => ServiceStatus[] | Promise<ServiceStatus[]>) => {
    let reads = 0;
    const backend = {
      kind: 'native',
      status: async () => {
        reads++;
        return statuses();
      },
      onDidChange: () => ({ dispose: () => undefined }),
      endpoints: () => ENDPOINTS,
    } as unknown as StackBackend;
    return { backend, reads: () => reads };
  };

  it('a service left starting (changed by another window) is read again until it settles, with no event', async () => {
    let state: ServiceStatus = status('spark-worker', { state: 'running', health: 'starting' });
    const f = fake(() => [state]);
    const clock = new ManualClock();
    const model = new StackStatusModel(f.backend, { settleMs: 2000, clock });
    try {
      await model.refresh();
      // still starting: read again in 2 s, with no event
      assert.equal(clock.nextAt! - clock.now(), 2000);
      await clock.advance(2000);
      assert.equal(f.reads(), 2);
      state = status('spark-worker', { state: 'running', health: 'healthy' });
      await clock.advance(2000);
      await until('the settled health to be read with no event', () => model.services[0]?.health === 'healthy', 2000);
      const reads = f.reads();
      assert.equal(clock.pending, 0, 'once settled, nothing scheduled');
      await clock.advance(10 * 60_000);
      assert.equal(f.reads(), reads, 'once settled, no more reads without an event');
    } finally {
      model.dispose();
    }
  });

  it('a status read that never answers fails after the timeout instead of holding every later read', async () => {
    let hang = true;
    const f = fake(() => (hang ? new Promise<ServiceStatus[]>(() => undefined) : [status('kafka')]));
    const clock = new ManualClock();
    const model = new StackStatusModel(f.backend, { statusTimeoutMs: 20_000, clock });
    try {
      const read = model.refresh();
      const failed = assert.rejects(read, /The native stack did not answer a status read within 20 s/);
      await clock.advance(20_000);
      await failed;
      hang = false;
      assert.deepEqual((await model.refresh()).map((s) => s.id), ['kafka'], 'the next read goes through');
    } finally {
      model.dispose();
    }
  });
});

describe('stack owner: one stack per machine, and who started it', () => {
  const owner = require('../../src/services/stack/owner') as typeof import('../../src/services/stack/owner');

  it('the extension\'s copies of the bundled stack are one stack; two workspaces are two; each start is recorded', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-owner-'));
    try {
      const state = path.join(dir, 'state');
      const copy = path.join(dir, 'global-storage', 'stack');
      fs.mkdirSync(copy, { recursive: true });
      fs.writeFileSync(path.join(copy, '.datapipeline-bundled-version'), '0.1.0\n');
      const repoStack = path.resolve(__dirname, '../../stack');
      const a = path.join(dir, 'project a', 'stack');
      const b = path.join(dir, 'projekt-ä', 'stack');
      for (const d of [a, b]) fs.mkdirSync(d, { recursive: true });
      assert.ok(owner.sameStack(copy, repoStack), 'the writable copy and the bundled files');
      assert.ok(!owner.sameStack(a, b));
      assert.equal(owner.describeStackDir(copy), 'the bundled stack');
      owner.recordStackStart(state, a, 'docker');
      owner.recordStackStart(state, b, 'docker');
      owner.recordStackStart(state, a, 'docker');
      assert.equal(owner.lastStackOwner(state)?.stackDir, a);
      assert.deepEqual(owner.stacksUsed(state, 'docker'), [a, b]);
      assert.deepEqual(owner.stacksUsed(state, 'native'), []);
      assert.equal(owner.otherStackQuestion(owner.lastStackOwner(state), a, 'start'), undefined);
      assert.match(owner.otherStackQuestion(owner.lastStackOwner(state), b, 'stop') ?? '', /started from .*project a\/stack, not from this workspace's .*projekt-ä\/stack\. Stopping it stops it for that workspace too\./);
      assert.match(owner.sharedDataLine(state, 'docker', b) ?? '', /also the stack of .*project a\/stack$/);
      assert.equal((fs.statSync(path.join(state, 'stack-owner.json')).mode & 0o777), 0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
