/**
 * Airflow 3 as the stack's Airflow (issue #19) in a real VS Code (code-server + Chromium): the
 * extension on the native backend with the setting datapipeline.stack.airflowVersion = 3, on a
 * native Airflow 3 (api-server, scheduler, dag-processor, triggerer; its own state and ports, the
 * shared stack's Kafka and Spark). The Stack view lists Airflow 3's services; the DAGs view shows a
 * streaming run triggered "now" (no logical date) with its DAG version, its four tasks green, and
 * the assets the DAG's tasks produce.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { followRun, STREAMING_DAG_ID, triggerStreaming } from '../../src/services/airflow/streamingRun';
import { cacheDir } from '../../src/services/util/paths';
import { type Airflow3Stack, startAirflow3Stack } from '../integration/lib/airflow3Stack';
import { VsCodeSession } from './lib/codeServer';
import { until } from '../lib/until';

describe('Airflow 3 in VS Code: the Stack and DAGs views on an Airflow 3 stack', function () {
  this.timeout(30 * 60_000);
  let stack: Airflow3Stack;
  let vsc: VsCodeSession;
  let runId = '';
  let workspace: string;

  before(async function () {
    this.timeout(25 * 60_000);
    stack = await startAirflow3Stack('airflow 3 e2e');
    const { client } = stack;
    await until('the dag-processor to parse the bundled DAGs', async () => (await client.listDags()).some((d) => d.dagId === STREAMING_DAG_ID), { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
    const run = await triggerStreaming(client, STREAMING_DAG_ID, { source: 'airflow3-e2e' });
    runId = run.runId;
    const end = await followRun(client, STREAMING_DAG_ID, runId, { pollMs: 2000, stuckAfterMs: 10 * 60_000 });
    assert.equal(end.run.state, 'success', JSON.stringify(end.tasks.map((t) => [t.taskId, t.state])));
    // the Airflow version in the workspace's settings (a file VS Code watches: the last test edits it)
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-airflow3-e2e-'));
    fs.mkdirSync(path.join(workspace, '.vscode'));
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'datapipeline.stack.airflowVersion': '3' }));
    vsc = await VsCodeSession.start({
      workspace,
      env: { DATAPIPELINE_CACHE: cacheDir(), DATAPIPELINE_STATE: stack.state },
      settings: {
        'datapipeline.stack.backend': 'native',
        'datapipeline.stack.nativePorts': { airflow: stack.ports.airflow, postgres: stack.ports.postgres, kafka: stack.ports.kafka, sparkMaster: stack.ports.sparkMaster, sparkMasterUi: stack.ports.sparkMasterUi },
      },
    });
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await vsc?.close();
    await stack?.stop();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('the Stack view lists Airflow 3\u2019s api-server, scheduler, dag-processor and triggerer, each healthy', async () => {
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('Stack');
    // the Stack view gets the room: its Project node and every service show without scrolling
    for (const v of ['DAGs', 'Topics', 'Spark Applications']) await vsc.collapseView(v);
    for (const service of ['airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer']) {
      await vsc.treeItem('Stack', new RegExp(`^${service}$`)).locator('.label-description', { hasText: /^healthy/ }).waitFor({ timeout: 60_000 });
    }
    assert.equal(await vsc.treeItem('Stack', /^airflow-webserver$/).count(), 0, 'no Airflow 2 webserver on an Airflow 3 stack');
    await vsc.screenshot('airflow3-stack-view');
  });

  it('the DAGs view: the run without a logical date and its DAG version, four tasks green, the assets and what produces them', async () => {
    // room for the whole tree: the other views folded
    for (const other of ['Stack', 'Topics', 'Spark Applications']) await vsc.collapseView(other);
    await vsc.expandView('DAGs');
    const dag = vsc.treeItem('DAGs', /^kafka_spark_pipeline$/);
    await dag.waitFor({ timeout: 120_000 });
    if ((await dag.getAttribute('aria-expanded')) !== 'true') await dag.click();
    const run = vsc.treeItem('DAGs', runId);
    await run.waitFor({ timeout: 30_000 });
    assert.match(await run.locator('.label-description').innerText(), /^success · \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? \(no logical date\) · .+ · v1$/);
    if ((await run.getAttribute('aria-expanded')) !== 'true') await run.click();
    for (const task of ['create_kafka_topics', 'produce_sample_data', 'process_kafka_with_spark', 'consume_output_topic']) {
      const item = vsc.treeItem('DAGs', new RegExp(`^${task}$`)).first();
      await item.waitFor({ timeout: 30_000 });
      assert.equal(await item.locator('.codicon-pass-filled').count(), 1, `${task} shows the green success icon`);
    }
    const assets = vsc.treeItem('DAGs', /^Assets \(2\)$/);
    await assets.waitFor({ timeout: 60_000 });
    assert.equal(await assets.getAttribute('aria-expanded'), 'false', 'the Assets section starts folded');
    await assets.click();
    // the keyboard brings the rows under it into view (the list renders only what is in view)
    await vsc.page.keyboard.press('ArrowDown');
    await vsc.page.keyboard.press('ArrowDown');
    const input = vsc.treeItem('DAGs', 'kafka://datapipeline/input-topic');
    const output = vsc.treeItem('DAGs', 'kafka://datapipeline/output-topic');
    await input.waitFor({ timeout: 30_000 });
    assert.equal(await input.locator('.label-description').innerText(), 'produced by kafka_spark_pipeline.produce_sample_data');
    assert.equal(await output.locator('.label-description').innerText(), 'produced by kafka_spark_pipeline.process_kafka_with_spark');
    await vsc.screenshot('airflow3-dags-view');
  });

  it('switching the setting back to 2 while Airflow 3 runs asks first; Cancel leaves Airflow 3 running, and the Stack view still shows it', async () => {
    for (const v of ['DAGs', 'Topics', 'Spark Applications']) await vsc.collapseView(v);
    await vsc.expandView('Stack');
    const settingsFile = path.join(workspace, '.vscode', 'settings.json');
    const write = (v: string) => {
      const cur = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(settingsFile, JSON.stringify({ ...cur, 'datapipeline.stack.airflowVersion': v }, null, 2));
    };
    const dialog = vsc.page.locator('.monaco-dialog-box');
    write('2');
    await dialog.filter({ hasText: 'Restart the stack with Airflow 2.8.1 now?' }).waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /keeps its own metadata database.*Nothing is migrated or deleted/s);
    await vsc.screenshot('airflow3-switch-asks');
    await dialog.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
    // nothing restarted: Airflow 3 still answers, and the Stack view shows it as still running
    assert.equal((await stack.client.health()).scheduler, 'healthy');
    await vsc.treeItem('Stack', /^airflow-api-server$/).waitFor({ timeout: 30_000 });
    await vsc.treeItem('Stack', /^airflow-webserver$/).waitFor({ timeout: 30_000 });
    await vsc.screenshot('airflow3-still-running-after-cancel');
    write('3');
    await dialog.filter({ hasText: 'Restart the stack with Airflow 3 now?' }).waitFor({ timeout: 30_000 });
    await dialog.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
  });
});
