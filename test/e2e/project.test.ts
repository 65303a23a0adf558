/**
 * Your own project in a real VS Code (issue #27): the root-layout fixture (the original stack's
 * layout: dags/, scripts/, its own compose file and .env, a requirement the stack lacks) opened as
 * the workspace, native backend. Start Stack restarts the shared stack's Airflow with the project's
 * DAGs, the Stack view's Project node says what runs, the DAGs view lists the project's DAGs with no
 * import error, and a DAG triggered from the palette succeeds. The project's files are not changed.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { followRun } from '../../src/services/airflow/streamingRun';
import { stackAirflowPassword } from '../../src/services/stack/airflowPassword';
import { addWarehouse } from '../integration/lib/lineageTrace';
import { stackSecrets } from '../../src/services/stack/native/secrets';
import { cacheDir, stateDir } from '../../src/services/util/paths';
import { ensureNativeStack, repoRoot, sharedBackend } from '../integration/harness';
import { VsCodeSession } from './lib/codeServer';
import { readTerminal } from './lib/terminal';
import { until } from '../lib/until';

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'projects', 'root-layout');

/** The DAG file the inner-loop tests type into the editor. */
const QUICK_CHECK = [
  'from datetime import datetime',
  'from airflow import DAG',
  'from airflow.operators.python import PythonOperator',
  'def hello():',
  '    greeting = "hi"',
  '    print("hello from the inner loop")',
  '    return {"greeting": greeting}',
  'dag = DAG(dag_id="quick_check", start_date=datetime(2024, 1, 1), schedule=None, catchup=False)',
  'PythonOperator(task_id="say_hello", python_callable=hello, dag=dag)',
  '',
];

describe('your own project (the original stack\u2019s layout) in a real VS Code, native backend', function () {
  this.timeout(20 * 60_000);
  let vsc: VsCodeSession | undefined;
  let work: string;
  let project: string;

  before(async function () {
    this.timeout(30 * 60_000);
    const stack = await ensureNativeStack(['kafka', 'spark', 'airflow']);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-project-e2e-'));
    project = path.join(work, 'orders pipeline');
    fs.cpSync(FIXTURE, project, { recursive: true });
    vsc = await VsCodeSession.start({
      workspace: project,
      env: { DATAPIPELINE_CACHE: cacheDir(), DATAPIPELINE_STATE: stateDir() },
      settings: {
        'datapipeline.stack.backend': 'native',
        'datapipeline.airflow.url': stack.endpoints.airflowUrl,
        // text typed into an editor stays as typed; the terminal readable from the page
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.autoIndent': 'none',
        'terminal.integrated.gpuAcceleration': 'off',
      },
    });
  });

  after(async function () {
    this.timeout(10 * 60_000);
    await vsc?.close();
    // the shared stack's Airflow serves the bundled DAGs again for the tests after this one
    await sharedBackend(['airflow']).start().catch((e: unknown) => process.stderr.write(`[project e2e] restoring the bundled DAGs: ${String(e)}\n`));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('Start Stack runs the project: the Project node names its layout and folders, the DAGs view lists its DAGs with no import error, and a triggered DAG succeeds', async () => {
    const s = vsc!;
    const files = (dir: string) => fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).filter((f) => !f.startsWith('.vscode')).sort();
    const before = files(project).map((f) => [f, fs.statSync(path.join(project, f)).isFile() ? fs.readFileSync(path.join(project, f), 'utf8') : '']);
    await s.openContainer('DataPipeline');
    await s.runCommand('DataPipeline: Start Stack');
    // the shared stack was started from the bundled stack: the user is asked, then Airflow restarts with this project's DAGs
    const dialog = s.page.locator('.monaco-dialog-box', { hasText: 'Another workspace\'s stack is running' });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /Starting replaces it with this workspace's stack/);
    await dialog.getByRole('button', { name: "Start This Workspace's Stack" }).click();
    const node = s.treeItem('Stack', /^Project$/);
    await node.waitFor({ timeout: 10 * 60_000 });
    assert.match(await node.locator('.label-description').innerText(), /orders pipeline · DAGs, scripts and compose file at the root/);
    await node.click();
    const dagsRow = s.treeItem('Stack', /^DAGs$/);
    await dagsRow.waitFor({ timeout: 10_000 });
    assert.equal((await dagsRow.locator('.label-description').innerText()).trim(), 'dags', 'relative to the project');
    assert.equal((await s.treeItem('Stack', /^Requirements$/).locator('.label-description').innerText()).trim(), 'requirements.txt');
    await s.screenshot('project-node');
    await node.click(); // collapsed again: the services show below it
    await s.treeItem('Stack', /^airflow-webserver$/).locator('.label-description', { hasText: /^healthy/ }).waitFor({ timeout: 10 * 60_000 });

    await s.expandView('DAGs');
    await s.treeItem('DAGs', /^order_report$/).waitFor({ timeout: 5 * 60_000 });
    await s.treeItem('DAGs', /^orders_pipeline$/).waitFor({ timeout: 60_000 });
    // the bundled stack's DAGs (the Airflow database outlives the switch) are retired: only the project's are listed
    await s.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ state: 'detached', timeout: 2 * 60_000 });
    // Airflow restarted with the project's DAGs folder: the DAG is read from the project's file. The
    // metadata database outlives a project switch, so the row may first show the file an earlier run
    // of the same project had (another temporary folder) until the DAG processor parses this one.
    const client = new AirflowClient({ baseUrl: sharedBackend(['airflow']).endpoints().airflowUrl, username: 'admin', password: stackAirflowPassword(stateDir()) });
    const expected = path.join(project, 'dags', 'order_report.py');
    await until(`order_report to be read from ${expected}`, async () => {
      const { fileloc } = await client.getDag('order_report');
      if (fileloc !== expected) throw new Error(`Airflow reads it from ${fileloc}`);
      return true;
    }, { timeoutMs: 3 * 60_000, ignoreErrors: true });
    await until('Start Stack to finish', async () => (await s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'Starting the stack' }).count()) === 0, { timeoutMs: 5 * 60_000 });
    assert.deepEqual(await client.listImportErrors(), [], 'the project\u2019s DAGs import: /opt/airflow/scripts and pyfiglet resolve');
    assert.equal(await s.view('DAGs').locator('.monaco-list-row', { hasText: /import error/i }).count(), 0);
    await client.setPaused('order_report', false);

    // the DAG row's inline Trigger action
    const row = s.treeItem('DAGs', /^order_report$/);
    await row.hover();
    await row.locator('.action-label[aria-label="Trigger DAG"]').click();
    let runId = '';
    await until('the run to be listed', async () => (runId = (await client.listDagRuns('order_report', { limit: 1 }))[0]?.runId ?? '') !== '', { timeoutMs: 60_000, ignoreErrors: true });
    const end = await followRun(client, 'order_report', runId, { pollMs: 2000, stuckAfterMs: 5 * 60_000 });
    assert.equal(end.run.state, 'success', JSON.stringify(end.tasks.map((t) => [t.taskId, t.state])));
    const log = await client.getTaskLog(end.tasks[0], Math.max(1, end.tasks[0].tryNumber));
    assert.match(log.text, /3 orders, 119\.5 in total/);
    await s.screenshot('project-dag-run-success');
    assert.deepEqual(
      files(project).map((f) => [f, fs.statSync(path.join(project, f)).isFile() ? fs.readFileSync(path.join(project, f), 'utf8') : '']),
      before,
      'the project\u2019s files are as they were',
    );
  });

  it('its DAG with no DataPipeline code, traced: the lineage graph shows topic -> Spark job -> topic and table; the run\u2019s path highlighted; Enter on the topic opens the message browser on it, a click on a task its run view with what it read', async () => {
    const s = vsc!;
    const backend = sharedBackend(['airflow']);
    const client = new AirflowClient({ baseUrl: backend.endpoints().airflowUrl, username: 'admin', password: stackAirflowPassword(stateDir()) });
    // the warehouse the DAG's Spark job writes to: the stack's own PostgreSQL, as a user adds a connection
    await addWarehouse(client, { host: '127.0.0.1', port: backend.ports.postgres, password: stackSecrets(stateDir()).postgresPassword });
    await until('orders_enrichment parsed', async () => (await client.listDags()).some((d) => d.dagId === 'orders_enrichment'), { timeoutMs: 3 * 60_000, intervalMs: 2000, ignoreErrors: true });
    await client.setPaused('orders_enrichment', false);
    const run = await client.triggerDagRun('orders_enrichment');
    const end = await followRun(client, 'orders_enrichment', run.runId, { pollMs: 2000, stuckAfterMs: 8 * 60_000 });
    assert.equal(end.run.state, 'success', JSON.stringify(end.tasks.map((t) => [t.taskId, t.state])));

    await s.runCommand('View: Close All Editors');
    await s.runCommand('DataPipeline: Show Lineage Graph');
    const frame = await s.webviewFrame({ containsSelector: '#graph', timeoutMs: 60_000 });
    const node = (kind: string, label: string) => frame.locator(`#graph .node[data-kind="${kind}"][data-label="${label}"]`);
    // the Spark job's events name their task's run as parent: until they are in, the job is not drawn
    await until('the Spark job in the graph', async () => {
      if ((await node('spark', 'enrich_orders').count()) === 1) return true;
      await frame.locator('button', { hasText: 'Refresh' }).click();
      return false;
    }, { timeoutMs: 60_000, intervalMs: 2000 });
    const edges = await frame.locator('#graph .edge').evaluateAll((es) => es.map((e) => `${e.getAttribute('data-from')} -> ${e.getAttribute('data-to')}`));
    for (const edge of [
      'task:orders_enrichment.publish_raw_orders -> kafka:orders_raw',
      'kafka:orders_raw -> spark:orders_enrichment.enrich_orders:enrich_orders',
      'spark:orders_enrichment.enrich_orders:enrich_orders -> kafka:orders_enriched',
      'kafka:orders_enriched -> task:orders_enrichment.count_enriched_orders',
    ]) assert.ok(edges.includes(edge), `${edge} in:\n${edges.join('\n')}`);
    assert.ok(edges.some((e) => /^spark:orders_enrichment\.enrich_orders:enrich_orders -> table:postgres:\/\/127\.0\.0\.1:\d+\/airflow\.orders_enriched$/.test(e)), edges.join('\n'));
    // left to right: the topic, then the job that reads it, then what the job writes
    const x = async (kind: string, label: string) => (await node(kind, label).boundingBox())!.x;
    assert.ok((await x('kafka', 'orders_raw')) < (await x('spark', 'enrich_orders')));
    assert.ok((await x('spark', 'enrich_orders')) < (await x('table', 'orders_enriched')));
    // the run picked: its path highlighted
    await frame.locator('#run-picker').selectOption({ label: `orders_enrichment \u00b7 ${run.runId}` });
    assert.equal(await frame.locator('#graph .edge.on-path').count(), edges.filter((e) => e.includes('orders_enrichment.')).length);
    await s.screenshot('lineage-graph');
    // by keyboard: focus the topic, Enter opens the message browser on it
    await node('kafka', 'orders_raw').focus();
    await s.page.keyboard.press('Enter');
    const browser = await s.webviewFrame({ containsSelector: '#message-table', timeoutMs: 60_000 });
    await browser.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    assert.match(await s.page.locator('.tab.active').innerText(), /orders_raw/);
    // a task opens the run view of the run picked in the graph, with what the task read from lineage
    await s.page.locator('.tab', { hasText: 'Lineage' }).click();
    const graph = await s.webviewFrame({ containsSelector: '#graph', timeoutMs: 30_000 });
    await graph.locator('#graph .node[data-kind="task"][data-label="count_enriched_orders"]').click();
    const runView = await s.webviewFrame({ containsSelector: '#run-datasets', timeoutMs: 60_000 });
    assert.match(await runView.locator('h1').innerText(), new RegExp(`orders_enrichment · ${run.runId.replace(/[.+]/g, '\\$&')}`));
    const row = runView.locator('#run-datasets tr[data-task="count_enriched_orders"][data-kind="kafka"]');
    assert.match(await row.innerText(), /count_enriched_orders\s+read\s+orders_enriched\s+topic\s+100 \(the task.s own records\)\s+DataPipeline listener/);
  });

  it('the inner loop: a DAG written and saved in the editor is in the DAGs view within 3 s, and Run Task above its task runs it in a terminal with its output and XCom', async () => {
    const s = vsc!;
    const rel = 'quick_check.py';
    const file = path.join(project, 'dags', rel);
    // a draft Airflow skips (no DAG in it), opened in the editor
    fs.writeFileSync(file, '# a draft\n');
    await s.page.keyboard.press('Control+P');
    await s.page.keyboard.insertText(rel);
    await s.page.locator('.quick-input-list .monaco-list-row', { hasText: rel }).first().waitFor({ timeout: 15_000 });
    await s.page.keyboard.press('Enter');
    const editor = s.page.locator('.editor-group-container.active .monaco-editor .view-lines');
    await editor.waitFor({ timeout: 15_000 });
    await editor.click();
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.press('Delete');
    // typed as is (no auto-indent in this session): the function's body indented by hand
    await s.page.keyboard.insertText(QUICK_CHECK.join('\n'));
    await s.expandView('DAGs');
    const saved = Date.now();
    await s.page.keyboard.press('Control+S');
    await s.treeItem('DAGs', /^quick_check$/).waitFor({ timeout: 30_000 });
    const newMs = Date.now() - saved;
    await s.page.locator('.statusbar-item', { hasText: /Airflow parsed quick_check\.py: quick_check/ }).first().waitFor({ timeout: 10_000 });
    await s.screenshot('inner-loop-saved-dag-listed');
    // an edit of the DAG (a tag added on its line): its row in the DAGs view shows it
    const dagLine = QUICK_CHECK.findIndex((l) => l.startsWith('dag = DAG(')) + 1;
    await s.page.keyboard.press('Control+G');
    await s.page.keyboard.insertText(String(dagLine));
    await s.page.keyboard.press('Enter');
    await s.page.keyboard.press('End');
    await s.page.keyboard.press('ArrowLeft');
    await s.page.keyboard.insertText(', tags=["inner-loop"]');
    const edited = Date.now();
    await s.page.keyboard.press('Control+S');
    await s.view('DAGs').locator('.monaco-list-row', { hasText: /quick_check.*inner-loop/ }).waitFor({ timeout: 30_000 });
    const editMs = Date.now() - edited;
    // a new file is found when Airflow lists the DAGs folder (every second), an edited one on its next loop
    console.log(`      save → DAGs view: a new DAG file ${newMs} ms, an edited one ${editMs} ms`);
    assert.ok(editMs <= 3000, `the DAGs view showed the edit ${editMs} ms after the save (goal ≤ 3000 ms)`);
    assert.ok(newMs <= 4000, `the DAGs view listed the new DAG ${newMs} ms after the save (goal 3000 ms; this e2e shares 2 cores with code-server and Chromium)`);

    // the CodeLens above the task: Run Task
    const runLens = s.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Run Task' });
    await runLens.first().waitFor({ timeout: 30_000 });
    await runLens.first().click();
    const text = await until('the task run to finish in its terminal', async () => {
      const t = await readTerminal(s);
      return /succeeded in|failed \(exit/.test(t) ? t : undefined;
    }, { timeoutMs: 3 * 60_000, intervalMs: 2000, ignoreErrors: true });
    assert.match(text, /✔ Run say_hello \(quick_check\) succeeded in [\d.]+ s · 1 XCom/);
    assert.match(text, /hello from the inner loop/);
    assert.match(text, /XCom say_hello\.return_value = \{"greeting":"hi"\}/);
    await s.screenshot('inner-loop-run-task-terminal');
  });

  it('Debug Task: F9 on a line of the task\u2019s callable, the CodeLens, the debugger stops there with its locals; Continue and the task succeeds', async () => {
    const s = vsc!;
    const file = path.join(project, 'dags', 'quick_check.py');
    const line = QUICK_CHECK.findIndex((l) => l.includes('print("hello from the inner loop")')) + 1;
    // the cursor on that line (Go to Line), then Toggle Breakpoint: the keyboard alone
    await s.page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
    await s.page.keyboard.press('Control+G');
    await s.page.keyboard.insertText(String(line));
    await s.page.keyboard.press('Enter');
    await s.page.keyboard.press('F9');
    await s.page.locator('.editor-group-container.active .codicon-debug-breakpoint').first().waitFor({ timeout: 10_000 });
    await s.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Debug Task' }).first().click();
    // stopped on the line: the debug toolbar, the line marked, the local variable in Variables
    await s.page.locator('.debug-toolbar').waitFor({ timeout: 3 * 60_000 });
    await s.page.locator('.editor-group-container.active .debug-top-stack-frame-line').first().waitFor({ timeout: 3 * 60_000 });
    // Variables: the Locals scope, opened by keyboard when it shows collapsed
    const greeting = s.page.locator('.debug-view-content .monaco-list-row', { hasText: /greeting/ }).first();
    await until('greeting in Variables › Locals', async () => {
      if (await greeting.isVisible()) return true;
      await s.page.locator('.debug-view-content .monaco-list-row', { hasText: /^Locals$/ }).first().click();
      await s.page.keyboard.press('ArrowRight');
      return undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    assert.match(await greeting.innerText(), /greeting[\s\S]*'hi'/);
    // the Debug Console evaluates in the stopped frame
    await s.page.locator('.repl-input-wrapper .monaco-editor').click();
    await s.page.keyboard.insertText('greeting.upper() + "!"');
    await s.page.keyboard.press('Enter');
    await s.page.locator('.repl .monaco-list-row', { hasText: "'HI!'" }).first().waitFor({ timeout: 30_000 });
    await s.screenshot('inner-loop-debug-task-stopped');
    // Continue: the task runs to its end
    await s.page.keyboard.press('F5');
    // back to its terminal (the Debug Console had the panel)
    await s.runCommand('Terminal: Focus Terminal');
    const text = await until('the debugged task to finish in its terminal', async () => {
      const t = await readTerminal(s);
      return /Debug say_hello \(quick_check\) (succeeded|failed)/.test(t) ? t : undefined;
    }, { timeoutMs: 3 * 60_000, intervalMs: 2000, ignoreErrors: true });
    assert.match(text, /✔ Debug say_hello \(quick_check\) succeeded in [\d.]+ s · 1 XCom/);
    await s.page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
    fs.rmSync(file, { force: true });
    // back to DataPipeline's views (the debugger opened Run and Debug), as the tests after this one expect
    await s.openContainer('DataPipeline');
  });

  it('a DAG needs a package the project lacks: saving requirements.txt installs it with progress, Airflow restarts on it and the DAG imports and runs', async () => {
    const s = vsc!;
    const client = new AirflowClient({ baseUrl: sharedBackend(['airflow']).endpoints().airflowUrl, username: 'admin', password: stackAirflowPassword(stateDir()) });
    const dag = path.join(project, 'dags', 'order_greeting.py');
    fs.writeFileSync(dag, [
      'from datetime import datetime',
      'import cowsay',
      'from airflow.decorators import dag, task',
      '',
      '@dag(dag_id="order_greeting", start_date=datetime(2024, 1, 1), schedule=None, catchup=False)',
      'def order_greeting():',
      '    @task',
      '    def greet():',
      '        print(cowsay.get_output_string("cow", "orders are in"))',
      '    greet()',
      '',
      'order_greeting()',
      '',
    ].join('\n'));
    // the user sees why it does not load: cowsay is not installed
    await until('the import error for order_greeting.py', async () => (await client.listImportErrors()).some((e) => e.filename === dag && /cowsay/.test(e.stackTrace)), { timeoutMs: 3 * 60_000, ignoreErrors: true });

    const requirements = path.join(project, 'requirements.txt');
    fs.appendFileSync(requirements, 'cowsay==6.1\n');
    const progress = s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: /Installing the project.s requirements/ });
    await progress.first().waitFor({ timeout: 60_000 });
    await s.screenshot('project-requirements-installing');
    await s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: /Airflow runs on the project.s requirements as they are now/ }).waitFor({ timeout: 10 * 60_000 });
    await until('order_greeting to import', async () => (await client.listImportErrors()).length === 0 && (await client.getDag('order_greeting')).dagId === 'order_greeting', { timeoutMs: 5 * 60_000, ignoreErrors: true });
    await s.treeItem('DAGs', /^order_greeting$/).waitFor({ timeout: 2 * 60_000 });
    assert.equal(await s.view('DAGs').locator('.monaco-list-row', { hasText: /import error/i }).count(), 0);

    await client.setPaused('order_greeting', false);
    const run = await client.triggerDagRun('order_greeting');
    const end = await followRun(client, 'order_greeting', run.runId, { pollMs: 2000, stuckAfterMs: 5 * 60_000 });
    assert.equal(end.run.state, 'success', JSON.stringify(end.tasks.map((t) => [t.taskId, t.state])));
    assert.match((await client.getTaskLog(end.tasks[0], Math.max(1, end.tasks[0].tryNumber))).text, /orders are in/);
  });
});
