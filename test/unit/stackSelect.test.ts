import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBackendFactory } from '../../src/services/stack/select';
import { addStackToWorkspace, prepareStackDir, StackExistsError } from '../../src/services/stack/stackFiles';
import { StackStatusModel, summarize } from '../../src/services/stack/statusModel';
import type { ServiceStatus, StackBackend } from '../../src/services/stack/types';

const status = (id: string, over: Partial<ServiceStatus> = {}): ServiceStatus => ({ id, label: id, state: 'running', health: 'healthy', ports: [], ...over });

const made: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-stack-'));
  made.push(dir);
  return dir;
}

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
        await new Promise((r) => setTimeout(r, 5));
        return current;
      },
      onDidChange: (l: () => void) => {
        listeners.add(l);
        return { dispose: () => listeners.delete(l) };
      },
    } as unknown as StackBackend;
    const model = new StackStatusModel(backend, { debounceMs: 20 });
    let fired = 0;
    model.onDidChange(() => fired++);
    await model.refresh();
    assert.equal(fired, 1);
    current = [status('kafka', { state: 'exited', exitCode: 1 })];
    for (let i = 0; i < 10; i++) for (const l of listeners) l();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reads, 2, 'ten events in a burst caused more than one read');
    assert.equal(fired, 2);
    assert.equal(model.services[0].state, 'exited');
    await model.refresh();
    assert.equal(fired, 2, 'an unchanged read fired a change');
    model.dispose();
    assert.equal(listeners.size, 0, 'the backend subscription was not disposed');
  });
});
