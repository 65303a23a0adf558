/**
 * The OpenLineage receiver, the stack service added through the catalog alone (issue #26): the native
 * stack runs it with Airflow, the Stack view lists it healthy on its port, the endpoints name its URL,
 * and it keeps the events it is sent (refusing malformed ones with the reason) across a restart.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { LineageFeed } from '../../src/services/lineage/openlineage';
import { ensureNativeStack, repoRoot, type NativeStack } from './harness';
import { until } from '../lib/until';

function event(runId: string, name: string, eventType = 'START') {
  return {
    eventType,
    eventTime: new Date().toISOString(),
    producer: 'https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/airflow',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId },
    job: { namespace: 'datapipeline-test', name },
    inputs: [{ namespace: 'kafka://broker:19092', name: 'input-topic' }],
    outputs: [],
  };
}

describe('the OpenLineage receiver (a catalog service) on the native stack', function () {
  this.timeout(15 * 60_000);
  let stack: NativeStack;
  let url: string;

  before(async function () {
    stack = await ensureNativeStack(['airflow']);
    url = (stack.backend.endpoints() as unknown as Record<string, string>).lineageUrl;
  });

  it('is a healthy row of the Stack view on its port, and the endpoints name its URL', async () => {
    const port = stack.backend.ports.lineage;
    assert.equal(url, `http://127.0.0.1:${port}`);
    const row = (await stack.backend.status()).find((s) => s.id === 'lineage');
    assert.ok(row, 'a lineage row');
    assert.equal(row.label, 'OpenLineage receiver');
    assert.equal(row.state, 'running');
    assert.equal(row.health, 'healthy', JSON.stringify(row));
    assert.deepEqual(row.ports.map((p) => [p.name, p.port, p.url]), [['OpenLineage', port, `http://127.0.0.1:${port}`]]);
  });

  it('keeps the events it is sent, in order; refuses malformed ones with the reason; keeps them across a restart', async () => {
    const runId = randomUUID();
    const post = (body: string) => fetch(`${url}/api/v1/lineage`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const before = (await (await fetch(`${url}/health`)).json()) as { events: number };
    const start = await post(JSON.stringify(event(runId, 'my_dag.produce')));
    assert.equal(start.status, 201);
    const after = ((await start.json()) as { seq: number }).seq - 1;
    assert.equal((await post(JSON.stringify(event(runId, 'my_dag.produce', 'COMPLETE')))).status, 201);

    const bad = await post('{"eventType": "START", "run": ');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /not JSON/);
    const noRun = await post(JSON.stringify({ ...event(runId, 'x'), run: { runId: '' } }));
    assert.equal(noRun.status, 400);
    assert.equal(((await noRun.json()) as { error: string }).error, 'run.runId must be a non-empty string');

    const read = async () => ((await (await fetch(`${url}/api/v1/lineage?after=${after}`)).json()) as { events: Array<{ seq: number; event: ReturnType<typeof event> }> }).events;
    const got = await read();
    assert.deepEqual(got.map((e) => [e.event.run.runId, e.event.eventType]), [[runId, 'START'], [runId, 'COMPLETE']]);
    assert.equal(((await (await fetch(`${url}/health`)).json()) as { events: number }).events, before.events + 2, 'the refused ones are not kept');
    // the refusal's reason is in the service's log
    const log = path.join(stack.layout.logsDir, 'lineage.log');
    await until('the refusals logged', () => fs.existsSync(log) && /refused an event from 127\.0\.0\.1: run\.runId must be a non-empty string/.test(fs.readFileSync(log, 'utf8')), 10_000);

    await stack.backend.restart('lineage');
    const row = (await stack.backend.status()).find((s) => s.id === 'lineage');
    assert.equal(row?.health, 'healthy');
    const all = ((await (await fetch(`${url}/api/v1/lineage?limit=10000`)).json()) as { events: Array<{ event: ReturnType<typeof event> }> }).events;
    assert.deepEqual(all.filter((e) => e.event.run.runId === runId).map((e) => e.event.eventType), ['START', 'COMPLETE'], 'kept across the restart');
  });
});

describe('the OpenLineage receiver under a flood: 10,000 events and malformed ones (its own process, a 1 MB budget)', function () {
  this.timeout(5 * 60_000);
  const PORT = 27955;
  const url = `http://127.0.0.1:${PORT}`;
  let proc: ChildProcess;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-receiver-'));
    proc = spawn('python3', [path.join(repoRoot, 'stack', 'lineage', 'receiver.py'), '--port', String(PORT), '--store', dir, '--budget-mb', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    await until('the receiver to answer', async () => (await fetch(`${url}/health`)).ok, { timeoutMs: 20_000, intervalMs: 200, ignoreErrors: true });
  });

  after(() => {
    proc?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

  it('keeps at most its budget (the oldest dropped), its memory flat, the newest events readable in order; malformed ones refused in between', async () => {
    const runId = randomUUID();
    const idle = rssMb();
    const refused: number[] = [];
    // 10,000 events of ~1 KB (10 MB through a 1 MB budget), 20 at a time, a malformed one every 1,000
    for (let i = 0; i < 10_000; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          const n = i + j;
          const body = n % 1000 === 999 ? '{"eventTime": "x", "run": {"runId": 5}' : JSON.stringify({ ...event(runId, `flood.t${n}`), inputs: [{ namespace: 'kafka://broker:19092', name: 'x'.repeat(700) }] });
          const res = await fetch(`${url}/api/v1/lineage`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
          if (res.status !== 201) refused.push(res.status);
          await res.arrayBuffer();
        }),
      );
    }
    assert.deepEqual(refused, Array(10).fill(400), 'the 10 malformed ones, and only those, refused');
    const h = (await (await fetch(`${url}/health`)).json()) as { events: number; bytes: number; budget: number; dropped: number };
    assert.equal(h.budget, 1024 * 1024);
    assert.ok(h.bytes <= h.budget, `${h.bytes} bytes kept`);
    assert.equal(h.events + h.dropped, 9990, JSON.stringify(h));
    assert.ok(h.events > 500 && h.events < 2000, `about 1 MB of ~1 KB events kept: ${h.events}`);
    const grew = rssMb() - idle;
    process.stderr.write(`[receiver] 10,000 events: ${h.events} kept (${(h.bytes / 1024).toFixed(0)} KB), ${h.dropped} dropped; RSS ${idle.toFixed(1)} -> ${rssMb().toFixed(1)} MB\n`);
    assert.ok(grew < 30, `RSS grew ${grew.toFixed(1)} MB`);
    // what is kept is the newest, in order, and a feed reads all of it
    const events = await new LineageFeed(url, { pageSize: 400 }).read();
    assert.equal(events.length, h.events);
    const names = events.map((e) => Number(e.job.name.slice('flood.t'.length)));
    assert.equal(Math.max(...names), 9998, 'the last well-formed event is kept');
    // the newest are kept (20 were sent at a time, so arrival order within a batch is the network's)
    assert.ok(Math.min(...names) >= 10_000 - h.events - 40, `the oldest kept is ${Math.min(...names)}`);
    assert.equal(new Set(names).size, names.length, 'each once');
    // the store on disk stays within twice the budget (rewritten from memory when it grows past)
    assert.ok(fs.statSync(path.join(dir, 'events.jsonl')).size <= 2 * h.budget + 8192, `${fs.statSync(path.join(dir, 'events.jsonl')).size} bytes on disk`);
  });
});

describe('the OpenLineage receiver forwards every event to another OpenLineage endpoint (setting datapipeline.lineage.forwardUrl)', function () {
  this.timeout(2 * 60_000);
  const procs: ChildProcess[] = [];
  const dirs: string[] = [];
  const start = async (port: number, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-receiver-'));
    dirs.push(dir);
    const p = spawn('python3', [path.join(repoRoot, 'stack', 'lineage', 'receiver.py'), '--port', String(port), '--store', dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    procs.push(p);
    await until(`a receiver on ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, { timeoutMs: 20_000, intervalMs: 200, ignoreErrors: true });
    return p;
  };
  after(() => {
    for (const p of procs) p.kill();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('in order, to a URL with no path at /api/v1/lineage; a target that is down costs the sender nothing and is counted', async () => {
    // the target: another receiver (an OpenLineage endpoint like Marquez's); the forwarder named by the environment, as the extension sets it
    const target = await start(27961, []);
    await start(27962, [], { ...process.env, DATAPIPELINE_LINEAGE_FORWARD: 'http://127.0.0.1:27961' });
    const runId = randomUUID();
    for (let i = 0; i < 50; i++) {
      const res = await fetch('http://127.0.0.1:27962/api/v1/lineage', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event(runId, `fwd.t${i}`)) });
      assert.equal(res.status, 201);
    }
    const got = await until('the 50 events at the target', async () => {
      const events = await new LineageFeed('http://127.0.0.1:27961').read();
      return events.length === 50 ? events : undefined;
    }, { timeoutMs: 30_000, intervalMs: 300 });
    assert.deepEqual(got.map((e) => e.job.name), Array.from({ length: 50 }, (_, i) => `fwd.t${i}`), 'in the order they came');
    const h = (await (await fetch('http://127.0.0.1:27962/health')).json()) as { forward: { url: string; sent: number; failed: number } };
    assert.deepEqual([h.forward.url, h.forward.sent, h.forward.failed], ['http://127.0.0.1:27961/api/v1/lineage', 50, 0]);

    // the target goes away: events are still taken at once, the failure is counted and logged
    target.kill();
    const t0 = Date.now();
    assert.equal((await fetch('http://127.0.0.1:27962/api/v1/lineage', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event(runId, 'fwd.lost')) })).status, 201);
    assert.ok(Date.now() - t0 < 1000, 'accepted without waiting on the target');
    await until('the failure counted', async () => ((await (await fetch('http://127.0.0.1:27962/health')).json()) as { forward: { failed: number } }).forward.failed === 1, { timeoutMs: 30_000, intervalMs: 500 });
  });
});
