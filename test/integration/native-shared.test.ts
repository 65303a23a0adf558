/**
 * The shared default-port native stack (started once per run by the harness): every service
 * healthy, the stack's DAGs import in the native Airflow, and hello_spark.py runs on the native master.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { postgresHealth } from '../../src/services/stack/native/health';
import { StackStatusModel } from '../../src/services/stack/statusModel';
import { ensureNativeStack, NativeStack, sharedBackend, sharedPorts, stackDir } from './harness';
import { until } from '../lib/until';
import { watchEventLoop } from '../lib/eventLoop';

describe('native stack (shared, default ports)', function () {
  let stack: NativeStack;

  before(async function () {
    this.timeout(900_000);
    stack = await ensureNativeStack(['kafka', 'spark', 'airflow']);
  });

  it('reports every service running and healthy on 127.0.0.1 at the compose ports', async function () {
    const status = await stack.backend.status();
    assert.deepEqual(
      status.map((s) => [s.id, s.state, s.health]),
      [
        ['kafka', 'running', 'healthy'],
        ['spark-master', 'running', 'healthy'],
        ['spark-worker', 'running', 'healthy'],
        ['lineage', 'running', 'healthy'],
        ['postgres', 'running', 'healthy'],
        ['airflow-webserver', 'running', 'healthy'],
        ['airflow-scheduler', 'running', 'healthy'],
      ],
    );
    const p = sharedPorts(); // the compose ports unless DP_STACK_PORT_OFFSET shifts them
    assert.deepEqual(stack.endpoints, {
      kafkaBootstrap: `127.0.0.1:${p.kafka}`,
      sparkMasterUrl: `spark://127.0.0.1:${p.sparkMaster}`,
      sparkUiUrl: `http://127.0.0.1:${p.sparkMasterUi}`,
      airflowUrl: `http://127.0.0.1:${p.airflow}`,
      lineageUrl: `http://127.0.0.1:${p.lineage}`,
    });
    if (!process.env.DP_STACK_PORT_OFFSET) assert.equal(stack.endpoints.kafkaBootstrap, '127.0.0.1:9092');
  });

  it('serves the Airflow REST API with admin/admin and has the spark_cluster connection to the native master', async function () {
    const auth = 'Basic ' + Buffer.from('admin:admin').toString('base64');
    const res = await fetch(`${stack.endpoints.airflowUrl}/api/v1/connections/spark_cluster`, { headers: { authorization: auth } });
    assert.equal(res.status, 200);
    const conn = (await res.json()) as { conn_type: string; host: string; port: number };
    assert.equal(conn.conn_type, 'spark');
    assert.equal(`${conn.host}:${conn.port}`, stack.endpoints.sparkMasterUrl);
  });

  it("imports the stack's DAGs without errors (airflow dags list-import-errors is empty)", async function () {
    this.timeout(240_000);
    const auth = 'Basic ' + Buffer.from('admin:admin').toString('base64');
    // the scheduler lists the DAGs folder every 30 s: wait until it has parsed both DAGs
    let ids: string[] = [];
    await until('Airflow to list both bundled DAGs', async () => {
      const res = await fetch(`${stack.endpoints.airflowUrl}/api/v1/dags?limit=100`, { headers: { authorization: auth } });
      ids = ((await res.json()) as { dags: Array<{ dag_id: string }> }).dags.map((d) => d.dag_id);
      return ids.includes('hello_spark_cluster') && ids.includes('kafka_spark_pipeline');
    }, { timeoutMs: 150_000, intervalMs: 2000 }).catch((e: Error) => assert.fail(`${e.message}; DAGs seen by Airflow: ${ids.join(', ') || 'none'}`));
    const r = await stack.backend.airflowCli(['dags', 'list-import-errors', '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const errors = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as unknown[];
    assert.deepEqual(errors, [], `import errors: ${r.stdout}`);
  });

  it('runs stack/scripts/hello_spark.py on the native Spark master through submitSpark', async function () {
    this.timeout(300_000);
    let out = '';
    let err = '';
    const res = await stack.backend.submitSpark(
      { file: path.join(stackDir, 'scripts', 'hello_spark.py') },
      { onStdout: (c) => (out += c), onStderr: (c) => (err += c) },
    );
    assert.equal(res.exitCode, 0, err.slice(-3000));
    assert.match(out, /HELLO WORLD FROM SPARK CLUSTER/);
    assert.match(out, /\|\s*Spark\|\s*4\|/);
    assert.match(res.appId ?? '', /^app-\d{14}-\d{4,}$/, 'the application id is read from the driver output');
    // the application ran on the native master (not in local mode)
    const apps = (await (await fetch(`${stack.endpoints.sparkUiUrl}/json/`)).json()) as { completedapps?: Array<{ id: string; name: string }> };
    assert.ok(apps.completedapps?.some((a) => a.id === res.appId && a.name === 'HelloSparkCluster'), 'the master lists the completed application');
  });

  it('two windows on one stack agree: a restart made by one (another backend on the same state folder) is seen by the other within 5 s, with no refresh', async function () {
    this.timeout(300_000);
    const windowA = new StackStatusModel(stack.backend, { debounceMs: 100 });
    const windowB = sharedBackend(['kafka', 'spark', 'airflow']);
    try {
      await windowA.refresh();
      const worker = () => windowA.services.find((s) => s.id === 'spark-worker');
      const before = worker()?.pid;
      assert.ok(before && worker()?.health === 'healthy', JSON.stringify(worker()));
      await windowB.restart('spark-worker');
      const restarted = Date.now();
      await until(
        'window A to show the new spark-worker healthy',
        () => worker()?.pid !== before && worker()?.state === 'running' && worker()?.health === 'healthy',
        { timeoutMs: 5000, intervalMs: 100, detail: () => JSON.stringify(worker()) },
      );
      console.log(`      [figure] window A saw the restart ${Date.now() - restarted} ms after window B's finished`);
      const master = windowA.services.find((s) => s.id === 'spark-master');
      assert.equal(master?.health, 'healthy');
    } finally {
      windowA.dispose();
      windowB.dispose();
    }
  });

  it('status reads never hold the thread: pg_isready against a server that accepts and never answers', async function () {
    const lib = path.join(stack.layout.postgresVenv, 'lib');
    const py = fs.readdirSync(lib).find((d) => /^python3\.\d+$/.test(d))!;
    const pgIsReady = path.join(lib, py, 'site-packages', 'embedded_postgres', 'pginstall', 'bin', 'pg_isready');
    const held: net.Socket[] = [];
    const silent = net.createServer((c) => void held.push(c));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const loop = watchEventLoop();
    try {
      const t0 = Date.now();
      const r = await postgresHealth(pgIsReady, (silent.address() as net.AddressInfo).port, process.env, 2000);
      assert.equal(r.ok, false);
      assert.ok(Date.now() - t0 >= 1500, 'pg_isready waited for its timeout');
      assert.ok(loop.longestMs() < 100, `the event loop was held for ${loop.longestMs().toFixed(0)} ms`);
    } finally {
      loop.stop();
      for (const c of held) c.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
