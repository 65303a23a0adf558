/**
 * The shared default-port native stack (started once per run by the harness): every service
 * healthy, the stack's DAGs import in the native Airflow, and hello_spark.py runs on the native master.
 */
import { strict as assert } from 'node:assert';
import { ensureNativeStack, NativeStack } from './harness';

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
        ['airflow-webserver', 'running', 'healthy'],
        ['airflow-scheduler', 'running', 'healthy'],
      ],
    );
    assert.deepEqual(stack.endpoints, {
      kafkaBootstrap: '127.0.0.1:9092',
      sparkMasterUrl: 'spark://127.0.0.1:7077',
      sparkUiUrl: 'http://127.0.0.1:8080',
      airflowUrl: 'http://127.0.0.1:8085',
    });
  });

  it('serves the Airflow REST API with admin/admin and has the spark_cluster connection to the native master', async function () {
    const auth = 'Basic ' + Buffer.from('admin:admin').toString('base64');
    const res = await fetch(`${stack.endpoints.airflowUrl}/api/v1/connections/spark_cluster`, { headers: { authorization: auth } });
    assert.equal(res.status, 200);
    const conn = (await res.json()) as { conn_type: string; host: string; port: number };
    assert.equal(conn.conn_type, 'spark');
    assert.equal(`${conn.host}:${conn.port}`, stack.endpoints.sparkMasterUrl);
  });
});
