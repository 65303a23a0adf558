/**
 * The headline flow in a real VS Code (code-server + Chromium) against the real native stack:
 * "DataPipeline: Trigger Streaming DAG" from the command palette runs kafka_spark_pipeline, the
 * output viewer lists the three adults the run wrote to output-topic, and the DAGs view shows the
 * run's four tasks green.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { ensureNativeStack, repoRoot } from '../integration/harness';
import { VsCodeSession } from './lib/codeServer';

const RUN_TIMEOUT_MS = 12 * 60_000;

describe('Airflow: Trigger Streaming DAG in VS Code', function () {
  this.timeout(25 * 60_000);
  let vsc: VsCodeSession;

  before(async () => {
    await ensureNativeStack(['kafka', 'spark', 'airflow']);
    vsc = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack') });
  });

  after(async () => {
    await vsc?.close();
  });

  it('the DAGs view lists the stack DAGs', async () => {
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('DAGs');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 120_000 });
    await vsc.treeItem('DAGs', /^hello_spark_cluster$/).waitFor({ timeout: 30_000 });
    const description = await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).locator('.label-description').innerText();
    assert.match(description, /kafka, spark, streaming/);
  });

  it('Trigger Streaming DAG opens the output viewer listing Alice, Charlie and Eve', async () => {
    await vsc.runCommand('DataPipeline: Trigger Streaming DAG');
    // the progress notification names the run and the task that runs
    await vsc.page.locator('.notifications-toasts .notification-list-item-message', { hasText: /kafka_spark_pipeline|manual__/ }).first().waitFor({ timeout: 60_000 });
    await vsc.screenshot('airflow-trigger-progress');
    const frame = await vsc.webviewFrame({ containsSelector: '#messages', timeoutMs: RUN_TIMEOUT_MS });
    await frame.locator('#run-state', { hasText: 'Run success' }).waitFor({ timeout: 30_000 });
    const rows = frame.locator('#messages tbody tr');
    const header = await frame.locator('#messages thead th').allInnerTexts();
    const nameCol = header.indexOf('name');
    const ageCol = header.indexOf('age');
    const msgCol = header.indexOf('message');
    assert.ok(nameCol >= 0 && ageCol >= 0 && msgCol >= 0, `columns: ${header.join(', ')}`);
    const people: string[] = [];
    for (let i = 0; i < (await rows.count()); i++) {
      const cells = await rows.nth(i).locator('td').allInnerTexts();
      people.push(`${cells[nameCol]} ${cells[ageCol]} ${cells[msgCol]}`);
    }
    await vsc.screenshot('airflow-output-viewer');
    assert.deepEqual(people.sort(), ['Alice 25 Alice from NYC is an adult', 'Charlie 30 Charlie from Chicago is an adult', 'Eve 22 Eve from Seattle is an adult']);
    const taskStates = await frame.locator('#tasks tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]?.textContent, tr.children[1]?.textContent]));
    assert.deepEqual(taskStates, [
      ['create_kafka_topics', 'success'],
      ['produce_sample_data', 'success'],
      ['process_kafka_with_spark', 'success'],
      ['consume_output_topic', 'success'],
    ]);
  });

  it("the DAGs view shows the run's tasks green", async () => {
    await vsc.openContainer('DataPipeline');
    const dag = vsc.treeItem('DAGs', /^kafka_spark_pipeline$/);
    await dag.waitFor({ timeout: 30_000 });
    if ((await dag.getAttribute('aria-expanded')) !== 'true') await dag.click();
    const run = vsc.view('DAGs').locator('.monaco-list-row[role="treeitem"][aria-level="2"]').first();
    await run.waitFor({ timeout: 30_000 });
    assert.match(await run.locator('.label-description').innerText(), /^success/);
    if ((await run.getAttribute('aria-expanded')) !== 'true') await run.click();
    for (const task of ['create_kafka_topics', 'produce_sample_data', 'process_kafka_with_spark', 'consume_output_topic']) {
      const item = vsc.treeItem('DAGs', new RegExp(`^${task}$`)).first();
      await item.waitFor({ timeout: 30_000 });
      assert.equal(await item.locator('.codicon-pass-filled').count(), 1, `${task} shows the green success icon`);
      assert.match(await item.locator('.label-description').innerText(), /^success · try 1/);
    }
    await vsc.screenshot('airflow-dags-view-run');
  });

  it("clicking a task opens its log in a read-only editor", async () => {
    await vsc.openContainer('DataPipeline');
    const item = vsc.treeItem('DAGs', /^produce_sample_data$/).first();
    if ((await item.count()) === 0) {
      const dag = vsc.treeItem('DAGs', /^kafka_spark_pipeline$/);
      if ((await dag.getAttribute('aria-expanded')) !== 'true') await dag.click();
      const run = vsc.view('DAGs').locator('.monaco-list-row[role="treeitem"][aria-level="2"]').first();
      if ((await run.getAttribute('aria-expanded')) !== 'true') await run.click();
    }
    await item.waitFor({ timeout: 30_000 });
    await item.click();
    await vsc.page.locator('.tabs-container .tab', { hasText: 'produce_sample_data try 1.log' }).waitFor({ timeout: 30_000 });
    const text = vsc.page.locator('.editor-group-container.active .monaco-editor .view-lines');
    await text.filter({ hasText: /kafka_spark_pipeline\.produce_sample_data/ }).waitFor({ timeout: 30_000 });
    await vsc.screenshot('airflow-task-log');
  });

  it('a broken DAG file shows under Import errors and in the Problems panel, and clears once removed', async () => {
    const name = `zz_e2e_broken_${process.pid}.py`;
    const file = path.join(repoRoot, 'stack', 'dags', name);
    fs.writeFileSync(file, 'from airflow import DAG\n\n\nraise ValueError("broken on purpose by the DataPipeline e2e test")\n');
    try {
      await vsc.openContainer('DataPipeline');
      const node = vsc.treeItem('DAGs', name);
      await node.waitFor({ timeout: 180_000 });
      assert.match(await node.locator('.label-description').innerText(), /ValueError: broken on purpose/);
      const focusProblems = (await vsc.paletteItems('Focus on Problems View')).find((l) => /Focus on Problems View/.test(l));
      await vsc.escape();
      assert.ok(focusProblems, 'the palette offers to focus the Problems view');
      await vsc.runCommand(focusProblems);
      const marker = vsc.page.locator('.markers-panel .monaco-list-row', { hasText: 'Airflow import error: ValueError: broken on purpose by the DataPipeline e2e test' });
      await marker.first().waitFor({ timeout: 30_000 });
      await vsc.screenshot('airflow-import-error');
    } finally {
      fs.rmSync(file, { force: true });
    }
    await vsc.treeItem('DAGs', name).waitFor({ state: 'detached', timeout: 180_000 });
  });

  it('Open DAG File maps the server path to the workspace file', async () => {
    await vsc.openContainer('DataPipeline');
    const dag = vsc.treeItem('DAGs', /^kafka_spark_pipeline$/);
    await dag.waitFor({ timeout: 30_000 });
    for (let attempt = 0; ; attempt++) {
      await dag.click({ button: 'right' });
      const menuItem = vsc.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Open DAG File' });
      const ok = await menuItem.waitFor({ timeout: 5000 }).then(() => menuItem.click({ timeout: 5000 })).then(() => true, () => false);
      if (ok) break;
      if (attempt >= 2) throw new Error('Open DAG File is not in the DAG context menu');
      await vsc.escape();
    }
    await vsc.page.locator('.tabs-container .tab', { hasText: 'kafka_spark_dag.py' }).waitFor({ timeout: 30_000 });
    await vsc.page.locator('.editor-group-container.active .monaco-editor .view-lines', { hasText: 'kafka_spark_pipeline' }).waitFor({ timeout: 30_000 });
  });

  it('Trigger with Config checks the JSON and sends nothing while it is malformed', async () => {
    const client = new AirflowClient({ baseUrl: 'http://127.0.0.1:8085', username: 'admin', password: 'admin' });
    const before = (await client.listDagRuns('hello_spark_cluster')).length;
    await vsc.openContainer('DataPipeline');
    const dag = vsc.treeItem('DAGs', /^hello_spark_cluster$/);
    await dag.waitFor({ timeout: 30_000 });
    const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
    // the view re-renders when it polls, which can close a context menu: retry the right-click
    for (let attempt = 0; ; attempt++) {
      await dag.click({ button: 'right' });
      const menuItem = vsc.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Trigger DAG with Config' });
      const opened = await menuItem.waitFor({ timeout: 5000 }).then(() => menuItem.click({ timeout: 5000 })).then(() => input.waitFor({ state: 'visible', timeout: 10_000 })).then(() => true, () => false);
      if (opened) break;
      if (attempt >= 2) throw new Error('Trigger DAG with Config did not open its input box from the context menu');
      await vsc.escape();
    }
    await input.fill('{"rows": 3');
    await vsc.page.locator('.quick-input-widget .quick-input-message', { hasText: 'Not valid JSON' }).waitFor({ timeout: 10_000 });
    await vsc.page.keyboard.press('Enter');
    await vsc.screenshot('airflow-trigger-config-invalid');
    assert.equal(await input.isVisible(), true, 'the input stays open while the JSON is malformed');
    await vsc.escape();
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await client.listDagRuns('hello_spark_cluster')).length, before, 'no run was triggered');
  });
});

describe('Airflow: DAGs view when Airflow is down', function () {
  this.timeout(5 * 60_000);
  let vsc: VsCodeSession;

  before(async () => {
    vsc = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack'), settings: { 'datapipeline.airflow.url': 'http://127.0.0.1:29998' } });
  });

  after(async () => {
    await vsc?.close();
  });

  it('shows one "Airflow unreachable at URL — Retry" item', async () => {
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('DAGs');
    const item = vsc.treeItem('DAGs', 'Airflow unreachable at http://127.0.0.1:29998 — Retry');
    await item.waitFor({ timeout: 60_000 });
    assert.equal(await vsc.view('DAGs').locator('.monaco-list-row[role="treeitem"]').count(), 1, 'only the unreachable item');
    await item.click();
    await vsc.screenshot('airflow-unreachable');
    await item.waitFor({ timeout: 30_000 });
    assert.equal(await vsc.view('DAGs').locator('.monaco-list-row[role="treeitem"]').count(), 1, 'Retry while still down: still one item');
  });
});
