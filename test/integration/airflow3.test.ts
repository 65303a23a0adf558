/**
 * The Airflow client against a real Apache Airflow 3.x (the newest from PyPI, installed by
 * scripts/setup/airflow3.sh), started here on 127.0.0.1:28185 with its own AIRFLOW_HOME: the /api/v2
 * token flow, listing, pause, trigger with config (logical_date null), runs, task instances, logs and
 * import errors from a deliberately broken DAG file.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { AirflowError } from '../../src/services/airflow/errors';
import { failingTask, followRun } from '../../src/services/airflow/streamingRun';
import { Airflow3, startAirflow3 } from './lib/airflow3';
import { exerciseAirflowObjects } from './lib/airflowObjects';
import { until } from '../lib/until';

const PORT = 28185;

const HELLO_DAG = `
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

def say(**context):
    run = context["dag_run"]
    print("DATAPIPELINE hello from", run.run_id, "with conf", dict(run.conf or {}))

def check(**context):
    print("DATAPIPELINE second task")

with DAG(dag_id="dp_hello", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["datapipeline", "test"]):
    PythonOperator(task_id="say_hello", python_callable=say) >> PythonOperator(task_id="say_more", python_callable=check)
`;

const FAILING_DAG = `
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

def ok():
    print("DATAPIPELINE fine")

def boom():
    raise RuntimeError("DATAPIPELINE task failed on purpose")

with DAG(dag_id="dp_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, default_args={"retries": 0}):
    PythonOperator(task_id="fine", python_callable=ok) >> PythonOperator(task_id="boom", python_callable=boom) >> PythonOperator(task_id="after", python_callable=ok)
`;

const BROKEN_DAG = 'from airflow.sdk import DAG\n\nraise RuntimeError("deliberately broken for the DataPipeline test")\n';

describe('Airflow 3.x (throwaway, /api/v2)', function () {
  this.timeout(15 * 60_000);
  let af: Airflow3;
  let client: AirflowClient;

  before(async () => {
    af = await startAirflow3({ port: PORT, dags: { 'dp_hello.py': HELLO_DAG, 'dp_fails.py': FAILING_DAG, 'dp_broken.py': BROKEN_DAG } });
    client = new AirflowClient({ baseUrl: af.url, username: 'admin', password: 'admin' });
  });

  after(async () => {
    await af?.stop();
  });

  it('detects the 3.x API and lists the DAG with its tags', async () => {
    assert.equal(await client.apiVersion(), 'v2');
    const dag = await until('dp_hello to be parsed', async () => (await client.listDags()).find((d) => d.dagId === 'dp_hello'), { timeoutMs: 180_000, intervalMs: 2000 });
    assert.deepEqual([...dag.tags].sort(), ['datapipeline', 'test']);
    assert.equal(dag.isPaused, true);
    assert.equal(dag.fileloc, path.join(af.dagsDir, 'dp_hello.py'));
  });

  it('reports the broken DAG file as an import error', async () => {
    const err = await until('the import error', async () => (await client.listImportErrors()).find((e) => e.filename.endsWith('dp_broken.py')), { timeoutMs: 180_000, intervalMs: 2000 });
    assert.match(err.stackTrace, /deliberately broken for the DataPipeline test/);
    assert.ok(fs.existsSync(path.join(af.dagsDir, 'dp_broken.py')));
  });

  it('connections (from a URI; an edit keeps the password), variables and pools: created, listed with secrets masked, changed and deleted', async () => {
    await exerciseAirflowObjects(client, (args) => af.cli(args), 'v3');
  });

  it('rejects a wrong password with an unauthorized error', async () => {
    const wrong = new AirflowClient({ baseUrl: af.url, username: 'admin', password: 'wrong' });
    await assert.rejects(wrong.listDags(), (e: unknown) => e instanceof AirflowError && e.kind === 'unauthorized');
  });

  it('a connection with a bearer token sends it as is (no login); a wrong token is named as the token, with the connection', async () => {
    // the token a user would copy from their identity provider or the API server's /auth/token
    const res = await fetch(`${af.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }) });
    const token = ((await res.json()) as { access_token: string }).access_token;
    const withToken = new AirflowClient({ baseUrl: af.url, username: '', password: '', bearerToken: token, connectionName: 'Team Airflow 3' });
    assert.ok((await withToken.listDags()).some((d) => d.dagId === 'dp_hello'));
    const wrong = new AirflowClient({ baseUrl: af.url, username: '', password: '', bearerToken: 'not-a-token', connectionName: 'Team Airflow 3' });
    await assert.rejects(wrong.listDags(), (e: unknown) => e instanceof AirflowError && e.kind === 'unauthorized' && /^Airflow connection "Team Airflow 3" \(http:\/\/127\.0\.0\.1:\d+\) rejected the API token \(401\)/.test(e.message));
  });

  it('unpauses, triggers with config twice, follows the runs and reads task logs', async () => {
    assert.equal((await client.setPaused('dp_hello', false)).isPaused, false);
    const first = await client.triggerDagRun('dp_hello', { conf: { greeting: 'from-datapipeline' } });
    const second = await client.triggerDagRun('dp_hello', { conf: {} });
    assert.notEqual(first.runId, second.runId, 'two manual runs with logical_date null');
    const end = await followRun(client, 'dp_hello', first.runId, { pollMs: 2000, stuckAfterMs: 600_000 });
    assert.equal(end.run.state, 'success', JSON.stringify(end.tasks.map((t) => [t.taskId, t.state])));
    assert.deepEqual(end.run.conf, { greeting: 'from-datapipeline' });
    assert.deepEqual(end.tasks.map((t) => [t.taskId, t.state]).sort(), [['say_hello', 'success'], ['say_more', 'success']]);
    const ti = end.tasks.find((t) => t.taskId === 'say_hello')!;
    assert.ok(ti.tryNumber >= 1);
    const log = await client.getTaskLog(ti, ti.tryNumber);
    assert.match(log.text, /DATAPIPELINE hello from .*from-datapipeline/);
    const runs = await client.listDagRuns('dp_hello');
    assert.deepEqual(new Set(runs.map((r) => r.runId)), new Set([first.runId, second.runId]));
    assert.equal((await client.setPaused('dp_hello', true)).isPaused, true);
  });

  it('a failed run names the failing task and its log holds the exception', async () => {
    await until('dp_fails to be parsed', async () => (await client.listDags()).find((d) => d.dagId === 'dp_fails'), { timeoutMs: 180_000, intervalMs: 2000 });
    await client.setPaused('dp_fails', false);
    const run = await client.triggerDagRun('dp_fails');
    const end = await followRun(client, 'dp_fails', run.runId, { pollMs: 2000, stuckAfterMs: 600_000 });
    assert.equal(end.run.state, 'failed');
    const failed = failingTask(end.tasks);
    assert.equal(failed?.taskId, 'boom');
    assert.equal(end.tasks.find((t) => t.taskId === 'after')?.state, 'upstream_failed');
    const log = await client.getTaskLog(failed!, failed!.tryNumber);
    assert.match(log.text, /DATAPIPELINE task failed on purpose/);
    await client.setPaused('dp_fails', true);
  });

  it('says a run is stuck in queued when the scheduler is down instead of waiting forever', async () => {
    await af.stopComponent('scheduler');
    assert.equal((await client.setPaused('dp_hello', false)).isPaused, false);
    const run = await client.triggerDagRun('dp_hello');
    const t0 = Date.now();
    await assert.rejects(
      followRun(client, 'dp_hello', run.runId, { pollMs: 2000, stuckAfterMs: 5000 }),
      (e: unknown) => e instanceof AirflowError && e.kind === 'stuckQueued' && /queued for \d+s and the Airflow scheduler is not running/.test(e.message) && /Start the stack/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 180_000, 'reported within the scheduler health threshold, not after a long wait');
    assert.equal((await client.getDagRun('dp_hello', run.runId)).state, 'queued');
  });
});
