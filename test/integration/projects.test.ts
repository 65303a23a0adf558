/**
 * A user's own project run by the native stack as it is (issue #27): the fixture projects under
 * test/fixtures/projects are written in the style of real ones and are not edited.
 * - the original stack's root layout: its DAGs import `/opt/airflow/scripts` modules (container
 *   paths of its own compose file), which resolve to its scripts/ folder; a DAG runs and succeeds;
 *   its SparkSubmitOperator's application names the project's file, and the run tag is added;
 * - an Astro CLI project: its airflow_settings.yaml gives Airflow a connection, a variable and a
 *   pool (created, then updated on the next apply, nothing duplicated), and its DAG that uses them
 *   and a file in include/ runs and succeeds.
 * A private Airflow (own state folder and ports) runs each project; the shared stack is not touched.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { followRun } from '../../src/services/airflow/streamingRun';
import { collectRunTrace } from '../../src/services/airflow/runTrace';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { detectProject } from '../../src/services/project/detect';
import { applyAirflowSettings, parseAirflowSettings } from '../../src/services/project/airflowSettings';
import { stackAirflowPassword } from '../../src/services/stack/airflowPassword';
import { containerPathMap } from '../../src/services/stack/native/layout';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { ensureRequirementsLayer } from '../../src/services/stack/native/requirementsLayer';
import type { StackError } from '../../src/services/stack/types';
import { cacheDir } from '../../src/services/util/paths';
import { ensureNativeStack, stackDir } from './harness';
import { until } from '../lib/until';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'projects');
const PORTS = { airflow: 28185, postgres: 25532, lineage: 25155, sparkMaster: 28177, sparkMasterUi: 28180, sparkWorkerUi: 28181 };

/** The fixture's files as they are (the test proves nothing was written into them). */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${fs.readFileSync(p, 'utf8').length}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

describe('your own project on the native stack, with no edit to its files', function () {
  this.timeout(20 * 60_000);
  let state: string;
  let backend: NativeBackend | undefined;
  let client: AirflowClient;

  async function runProject(folder: string, airflow: 2 | 3 = 2, groups: Array<'airflow' | 'spark'> = ['airflow']): Promise<void> {
    await backend?.stop().catch(() => undefined);
    backend?.dispose();
    const project = detectProject([folder], stackDir);
    backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: state, groups, ports: PORTS, project, airflow });
    const t0 = Date.now();
    await backend.start({ onProgress: (p) => process.stderr.write(`[project] ${p.step}\n`) });
    process.stderr.write(`[project] ${path.basename(folder)}: Airflow healthy in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.airflow}`, username: 'admin', password: stackAirflowPassword(state) });
  }

  async function runDag(dagId: string): Promise<string> {
    return (await runDagFor(dagId)).log;
  }

  async function runDagFor(dagId: string): Promise<{ log: string; runId: string }> {
    await until(`${dagId} parsed`, async () => (await client.listDags()).some((d) => d.dagId === dagId), { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
    await client.setPaused(dagId, false);
    const run = await client.triggerDagRun(dagId);
    const end = await followRun(client, dagId, run.runId, { pollMs: 2000, stuckAfterMs: 5 * 60_000 });
    const logs = await Promise.all(end.tasks.map(async (t) => (await client.getTaskLog(t, Math.max(1, t.tryNumber))).text));
    assert.equal(end.run.state, 'success', `${dagId}: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n').slice(-4000)}`);
    return { log: logs.join('\n'), runId: run.runId };
  }

  before(async function () {
    this.timeout(30 * 60_000);
    await ensureNativeStack(['airflow', 'spark']); // provisions the Airflow and Spark venvs and PostgreSQL this private stack shares
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-project-state-'));
  });

  after(async function () {
    await backend?.stop().catch(() => undefined);
    backend?.dispose();
    if (state) fs.rmSync(state, { recursive: true, force: true });
  });

  it('the original stack\u2019s root layout: DAGs importing /opt/airflow/scripts load with no import error, and one runs', async function () {
    const folder = path.join(FIXTURES, 'root-layout');
    const before = snapshot(folder);
    // with a Spark master and worker of its own: the country report's job runs on them
    await runProject(folder, 2, ['airflow', 'spark']);
    let dags: string[] = [];
    await until('both DAGs parsed', async () => {
      dags = (await client.listDags()).map((d) => d.dagId);
      return ['orders_pipeline', 'order_report', 'country_report'].every((id) => dags.includes(id));
    }, { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true, detail: () => `DAGs: ${dags.join(', ') || 'none'}` }).catch(async (e) => {
      throw new Error(`${(e as Error).message}; import errors: ${JSON.stringify(await client.listImportErrors().catch(() => 'unreadable'))}`);
    });
    assert.deepEqual(await client.listImportErrors(), []);
    const log = await runDag('order_report');
    assert.match(log, /3 orders, 119\.5 in total/);
    assert.match(log, /customer\s+country\s+amount/, 'tabulate (the venv\u2019s) printed the table');
    // pyfiglet (the project's requirement the stack lacks) came from the project's layer, not the shared venv
    const l = backend!.layout;
    assert.ok(l.requirementsLayer && fs.existsSync(path.join(l.requirementsLayer, 'pyfiglet')), `layer: ${l.requirementsLayer}`);
    const shared = spawnSync(path.join(l.airflowVenv, 'bin', 'python'), ['-m', 'pip', 'show', 'pyfiglet'], { encoding: 'utf8' });
    assert.notEqual(shared.status, 0, 'pyfiglet was installed into the shared Airflow venv');
    assert.equal(snapshot(folder), before, 'nothing was written into the project');
  });

  it('its SparkSubmitOperator\u2019s job gets the project\u2019s py_files and requirements on the executors: country names looked up by a UDF (pycountry, the project\u2019s layer) on the stack\u2019s worker', async function () {
    const { log, runId } = await runDagFor('country_report');
    for (const line of ['country FI Finland: 1', 'country GB United Kingdom: 1', 'country US United States: 1']) assert.ok(log.includes(line), `${line} in:\n${log.slice(-4000)}`);
    // the executors ran on the stack's worker: an application of its master, FINISHED; the job names
    // itself (appName), replacing the run tag, so the run view links it by the id its driver logged
    const master = new SparkMasterClient(`http://127.0.0.1:${PORTS.sparkMasterUi}`);
    const sparkApps = async () => {
      const st = await master.status();
      return [...st.activeApps, ...st.completedApps];
    };
    const { trace } = await collectRunTrace(client, 'country_report', runId, { sparkApps });
    assert.deepEqual(trace.spark.map((l) => [l.taskId, l.name, l.state]), [['count_by_country', 'country_report', 'FINISHED']]);
    assert.ok(log.includes(`app ID ${trace.spark[0].appId}`), 'the application its driver announced');
    assert.deepEqual(trace.notes, []);
    // the layer reaches them through the Spark defaults of Airflow's spark-submit
    const conf = fs.readFileSync(path.join(backend!.layout.airflowHome, 'spark-conf', 'spark-defaults.conf'), 'utf8');
    assert.ok(conf.includes(`\nspark.executorEnv.PYTHONPATH ${backend!.layout.requirementsLayer}\n`), conf);
  });

  it('a requirement that conflicts with Airflow\u2019s constraints is refused naming the package; nothing is installed; an unchanged file reuses its layer', async function () {
    const l = backend!.layout;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-req-'));
    try {
      const req = path.join(dir, 'requirements.txt');
      fs.writeFileSync(req, 'tabulate==0.8.10\n');
      const layers = () => (fs.existsSync(path.join(l.cacheDir, 'project-layers')) ? fs.readdirSync(path.join(l.cacheDir, 'project-layers')).sort() : []);
      const before = layers();
      const opts = { python: path.join(l.airflowVenv, 'bin', 'python'), requirements: req, constraints: path.join(l.versionsDir, 'airflow-constraints-2.8.1.txt'), airflowVersion: '2.8.1', cacheDir: l.cacheDir };
      await assert.rejects(ensureRequirementsLayer(opts), (e: Error) => {
        assert.match(e.message, /cannot be installed beside Airflow 2\.8\.1:\nERROR: Cannot install tabulate==0\.8\.10/);
        assert.match((e as StackError).nextStep ?? '', /Change the version in requirements\.txt .*\(airflow-constraints-2\.8\.1\.txt\)/);
        return true;
      });
      assert.deepEqual(layers(), before, 'nothing was installed');
      // the fixture's file again: the layer the start made is taken as it is
      const again = await ensureRequirementsLayer({ ...opts, requirements: path.join(FIXTURES, 'root-layout', 'requirements.txt') });
      assert.deepEqual([again.reused, [...again.packages].sort()], [true, ['pycountry==24.6.1', 'pyfiglet==1.0.2']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('its SparkSubmitOperator submits the project\u2019s file, not the container path, with the run tag (Airflow\u2019s own DagBag, the stack\u2019s policy)', function () {
    const l = backend!.layout;
    const python = path.join(l.airflowVenv, 'bin', 'python');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-dagbag-'));
    try {
      const r = spawnSync(
        python,
        [
          '-c',
          'from airflow.models import DagBag\n' +
            'import os\n' +
            'bag = DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"], include_examples=False)\n' +
            'assert not bag.import_errors, bag.import_errors\n' +
            't = bag.dags["orders_pipeline"].get_task("load_orders")\n' +
            'print("APP=" + (getattr(t, "_application", None) or t.application))\n' +
            'print("NAME=" + (getattr(t, "_name", None) or t.name))\n',
        ],
        {
          encoding: 'utf8',
          env: {
            ...process.env,
            AIRFLOW_HOME: home,
            AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
            AIRFLOW__CORE__DAGS_FOLDER: l.dagsDir,
            PYTHONPATH: [path.join(l.nativeDir, 'python'), path.join(path.dirname(l.nativeDir), 'plugins'), l.requirementsLayer!].join(path.delimiter),
            DATAPIPELINE_PATH_MAP: JSON.stringify(containerPathMap(l)),
          },
          timeout: 180_000,
        },
      );
      assert.equal(r.status, 0, r.stderr.slice(-3000));
      assert.equal(/^APP=(.*)$/m.exec(r.stdout)?.[1], path.join(FIXTURES, 'root-layout', 'scripts', 'orders_to_postgres.py'));
      assert.match(/^NAME=(.*)$/m.exec(r.stdout)?.[1] ?? '', /\[dp:orders_pipeline\/load_orders\/\{\{ run_id \}\}\]$/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('an Astro CLI project: airflow_settings.yaml gives Airflow its connection, variable and pool; its DAG using them and include/ runs', async function () {
    const folder = path.join(FIXTURES, 'astro-project');
    const before = snapshot(folder);
    await runProject(folder);
    const file = path.join(folder, 'airflow_settings.yaml');
    const settings = parseAirflowSettings(fs.readFileSync(file, 'utf8'), file);
    const first = await applyAirflowSettings(client, settings);
    assert.deepEqual(first.created.sort(), ['connection weather_api', 'pool weather_pool', 'variable report_cities', 'variable report_units']);
    // applied again (the file saved again): updated in place, nothing duplicated
    const again = await applyAirflowSettings(client, settings);
    assert.deepEqual(again.updated.filter((x) => !x.startsWith('variable')).sort(), ['connection weather_api', 'pool weather_pool']);
    const conn = (await client.request('GET', '/connections/weather_api')) as Record<string, unknown>;
    assert.deepEqual([conn.conn_type, conn.host, conn.login, conn.port, conn.schema], ['http', 'api.weather.example', 'reports', 443, 'https']);
    assert.equal(((await client.request('GET', '/variables/report_cities')) as { value: string }).value, 'Oslo,Lima,Pune');
    assert.equal(((await client.request('GET', '/pools/weather_pool')) as { slots: number }).slots, 2);
    const log = await runDag('weather_report');
    assert.match(log, /3 cities from api\.weather\.example in metric units/);
    assert.equal(snapshot(folder), before, 'nothing was written into the project');
  });

  it('the same Astro CLI project on Airflow 3: its requirements resolved under Airflow 3\u2019s constraints, airflow_settings.yaml applied through /api/v2 (the pool updated too), its DAG runs', async function () {
    const folder = path.join(FIXTURES, 'astro-project');
    const before = snapshot(folder);
    await runProject(folder, 3);
    assert.equal(await client.apiVersion(), 'v2');
    const file = path.join(folder, 'airflow_settings.yaml');
    const settings = parseAirflowSettings(fs.readFileSync(file, 'utf8'), file);
    const first = await applyAirflowSettings(client, settings);
    assert.deepEqual(first.created.sort(), ['connection weather_api', 'pool weather_pool', 'variable report_cities', 'variable report_units']);
    const again = await applyAirflowSettings(client, settings);
    assert.deepEqual(again.updated.sort(), ['connection weather_api', 'pool weather_pool', 'variable report_cities', 'variable report_units']);
    const log = await runDag('weather_report');
    assert.match(log, /3 cities from api\.weather\.example in metric units/);
    assert.equal(snapshot(folder), before, 'nothing was written into the project');
  });
});
