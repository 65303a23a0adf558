/**
 * The headline flow in a real VS Code (code-server + Chromium) against the real native stack:
 * "DataPipeline: Trigger Streaming DAG" from the command palette runs kafka_spark_pipeline, the
 * output viewer lists the three adults the run wrote to output-topic, and the DAGs view shows the
 * run's four tasks green.
 */
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { ensureNativeStack, repoRoot } from '../integration/harness';
import { sleep, VsCodeSession } from './lib/codeServer';
import { contextMenu, pickMenuEntry } from './lib/menus';
import { outputViewerPeople } from './lib/outputViewer';
import { until } from '../lib/until';

const RUN_TIMEOUT_MS = 12 * 60_000;

/** Opens "Trigger DAG with Config" on hello_spark_cluster's row: the command gets the row, so it asks only for the config. */
async function openTriggerWithConfig(vsc: VsCodeSession, dag: ReturnType<VsCodeSession['treeItem']>): Promise<void> {
  const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
  const title = vsc.page.locator('.quick-input-widget .quick-input-title');
  await contextMenu(vsc, dag, 'Trigger DAG with Config', async () => {
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await title.filter({ hasText: 'Trigger hello_spark_cluster with config' }).waitFor({ timeout: 5000 });
  });
}

describe('Airflow: Trigger Streaming DAG in VS Code', function () {
  this.timeout(25 * 60_000);
  let vsc: VsCodeSession;

  before(async () => {
    await ensureNativeStack(['kafka', 'spark', 'airflow']);
    vsc = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack') });
  });

  const cleanups: Array<() => void> = [];
  after(async () => {
    await vsc?.close();
    for (const c of cleanups) c();
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
    const people = await outputViewerPeople(frame);
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

  it('the run view traces the run: four tasks on its timeline, the Spark application by its tags, 5 in and 3 out; "Open these messages" shows exactly Alice, Charlie and Eve', async () => {
    const frame = await vsc.webviewFrame({ containsSelector: '#timeline', timeoutMs: 60_000 });
    const rows = await frame.locator('#timeline .gantt-row').evaluateAll((rs) => rs.map((r) => [r.getAttribute('data-task'), r.querySelector('.gantt-duration')?.textContent ?? '']));
    assert.deepEqual(rows.map((r) => r[0]), ['create_kafka_topics', 'produce_sample_data', 'process_kafka_with_spark', 'consume_output_topic'], 'four tasks in the order they ran');
    for (const [task, duration] of rows) assert.match(duration!, /^\d+s$|^\d+m \d\ds$/, `${task} has a duration`);
    const bars = await frame.locator('#timeline .bar').evaluateAll((bs) => bs.map((b) => ({ left: b.getBoundingClientRect().left, width: b.getBoundingClientRect().width })));
    assert.equal(bars.length, 4);
    assert.ok(bars.every((b) => b.width > 0), 'every try is drawn as a bar');
    for (let i = 1; i < bars.length; i++) assert.ok(bars[i].left >= bars[i - 1].left, 'bars go left to right in time');
    const spark = frame.locator('#spark li[data-task="process_kafka_with_spark"]');
    assert.equal(await spark.count(), 1, 'the Spark application is linked to its task by its tags');
    assert.match(await spark.innerText(), /^app-\S+ kafka_spark_pipeline · started by process_kafka_with_spark · FINISHED in \d+s/);
    const ranges = await frame.locator('#kafka-ranges tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 5).map((td) => td.textContent)));
    const summary = ranges.map((r) => `${r[0]} ${r[1]} ${r[2]} ${r[4]}`).sort();
    assert.deepEqual(summary, [
      'input-topic process_kafka_with_spark read 5',
      'input-topic produce_sample_data wrote 5',
      'output-topic consume_output_topic read 3',
      'output-topic process_kafka_with_spark wrote 3',
    ]);
    await vsc.screenshot('run-view');
    await frame.locator('#kafka-ranges tbody tr[data-topic="output-topic"][data-role="write"] button', { hasText: 'Open these messages' }).click();
    const browser = await vsc.webviewFrame({ containsSelector: '#message-table', timeoutMs: 60_000 });
    await browser.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    await browser.locator('#match-count', { hasText: /^3 messages$/ }).waitFor({ timeout: 30_000 });
    const values = await browser.locator('.mt-row[data-seq]').allInnerTexts();
    const names = values.map((v) => /"name":"(\w+)"/.exec(v)?.[1]).sort();
    assert.deepEqual(names, ['Alice', 'Charlie', 'Eve'], values.join('\n'));
    assert.equal(await browser.locator('#start-mode').inputValue(), 'range', 'the browser read exactly that range');
    await vsc.screenshot('run-view-open-messages');
  });

  it('a CodeLens above the DAG says how its last run went, and opens its run view', async () => {
    await vsc.runCommand('View: Close All Editors');
    await vsc.page.keyboard.press('Control+P');
    await vsc.page.locator('.quick-input-widget .quick-input-box input').fill('kafka_spark_dag.py');
    await vsc.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'kafka_spark_dag.py' }).first().click();
    // the DAG is defined near the end of the file: lenses draw only in view
    await vsc.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await vsc.page.keyboard.press('Control+End');
    const lens = vsc.page.locator('.codelens-decoration a', { hasText: /last run: success in \d+/ });
    await lens.first().waitFor({ timeout: 60_000 });
    assert.equal(await vsc.page.locator('.codelens-decoration a', { hasText: 'Trigger' }).count() >= 1, true);
    await vsc.screenshot('codelens-dag');
    await lens.first().click();
    await vsc.page.locator('.tabs-container .tab', { hasText: /^Output: kafka_spark_pipeline/ }).first().waitFor({ timeout: 30_000 });
    await vsc.webviewFrame({ containsSelector: '#timeline', timeoutMs: 60_000 });
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

  it('a run that wrote 50,000 messages: its row opens the output viewer, which holds them all, draws only the rows in view and scrolls to the last', async () => {
    const client = new AirflowClient({ baseUrl: 'http://127.0.0.1:8085', username: 'admin', password: 'admin' });
    const kafka = new KafkaService({ bootstrap: (await ensureNativeStack(['kafka'])).endpoints.kafkaBootstrap });
    // first in the DAGs view (sorted by id), so it is in view however the rows above are expanded
    const dagId = `a_e2e_big_output_${process.pid}`;
    const topic = `dp-e2e-big-output-${process.pid}`;
    const file = path.join(repoRoot, 'stack', 'dags', `${dagId}.py`);
    // removed when the suite ends: a DAG vanishing from the view while a later test has a row's
    // context menu open would take that menu's row away
    cleanups.push(() => fs.rmSync(file, { force: true }));
    const N = 50_000;
    await kafka.createTopic({ topic, numPartitions: 3 });
    // kafka-python (the bundled DAGs' client) writes them from an Airflow task, which records the
    // range as the streaming DAG does (XCom "output_offsets" of consume_output_topic)
    fs.writeFileSync(file, [
      'import json, os',
      'from datetime import datetime',
      'from airflow import DAG',
      'try:',
      '    from airflow.providers.standard.operators.python import PythonOperator',
      'except ImportError:',
      '    from airflow.operators.python import PythonOperator',
      `TOPIC = ${JSON.stringify(topic)}`,
      'def write(ti, **_):',
      '    from kafka import KafkaConsumer, KafkaProducer, TopicPartition',
      '    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",")',
      '    c = KafkaConsumer(bootstrap_servers=servers)',
      '    tps = [TopicPartition(TOPIC, p) for p in range(3)]',
      '    start = c.end_offsets(tps)',
      '    p = KafkaProducer(bootstrap_servers=servers, linger_ms=20, batch_size=256 * 1024)',
      `    for i in range(${N}):`,
      '        p.send(TOPIC, json.dumps({"name": f"p{i}", "age": i, "message": f"row {i}"}).encode(), partition=i % 3)',
      '    p.flush()',
      '    end = c.end_offsets(tps)',
      '    c.close()',
      '    ti.xcom_push(key="output_offsets", value=json.dumps({"topic": TOPIC, "start": {str(t.partition): o for t, o in start.items()}, "end": {str(t.partition): o for t, o in end.items()}}))',
      `with DAG(dag_id=${JSON.stringify(dagId)}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False):`,
      '    PythonOperator(task_id="consume_output_topic", python_callable=write)',
      '',
    ].join('\n'));
    try {
      await until(`Airflow to parse ${dagId}`, () => client.getDag(dagId).then(() => true, () => false), { timeoutMs: 180_000, intervalMs: 3000 });
      await client.setPaused(dagId, false);
      const run = await client.triggerDagRun(dagId);
      const ended = await until(`run ${run.runId} to end`, async () => {
        const r = await client.getDagRun(dagId, run.runId);
        return r.state === 'success' || r.state === 'failed' ? r : undefined;
      }, { timeoutMs: 300_000, intervalMs: 2000 });
      assert.equal(ended.state, 'success');

      await vsc.openContainer('DataPipeline');
      const dag = vsc.treeItem('DAGs', new RegExp(`^${dagId}$`));
      await dag.waitFor({ timeout: 60_000 });
      if ((await dag.getAttribute('aria-expanded')) !== 'true') await dag.click();
      const runRow = vsc.treeItem('DAGs', run.runId);
      await runRow.waitFor({ timeout: 30_000 });
      // the DAG row's hover (its tooltip) would take the right-click: move away and close it
      await vsc.page.mouse.move(1, 1);
      await vsc.escape();
      await vsc.page.locator('.context-view').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
      const askedWhichRun = vsc.page.locator('.quick-input-widget .quick-input-title', { hasText: /Choose a DAG|Run view of which/ });
      await contextMenu(vsc, runRow, 'Open Run View', async () => undefined);
      // Known defect, left for a fix (see the closing note of 2026-12-02): now and then a DAGs-view
      // menu's command gets no row and asks which run. Say so, and take the menu once more.
      if (await askedWhichRun.waitFor({ timeout: 3000 }).then(() => true, () => false)) {
        console.log('      KNOWN DEFECT: the run row\'s menu command got no row (it asked which run); opening the menu again');
        await vsc.escape();
        await contextMenu(vsc, runRow, 'Open Run View', async () => undefined);
      }
      const frame = await vsc.webviewFrame({ containsText: `${dagId} · ${run.runId}`, timeoutMs: 60_000 });
      await frame.locator('#messages-title', { hasText: `(${N.toLocaleString('en-US')})` }).waitFor({ timeout: 60_000 });
      const rows = frame.locator('#messages .mt-body [role="row"][data-seq]');
      await rows.first().waitFor({ timeout: 30_000 });
      const firstCells = await rows.first().locator('[role="gridcell"]').allInnerTexts();
      assert.deepEqual(firstCells, ['0', '0', 'p0', '0', 'row 0'], 'partition 0, offset 0 first; name, age, message as columns');
      const drawn = await frame.locator('#messages .mt-body [role="row"]').count();
      assert.ok(drawn > 0 && drawn <= 60, `only the rows in view are in the DOM (${drawn} of ${N})`);
      // the end of the table is the newest message of the last partition: i = 49,997 (i % 3 = 2), offset 16,665
      const t0 = Date.now();
      await frame.evaluate("document.querySelector('#messages .mt-viewport').scrollTop = 1e9");
      const last = frame.locator('#messages .mt-body [role="row"][aria-rowindex="50000"][data-seq]');
      await last.waitFor({ timeout: 30_000 });
      const scrolledMs = Date.now() - t0;
      assert.deepEqual(await last.locator('[role="gridcell"]').allInnerTexts(), ['2', '16665', 'p49997', '49997', 'row 49997']);
      const firstRowsMs = Number(await frame.evaluate("Math.round(performance.getEntriesByName('datapipeline:first-rows')[0]?.startTime ?? -1)"));
      console.log(`      output viewer, ${N} messages: first rows ${firstRowsMs} ms after the page started, ${drawn} rows in the DOM, scroll to the end drawn in ${scrolledMs} ms`);
      await vsc.screenshot('airflow-output-viewer-50k');
      // leave the DAGs view as the later tests expect it: this DAG's row collapsed
      if ((await dag.getAttribute('aria-expanded')) === 'true') await dag.click();
    } finally {
      await kafka.deleteTopic(topic).catch(() => undefined);
      await kafka.dispose();
    }
  });

  it('Open DAG File maps the server path to the workspace file, and a poll of the view leaves the open menu alone', async () => {
    await vsc.openContainer('DataPipeline');
    const dag = vsc.treeItem('DAGs', /^kafka_spark_pipeline$/);
    await dag.waitFor({ timeout: 30_000 });
    const tab = vsc.page.locator('.tabs-container .tab', { hasText: 'kafka_spark_dag.py' });
    const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
    await contextMenu(vsc, dag, 'Open DAG File', async () => {
      // the view polls every 10 s: the menu must survive it, and its command must still get the row
      await sleep(12_000);
      const entry = vsc.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Open DAG File' });
      assert.equal(await entry.isVisible(), true, 'the context menu is still open after a poll of the DAGs view');
    }, { clickEntry: false });
    await pickMenuEntry(vsc, vsc.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Open DAG File' }));
    await tab.waitFor({ timeout: 30_000 });
    assert.equal(await input.isVisible(), false, 'the command got the row: it did not ask which DAG');
    await vsc.page.locator('.editor-group-container.active .monaco-editor .view-lines', { hasText: 'kafka_spark_pipeline' }).waitFor({ timeout: 30_000 });
  });

  it('Trigger with Config checks the JSON and sends nothing while it is malformed', async () => {
    const client = new AirflowClient({ baseUrl: 'http://127.0.0.1:8085', username: 'admin', password: 'admin' });
    const before = (await client.listDagRuns('hello_spark_cluster')).length;
    await vsc.openContainer('DataPipeline');
    const dag = vsc.treeItem('DAGs', /^hello_spark_cluster$/);
    await dag.waitFor({ timeout: 30_000 });
    const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
    await openTriggerWithConfig(vsc, dag);
    await input.fill('{"rows": 3');
    await vsc.page.locator('.quick-input-widget .quick-input-message', { hasText: 'Not valid JSON' }).waitFor({ timeout: 10_000 });
    await vsc.page.keyboard.press('Enter');
    await vsc.screenshot('airflow-trigger-config-invalid');
    assert.equal(await input.isVisible(), true, 'the input stays open while the JSON is malformed');
    await vsc.escape();
    await new Promise((r) => setTimeout(r, 2000)); // fixed wait: that no run appears for a while is the check
    assert.equal((await client.listDagRuns('hello_spark_cluster')).length, before, 'no run was triggered');
  });

  const helloRun = { runId: '' };
  it('Trigger with Config sends a valid config as the run conf and offers it again next time', async () => {
    const client = new AirflowClient({ baseUrl: 'http://127.0.0.1:8085', username: 'admin', password: 'admin' });
    const marker = `e2e-${process.pid}-${Date.now()}`;
    const configText = `{"e2e_marker": "${marker}", "rows": 3, "nested": {"ok": true}}`;
    await vsc.openContainer('DataPipeline');
    const dag = vsc.treeItem('DAGs', /^hello_spark_cluster$/);
    await dag.waitFor({ timeout: 30_000 });
    const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
    await openTriggerWithConfig(vsc, dag);
    await until('the input to offer {}', async () => (await input.inputValue()) === '{}', 5000);
    await input.fill(configText);
    await vsc.page.keyboard.press('Enter');
    const sent = await until('a hello_spark_cluster run carrying the config', async () => (await client.listDagRuns('hello_spark_cluster')).find((r) => r.conf?.e2e_marker === marker), { timeoutMs: 30_000, intervalMs: 1000 }).catch(async (err: Error) => {
      await vsc.screenshot('airflow-trigger-config-not-sent');
      throw new Error(`${err.message} (notifications: ${(await vsc.notifications()).join(' | ')})`);
    });
    assert.deepEqual(sent.conf, { e2e_marker: marker, rows: 3, nested: { ok: true } });
    helloRun.runId = sent.runId;
    const runsAfter = (await client.listDagRuns('hello_spark_cluster')).length;
    // next time, the same DAG offers the last config
    await openTriggerWithConfig(vsc, dag);
    await until('the last config to be offered again', async () => (await input.inputValue()) === configText, 5000);
    await vsc.screenshot('airflow-trigger-config-remembered');
    await vsc.escape();
    await sleep(1500); // fixed wait: that no run appears for a while is the check
    assert.equal((await client.listDagRuns('hello_spark_cluster')).length, runsAfter, 'Escape sends nothing');
  });

  it('Clear Task re-queues a finished task: its try number goes up and the view shows try 2', async () => {
    assert.ok(helloRun.runId, 'needs the run of the previous test');
    const client = new AirflowClient({ baseUrl: 'http://127.0.0.1:8085', username: 'admin', password: 'admin' });
    const dagId = 'hello_spark_cluster';
    const wasPaused = (await client.getDag(dagId)).isPaused;
    const task = async () => (await client.listTaskInstances(dagId, helloRun.runId)).find((t) => t.taskId === 'submit_hello_spark');
    const finished = (s?: string) => s === 'success' || s === 'failed' || s === 'upstream_failed' || s === 'skipped';
    try {
      if (wasPaused) await client.setPaused(dagId, false);
      const first = await until('the run to finish', async () => {
        const t = await task();
        return t && finished(t.state) ? t : undefined;
      }, { timeoutMs: 5 * 60_000, intervalMs: 2000 });
      assert.equal(first.tryNumber, 1);
      // and the run itself (Airflow closes it a moment after its last task)
      const runState = async () => (await client.listDagRuns(dagId)).find((r) => r.runId === helloRun.runId)?.state;
      await until('the run to close', async () => /^(success|failed)$/.test(String(await runState())), { timeoutMs: 60_000, intervalMs: 1000 });
      // a menu left open by an earlier test would swallow the clicks below
      for (let i = 0; i < 3 && (await vsc.page.locator('.context-view-block, .quick-input-widget .quick-input-box input').first().isVisible()); i++) await vsc.escape();
      await vsc.openContainer('DataPipeline');
      const dag = vsc.treeItem('DAGs', /^hello_spark_cluster$/);
      await dag.waitFor({ timeout: 30_000 });
      if ((await dag.getAttribute('aria-expanded')) !== 'true') await dag.click();
      const run = vsc.treeItem('DAGs', helloRun.runId);
      await run.waitFor({ timeout: 30_000 });
      await run.locator('.label-description', { hasText: /^(success|failed)/ }).waitFor({ timeout: 30_000 });
      if ((await run.getAttribute('aria-expanded')) !== 'true') await run.click();
      const item = vsc.treeItem('DAGs', /^submit_hello_spark$/).first();
      await item.waitFor({ timeout: 30_000 });
      await item.locator('.label-description', { hasText: /try 1/ }).waitFor({ timeout: 30_000 });
      const confirm = vsc.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Clear$/ });
      await contextMenu(vsc, item, 'Clear Task', () => confirm.waitFor({ state: 'visible', timeout: 10_000 }));
      await vsc.screenshot('airflow-clear-task-confirm');
      await confirm.click();
      // Airflow re-queues it: the state leaves the finished one and the try number goes up
      const states = new Set<string>();
      const again = await until('the try number to go up', async () => {
        const t = await task();
        states.add(String(t?.state ?? 'none'));
        return t && t.tryNumber > first.tryNumber ? t : undefined;
      }, { timeoutMs: 3 * 60_000, intervalMs: 1000, detail: () => `states seen: ${[...states].join(', ')}` });
      assert.ok(states.has('none') || states.has('queued') || states.has('scheduled') || states.has('running') || !finished(again.state), `the task left its finished state (states seen: ${[...states].join(', ')}, now ${again.state})`);
      await item.locator('.label-description', { hasText: /try 2/ }).waitFor({ timeout: 60_000 });
      await vsc.screenshot('airflow-clear-task-try2');
    } finally {
      if (wasPaused) await client.setPaused(dagId, true);
    }
  });

  it('a run row\u2019s menu command gets its row while the rows around it change (runs added under the same DAG, three times)', async () => {
    assert.ok(helloRun.runId, 'needs the run of the earlier test');
    const client = new AirflowClient({ baseUrl: 'http://127.0.0.1:8085', username: 'admin', password: 'admin' });
    const dagId = 'hello_spark_cluster';
    const wasPaused = (await client.getDag(dagId)).isPaused;
    // paused: the runs added stay queued, each one only changes the DAG's list of runs
    if (!wasPaused) await client.setPaused(dagId, true);
    const added: string[] = [];
    try {
      for (let i = 0; i < 3 && (await vsc.page.locator('.context-view-block, .quick-input-widget .quick-input-box input').first().isVisible()); i++) await vsc.escape();
      await vsc.runCommand('View: Close All Editors');
      await vsc.openContainer('DataPipeline');
      const dag = vsc.treeItem('DAGs', /^hello_spark_cluster$/);
      await dag.waitFor({ timeout: 30_000 });
      if ((await dag.getAttribute('aria-expanded')) !== 'true') await dag.click();
      const run = vsc.treeItem('DAGs', helloRun.runId);
      await run.waitFor({ timeout: 30_000 });
      if ((await run.getAttribute('aria-expanded')) === 'true') await run.click();
      const askedWhich = vsc.page.locator('.quick-input-widget .quick-input-title', { hasText: /Choose a DAG|Run view of which/ });
      for (let round = 1; round <= 3; round++) {
        const entry = vsc.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Open Run View' });
        await contextMenu(vsc, run, 'Open Run View', async () => {
          // a run added while the menu is open: the DAG's runs re-render (the view polls every 3 s now)
          const r = await client.triggerDagRun(dagId, { runId: `manual__e2e_menu_${process.pid}_${round}` });
          added.push(r.runId);
          await vsc.treeItem('DAGs', r.runId).waitFor({ timeout: 30_000 });
        }, { clickEntry: false });
        if (!(await entry.isVisible())) {
          // the workbench closed the menu as the rows re-rendered: nothing to run the command on
          console.log(`      round ${round}: the menu closed when the rows re-rendered`);
          continue;
        }
        await pickMenuEntry(vsc, entry);
        assert.equal(await askedWhich.waitFor({ timeout: 3000 }).then(() => true, () => false), false, `round ${round}: the command got its row (it did not ask which DAG or run)`);
        await vsc.webviewFrame({ containsText: `${dagId} · ${helloRun.runId}`, timeoutMs: 60_000 });
        await vsc.runCommand('View: Close All Editors');
      }
    } finally {
      for (const runId of added) await fetch(`http://127.0.0.1:8085/api/v1/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`, { method: 'DELETE', headers: { authorization: 'Basic ' + Buffer.from('admin:admin').toString('base64') } }).catch(() => undefined);
      if (!wasPaused) await client.setPaused(dagId, false);
    }
  });

  it('Connections & Variables: the stack\u2019s connection without a password; a secret variable added masked, a connection from its URI, one deleted, by keyboard and menus', async () => {
    const { endpoints } = await ensureNativeStack(['kafka', 'spark', 'airflow']);
    const client = new AirflowClient({ baseUrl: endpoints.airflowUrl, username: 'admin', password: 'admin' });
    const variable = 'e2e_orders_api_token';
    const connection = 'e2e_orders_db';
    try {
      await vsc.openContainer('DataPipeline');
      // the DAGs view gets the room (the runs the tests before expanded are collapsed)
      for (const other of ['Stack', 'Topics', 'Spark Applications']) await vsc.collapseView(other);
      await vsc.expandView('DAGs');
      const header = vsc.view('DAGs').locator('.pane-header');
      await header.hover();
      await header.locator('.action-label[aria-label="Collapse All"]').click();
      // by keyboard: the node is the view's last row (End), expanded with the right arrow
      await vsc.view('DAGs').locator('.monaco-list-row[role="treeitem"]').first().click();
      await vsc.page.keyboard.press('End');
      const node = vsc.treeItem('DAGs', /^Connections & Variables$/);
      await node.waitFor({ timeout: 60_000 });
      await until('the node to have the focus', async () => (await node.getAttribute('class'))?.includes('focused') ?? false, { timeoutMs: 10_000 });
      await vsc.page.keyboard.press('ArrowRight');
      const spark = vsc.treeItem('DAGs', /^spark_cluster$/);
      await spark.waitFor({ timeout: 30_000 });
      assert.equal((await spark.locator('.label-description').innerText()).trim(), `spark://${endpoints.sparkMasterUrl}`, 'the stack\u2019s master, in Airflow\u2019s URI form');
      const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
      const title = (t: string) => vsc.page.locator('.quick-input-widget .quick-input-title', { hasText: t });

      // a variable named like a secret: typed hidden, shown masked
      await contextMenu(vsc, vsc.treeItem('DAGs', /^Variables \(\d+\)$/), /^Add Airflow Connection, Variable or Pool/, () => title('New variable').waitFor({ timeout: 10_000 }));
      await input.fill(variable);
      await vsc.page.keyboard.press('Enter');
      await title(`Variable ${variable}`).waitFor({ timeout: 10_000 });
      assert.equal(await input.getAttribute('type'), 'password', 'a secret is typed hidden');
      await input.fill('hunter2');
      await vsc.page.keyboard.press('Enter');
      const varRow = vsc.treeItem('DAGs', new RegExp(`^${variable}$`));
      await varRow.waitFor({ timeout: 30_000 });
      assert.equal((await varRow.locator('.label-description').innerText()).trim(), '\u2022'.repeat(6));
      assert.equal(((await client.request('GET', `/variables/${variable}`)) as { value: string }).value, 'hunter2');

      // a connection from its URI: the row shows it without the password
      await contextMenu(vsc, vsc.treeItem('DAGs', /^Connections \(\d+\)$/), /^Add Airflow Connection, Variable or Pool/, () => title('New connection').waitFor({ timeout: 10_000 }));
      await input.fill(connection);
      await vsc.page.keyboard.press('Enter');
      await title(`Connection ${connection}`).waitFor({ timeout: 10_000 });
      await input.fill('localhost:5432');
      await vsc.page.locator('.quick-input-widget .quick-input-message', { hasText: 'starts with the connection type' }).waitFor({ timeout: 10_000 });
      await input.fill('postgres://orders:s3cr%40t@127.0.0.1:5432/orders?sslmode=disable');
      await vsc.page.keyboard.press('Enter');
      const connRow = vsc.treeItem('DAGs', new RegExp(`^${connection}$`));
      await connRow.waitFor({ timeout: 30_000 });
      assert.equal((await connRow.locator('.label-description').innerText()).trim(), 'postgres://orders@127.0.0.1:5432/orders');
      assert.equal(await vsc.view('DAGs').getByText(/s3cr|hunter2/).count(), 0, 'no secret is on screen');
      await vsc.screenshot('airflow-connections-variables');
      const stored = (await client.request('GET', `/connections/${connection}`)) as { login: string; host: string; port: number; schema: string };
      assert.deepEqual([stored.login, stored.host, stored.port, stored.schema], ['orders', '127.0.0.1', 5432, 'orders']);

      // deleted from its menu, after the confirmation
      await contextMenu(vsc, varRow, /^Delete/, () => vsc.page.locator('.monaco-dialog-box', { hasText: `Delete variable "${variable}" from Airflow?` }).waitFor({ timeout: 10_000 }));
      await vsc.page.locator('.monaco-dialog-box').getByRole('button', { name: 'Delete' }).click();
      await varRow.waitFor({ state: 'detached', timeout: 30_000 });
      await assert.rejects(client.request('GET', `/variables/${variable}`), /not found|404/i);
    } finally {
      await client.request('DELETE', `/variables/${variable}`).catch(() => undefined);
      await client.request('DELETE', `/connections/${connection}`).catch(() => undefined);
    }
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

describe('Airflow: a 401 asks for the password once', function () {
  this.timeout(8 * 60_000);
  const username = `dp_e2e_${process.pid}`;
  const password = `pw-${crypto.randomBytes(9).toString('base64url')}`;
  let vsc: VsCodeSession;
  let backend: Awaited<ReturnType<typeof ensureNativeStack>>['backend'];

  before(async () => {
    ({ backend } = await ensureNativeStack(['airflow']));
    const r = await backend.airflowCli(['users', 'create', '--username', username, '--password', password, '--firstname', 'E2E', '--lastname', 'User', '--role', 'Viewer', '--email', `${username}@example.org`]);
    assert.equal(r.code, 0, `airflow users create: ${r.stderr.slice(-2000)}`);
    vsc = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack'), settings: { 'datapipeline.airflow.username': username } });
  });

  after(async () => {
    await vsc?.close();
    await backend?.airflowCli(['users', 'delete', '--username', username]).catch(() => undefined);
  });

  it('a user with no password yet is asked first; a wrong one is refused (401) and asked once more; the right one is stored and the DAGs view loads', async () => {
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('DAGs');
    const widget = vsc.page.locator('.quick-input-widget', { hasText: `Airflow password for ${username}` });
    const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
    await widget.waitFor({ state: 'visible', timeout: 60_000 });
    // the bundled admin password is the admin's: another user of the stack is asked before anything is sent
    await vsc.treeItem('DAGs', /needs a password — Enter Password$/).waitFor({ timeout: 30_000 });
    assert.equal(await input.getAttribute('type'), 'password', 'the input hides the password');
    await input.fill(`${password}-wrong`);
    await vsc.page.keyboard.press('Enter');
    await vsc.treeItem('DAGs', 'Airflow rejected the credentials — Enter Password').waitFor({ timeout: 60_000 });
    await widget.waitFor({ state: 'visible', timeout: 60_000 });
    await vsc.screenshot('airflow-password-prompt');
    await input.fill(password);
    await vsc.page.keyboard.press('Enter');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 60_000 });
    await vsc.treeItem('DAGs', /^hello_spark_cluster$/).waitFor({ timeout: 30_000 });
    await sleep(12_000); // one more poll of the view: no further prompt
    assert.equal(await vsc.page.locator('.quick-input-widget').isVisible(), false, 'asked only once after the 401');
    await vsc.screenshot('airflow-password-accepted');
    // stored in SecretStorage: a reloaded window loads the DAGs without asking
    await vsc.page.reload();
    await vsc.waitForWorkbench();
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('DAGs');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 60_000 });
    assert.equal(await vsc.page.locator('.quick-input-widget').isVisible(), false, 'no prompt after a reload');
  });
});

describe('Airflow: a server that is not the stack’s own gets no password until one is entered for it', function () {
  this.timeout(8 * 60_000);
  let vsc: VsCodeSession;
  let proxy: http.Server;
  const seen: Array<{ path: string; auth?: string }> = [];

  before(async () => {
    await ensureNativeStack(['airflow']);
    // another URL for the real Airflow (as a workspace's settings could point anywhere): a pass-through that notes what is sent
    proxy = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      const up = http.request({ host: '127.0.0.1', port: 8085, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    vsc = await VsCodeSession.start({ workspace: path.join(repoRoot, 'stack'), settings: { 'datapipeline.airflow.url': `http://127.0.0.1:${port}` } });
  });

  after(async () => {
    await vsc?.close();
    proxy?.close();
  });

  it('asks for the password of admin at that URL before sending any; what is typed is what it gets', async () => {
    const port = (proxy.address() as { port: number }).port;
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('DAGs');
    const widget = vsc.page.locator('.quick-input-widget', { hasText: `Airflow password for admin at http://127.0.0.1:${port}` });
    await widget.waitFor({ state: 'visible', timeout: 60_000 });
    await vsc.treeItem('DAGs', `Airflow at http://127.0.0.1:${port} needs a password — Enter Password`).waitFor({ timeout: 30_000 });
    await vsc.screenshot('airflow-new-server-asks');
    assert.ok(seen.length > 0, 'the server was reached (its health, which needs no password)');
    assert.deepEqual(seen.filter((r) => r.auth), [], 'no credentials were sent before the user entered them');
    await vsc.page.locator('.quick-input-widget .quick-input-box input').fill('admin');
    await vsc.page.keyboard.press('Enter');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 60_000 });
    const sent = [...new Set(seen.map((r) => r.auth).filter(Boolean))];
    assert.deepEqual(sent, [`Basic ${Buffer.from('admin:admin').toString('base64')}`], 'only what was typed for this server');
  });
});
