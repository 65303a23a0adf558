/**
 * The OpenLineage receiver, the stack service added through the catalog alone (issue #26): the native
 * stack runs it with Airflow, the Stack view lists it healthy on its port, the endpoints name its URL,
 * and it keeps the events it is sent (refusing malformed ones with the reason) across a restart.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ensureNativeStack, type NativeStack } from './harness';
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
