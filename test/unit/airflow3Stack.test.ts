import { strict as assert } from 'node:assert';
import { decodeRun } from '../../src/services/airflow/client';
import { assetDescription, runDescription, runTooltip } from '../../src/services/airflow/dagsModel';
import { airflowConfigEnv, airflowDatabaseName, layout, parseAirflowMajor, postgresUrl, DEFAULT_PORTS, servicesFor, servicePorts } from '../../src/services/stack/native/config';

describe('Airflow 3 as the stack\u2019s Airflow', () => {
  it('runs api-server, scheduler, dag-processor and triggerer instead of webserver and scheduler', () => {
    assert.deepEqual(servicesFor(['airflow']), ['lineage', 'postgres', 'airflow-webserver', 'airflow-scheduler']);
    assert.deepEqual(servicesFor(['airflow'], undefined, 3), ['lineage', 'postgres', 'airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer']);
    assert.deepEqual(servicePorts('airflow-api-server', DEFAULT_PORTS).map((p) => [p.name, p.port]), [['Airflow UI', 8085]]);
  });

  it('keeps its own venv, home and database: switching migrates and deletes nothing of 2.8.1\u2019s', () => {
    const two = layout('/p/stack', '/c', '/s');
    const three = layout('/p/stack', '/c', '/s', 3);
    assert.notEqual(two.airflowVenv, three.airflowVenv);
    assert.notEqual(two.airflowHome, three.airflowHome);
    assert.equal(airflowDatabaseName(2), 'airflow');
    assert.equal(airflowDatabaseName(3), 'airflow3');
    assert.match(postgresUrl(DEFAULT_PORTS, 'pw', 3), /@127\.0\.0\.1:5432\/airflow3$/);
    assert.match(postgresUrl(DEFAULT_PORTS, 'pw'), /\/airflow$/);
  });

  it('configures the API server on the stack\u2019s Airflow port, tasks on its execution API, the admin user, and LocalExecutor even on SQLite', () => {
    const l = layout('/p/stack', '/c', '/s', 3);
    const env = airflowConfigEnv(DEFAULT_PORTS, l, { secretKey: 'k', fernetKey: 'f' }, 3);
    assert.equal(env.AIRFLOW__API__HOST, '127.0.0.1');
    assert.equal(env.AIRFLOW__API__PORT, '8085');
    assert.equal(env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, 'http://127.0.0.1:8085/execution/');
    assert.equal(env.AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS, 'admin:admin');
    assert.equal(env.AIRFLOW__CORE__EXECUTOR, 'LocalExecutor');
    assert.equal(airflowConfigEnv(DEFAULT_PORTS, layout('/p/stack', '/c', '/s'), { secretKey: 'k', fernetKey: 'f' }).AIRFLOW__CORE__EXECUTOR, 'SequentialExecutor');
    assert.equal(airflowConfigEnv(DEFAULT_PORTS, layout('/p/stack', '/c', '/s'), { secretKey: 'k', fernetKey: 'f' }).AIRFLOW__API__PORT, undefined);
  });

  it('reads the version asked for: 2, 3, 2.x.y, 3.x.y; anything else is refused with the choices', () => {
    assert.equal(parseAirflowMajor('3'), 3);
    assert.equal(parseAirflowMajor('3.3.2'), 3);
    assert.equal(parseAirflowMajor(2), 2);
    assert.equal(parseAirflowMajor(undefined), undefined);
    assert.throws(() => parseAirflowMajor('1.10'), /use 2 \(2\.8\.1\) or 3/);
  });
});

describe('the DAGs view on Airflow 3: DAG versions, runs without a logical date, assets', () => {
  it('shows the DAG versions a run ran, and a run triggered "now" (no logical date) by when it ran', () => {
    const run = decodeRun(
      { dag_id: 'd', dag_run_id: 'manual__1', state: 'success', logical_date: null, run_after: '2026-12-03T10:00:00Z', start_date: '2026-12-03T10:00:01Z', end_date: '2026-12-03T10:00:31Z', dag_versions: [{ id: 'u1', version_number: 2 }, { id: 'u2', version_number: 3 }] },
      'run',
    );
    assert.deepEqual(run.dagVersions, [2, 3]);
    assert.equal(run.logicalDate, undefined, 'no logical date is not made up');
    assert.equal(run.runAfter, '2026-12-03T10:00:00Z');
    assert.match(runDescription(run), /^success · 2026-12-03 10:00(:00)? \(no logical date\) · 30s · v2→v3$/);
    assert.match(runTooltip(run), /no logical date \(Airflow 3\); run after 2026-12-03T10:00:00Z/);
    assert.match(runTooltip(run), /DAG versions 2, 3/);
    const dated = decodeRun({ dag_id: 'd', dag_run_id: 'scheduled__1', state: 'success', logical_date: '2026-12-02T00:00:00Z', run_after: '2026-12-03T00:00:00Z' }, 'run');
    assert.match(runDescription(dated), /^success · 2026-12-02 00:00/);
    assert.match(runTooltip(dated), /logical date 2026-12-02T00:00:00Z/);
    assert.equal(decodeRun({ dag_id: 'd', dag_run_id: 'r', state: 'queued' }, 'run').dagVersions, undefined, 'Airflow 2 runs have none');
  });

  it('describes an asset by what produces it and what it schedules', () => {
    assert.equal(assetDescription({ id: 1, name: 'orders', uri: 's3://b/orders', producers: [{ dagId: 'etl', taskId: 'extract' }], consumers: ['report'] }), 'produced by etl.extract · schedules report');
    assert.equal(assetDescription({ id: 2, name: 'x', uri: 'x', producers: [], consumers: [] }), 'no producer or consumer');
  });
});
