/**
 * The native stack with Airflow 3 (issue #19): provisioned into its own venv from the pinned
 * constraints (stack/versions/airflow-constraints-<AIRFLOW3_VERSION>.txt), its own home and its own
 * PostgreSQL database, on its own Airflow and PostgreSQL ports beside the shared stack's Kafka and
 * Spark. Its api-server, scheduler, dag-processor and triggerer are services of the stack; the bundled
 * streaming DAG runs unchanged: four tasks succeed and output-topic gets exactly Alice, Charlie and Eve.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { collectRunTrace } from '../../src/services/airflow/runTrace';
import { xcomAndLineageRanges } from './lib/lineageTrace';
import { runDescription } from '../../src/services/airflow/dagsModel';
import { followRun, STREAMING_DAG_ID, STREAMING_TASK_ORDER, triggerStreaming } from '../../src/services/airflow/streamingRun';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { parseDotEnv } from '../../src/services/docker/composeFile';
import { sharedPorts, stackDir } from './harness';
import { exerciseSaveSeen } from './lib/saveSeen';
import { exerciseTaskRuns } from './lib/taskRuns';
import { exerciseDebugTask } from './lib/debugTask';
import { type Airflow3Stack, startAirflow3Stack } from './lib/airflow3Stack';
import { until } from '../lib/until';
import { ADULTS, runOutputPeople } from '../lib/streamingOutput';

const RUN_TIMEOUT_MS = 12 * 60_000;


describe('Airflow 3 as the stack\u2019s Airflow (native): api-server, scheduler, dag-processor, triggerer; the streaming DAG unchanged', function () {
  this.timeout(40 * 60_000);
  let stack: Airflow3Stack;
  let backend: NativeBackend;
  let client: AirflowClient;
  const version = parseDotEnv(fs.readFileSync(path.join(stackDir, '.env'), 'utf8')).AIRFLOW3_VERSION;

  before(async function () {
    this.timeout(25 * 60_000);
    stack = await startAirflow3Stack();
    ({ backend, client } = stack);
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await stack?.stop();
  });

  it('runs Airflow 3\u2019s four processes as services of the stack, each healthy, the API server on the Airflow port', async () => {
    const status = await backend.status();
    assert.deepEqual(
      status.map((s) => [s.id, s.state, s.health]),
      [
        ['lineage', 'running', 'healthy'],
        ['postgres', 'running', 'healthy'],
        ['airflow-api-server', 'running', 'healthy'],
        ['airflow-scheduler', 'running', 'healthy'],
        ['airflow-dag-processor', 'running', 'healthy'],
        ['airflow-triggerer', 'running', 'healthy'],
      ],
    );
    assert.equal(status.find((s) => s.id === 'airflow-api-server')?.ports[0]?.port, sharedPorts().airflow + 20_000);
    assert.equal(await client.apiVersion(), 'v2', 'the client speaks Airflow 3\u2019s /api/v2 with a token');
    const info = (await (await fetch(`${backend.endpoints().airflowUrl}/api/v2/version`, { headers: { authorization: `Bearer ${await tokenFor(backend.endpoints().airflowUrl)}` } })).json()) as { version: string };
    assert.equal(info.version, version, `the pinned AIRFLOW3_VERSION ${version} runs`);
    // its own database: Airflow 3 and 2.8.1 never share one
    const env = fs.readFileSync(path.join(stack.state, 'airflow3', 'simple_auth_manager_passwords.json'), 'utf8');
    assert.deepEqual(JSON.parse(env), { admin: 'admin' });
  });

  it('save → seen: a new DAG file, a task added, a syntax error and its fix each reach the REST API within 3 s (the reparse API for a known file)', async () => {
    await until('the dag-processor to parse the bundled DAGs', async () => (await client.listDags()).length > 0, { timeoutMs: 180_000, intervalMs: 1000, ignoreErrors: true });
    const figures = await exerciseSaveSeen(client, path.join(stackDir, 'dags'), `af3_${process.pid}`);
    console.log(`      save → seen (native, Airflow 3): ${JSON.stringify(figures)}`);
  });

  it('runs one task now (its output streamed, its XCom), a failing task (the traceback at the file and line) and Test DAG (XComs between tasks)', async () => {
    const figures = await exerciseTaskRuns(backend, client, path.join(stackDir, 'dags'), `af3_${process.pid}`);
    console.log(`      run one task (native, Airflow 3): ${JSON.stringify(figures)}`);
  });

  it('Debug Task: a breakpoint in the DAG file stops (locals, call stack, a step), Continue lets the task succeed; ending the session stops the task', async () => {
    const figures = await exerciseDebugTask(backend, client, path.join(stackDir, 'dags'), `af3_${process.pid}`);
    console.log(`      debug task (native, Airflow 3): ${JSON.stringify(figures)}`);
  });

  it('a name of Airflow 2 is refused with the services this Airflow has', async () => {
    await assert.rejects(backend.restart('airflow-webserver'), (e: Error & { opts?: { nextStep?: string } }) => {
      assert.match(e.message, /not part of this stack: it runs Airflow 3 \(airflow-api-server, airflow-scheduler, airflow-dag-processor, airflow-triggerer\)/);
      return true;
    });
  });

  it('runs the bundled kafka_spark_pipeline unchanged: four tasks succeed, output-topic gets exactly Alice, Charlie and Eve', async () => {
    await until('the dag-processor to parse the bundled DAGs', async () => (await client.listDags()).some((d) => d.dagId === STREAMING_DAG_ID), { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
    const triggered = await triggerStreaming(client, STREAMING_DAG_ID, { source: 'airflow3-integration' });
    const end = await followRun(client, STREAMING_DAG_ID, triggered.runId, { pollMs: 2000, stuckAfterMs: RUN_TIMEOUT_MS });
    if (end.run.state !== 'success') {
      const failed = end.tasks.filter((t) => t.state !== 'success' && t.tryNumber > 0);
      const logs = await Promise.all(failed.map((t) => client.getTaskLog(t, t.tryNumber).then((l) => `--- ${t.taskId}\n${l.text.slice(-4000)}`)));
      assert.fail(`run ${triggered.runId} ended ${end.run.state}; tasks: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n')}`);
    }
    assert.deepEqual(end.tasks.map((t) => [t.taskId, t.state]), STREAMING_TASK_ORDER.map((t) => [t, 'success']));
    assert.deepEqual(end.run.conf, { source: 'airflow3-integration' });
    // triggered "now": Airflow 3 gives it no logical date, and the DAGs view says so; it ran DAG version 1
    assert.equal(end.run.logicalDate, undefined);
    assert.match(runDescription(end.run), /^success · \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? \(no logical date\) · .* · v1$/);

    const { people, data } = await runOutputPeople(client, stack.shared.endpoints.kafkaBootstrap, STREAMING_DAG_ID, triggered.runId);
    assert.deepEqual(people, ADULTS, `output of run ${triggered.runId}${data.note ? ` (${data.note})` : ''}`);

    // the task SDK's XCom and the cluster policy work on Airflow 3 too: the run view's trace is whole
    const master = new SparkMasterClient(stack.shared.endpoints.sparkUiUrl);
    const { trace } = await collectRunTrace(client, STREAMING_DAG_ID, triggered.runId, {
      sparkApps: async () => {
        const st = await master.status();
        return [...st.activeApps, ...st.completedApps];
      },
      order: STREAMING_TASK_ORDER,
    });
    assert.equal(trace.spark.length, 1, JSON.stringify(trace.spark));
    assert.equal(trace.spark[0].taskId, 'process_kafka_with_spark');
    const range = (topic: string, role: string, task: string) => trace.kafka.find((r) => r.topic === topic && r.role === role && r.taskId === task)?.count;
    assert.equal(range('input-topic', 'write', 'produce_sample_data'), 5);
    assert.equal(range('output-topic', 'write', 'process_kafka_with_spark'), 3);
    assert.equal(range('output-topic', 'read', 'consume_output_topic'), 3);
    // and from OpenLineage alone (Airflow 3's provider, the Task SDK running the stack's listener)
    const lineage = await xcomAndLineageRanges(client, STREAMING_DAG_ID, triggered.runId, `http://127.0.0.1:${stack.ports.lineage}`, 3);
    assert.deepEqual(lineage.lineage, lineage.xcom);
    assert.equal(lineage.xcom.length, 4);
  });

  it('runs the bundled hello_spark_cluster unchanged too: its Spark job succeeds and its log holds the job\u2019s output', async () => {
    const run = await triggerStreaming(client, 'hello_spark_cluster', {});
    const end = await followRun(client, 'hello_spark_cluster', run.runId, { pollMs: 2000, stuckAfterMs: RUN_TIMEOUT_MS });
    assert.equal(end.run.state, 'success', JSON.stringify(end.tasks.map((t) => [t.taskId, t.state])));
    const ti = end.tasks[0]!;
    const log = await client.getTaskLog(ti, ti.tryNumber);
    assert.match(log.text, /HELLO WORLD FROM SPARK CLUSTER/, log.text.slice(-2000));
    process.stderr.write(`[airflow 3] memory of its 4 processes and PostgreSQL (PSS): ${Math.round(backend.memoryBytes() / 2 ** 20)} MB\n`);
  });
});

async function tokenFor(url: string): Promise<string> {
  const res = await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }) });
  assert.ok(res.ok, `token: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
