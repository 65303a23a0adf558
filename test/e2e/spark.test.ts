/**
 * Submit Spark Job in a real VS Code (code-server + Chromium) against the shared native stack:
 * right-click scripts/hello_spark.py in the Explorer → Submit Spark Job → Submit; the driver
 * output (banner and DataFrame table) shows in the DataPipeline terminal, a notification reports
 * the exit status, and the application appears in the Spark Applications view.
 *
 * The packaged extension runs as users get it: its environment has no DATAPIPELINE_* variable,
 * and it finds the stack the harness (like `npm run stack -- up`) started by the default cache.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SparkJob } from '../../src/services/spark/sparkJob';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { cacheDir, stateDir } from '../../src/services/util/paths';
import { ensureNativeStack, type NativeStack, releaseNativeStack, repoRoot } from '../integration/harness';
import { startJob } from '../integration/lib/sparkJobs';
import { asInstalledEnv, sleep, VsCodeSession } from './lib/codeServer';
import { readTerminal } from './lib/terminal';
import { contextMenu, pickMenuEntry } from './lib/menus';
import { until } from '../lib/until';
import { finalAppState } from '../lib/sparkApps';


describe('Spark: Submit Spark Job from the Explorer in a real VS Code', function () {
  this.timeout(600_000);
  let vsc: VsCodeSession | undefined;
  let workspace: string;
  let home: string | undefined;
  let stack: NativeStack;

  before(async function () {
    this.timeout(900_000);
    stack = await ensureNativeStack(['kafka', 'spark']);
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-spark-e2e-'));
    fs.mkdirSync(path.join(workspace, 'scripts'));
    fs.copyFileSync(path.join(repoRoot, 'stack', 'scripts', 'hello_spark.py'), path.join(workspace, 'scripts', 'hello_spark.py'));
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-spark-e2e-home-'));
    vsc = await VsCodeSession.start({
      workspace,
      // no DATAPIPELINE_* variable: the extension finds the harness's stack by its default cache
      env: asInstalledEnv(home, cacheDir(), stateDir()),
      settings: {
        'datapipeline.stack.backend': 'native',
        // DOM renderer: the terminal's text is in the page, readable like a user reads it
        'terminal.integrated.gpuAcceleration': 'off',
      },
    });
  });

  after(async () => {
    await vsc?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
    if (home) fs.rmSync(home, { recursive: true, force: true });
    await releaseNativeStack();
  });

  it('right-click hello_spark.py → Submit Spark Job streams the output and lists the application', async () => {
    const s = vsc!;
    const page = s.page;
    await s.openContainer('Explorer');
    const row = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${name.replace('.', '\\.')}$`) }) });
    await row('scripts').click();
    await row('hello_spark.py').waitFor({ state: 'visible', timeout: 30_000 });
    const menuItem = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Submit Spark Job' }).first();
    // the workbench may still be settling (activation, explorer refresh) and close the first menu
    for (let attempt = 1; ; attempt++) {
      await row('hello_spark.py').click({ button: 'right' });
      const shown = await menuItem.waitFor({ state: 'visible', timeout: 5_000 }).then(
        () => true,
        () => false,
      );
      if (shown) break;
      if (attempt === 5) {
        await s.screenshot('spark-explorer-context-menu-missing');
        assert.fail('the Explorer context menu of hello_spark.py never showed "Submit Spark Job"');
      }
      await s.escape();
      await sleep(1000); // let the settling workbench close the menu before the next right-click (bounded retries)
    }
    await s.screenshot('spark-explorer-context-menu');
    await menuItem.click();

    // the quick form: defaults are fine, pick "Submit"
    const submit = page.locator('.quick-input-widget .monaco-list-row', { has: page.locator('.label-name', { hasText: /^\s*Submit\s*$/ }) }).first();
    await submit.waitFor({ state: 'visible', timeout: 15_000 });
    await s.screenshot('spark-submit-form');
    await submit.click();

    // the exit status notification
    const status = await until('the exit status notification', async () => (await s.notifications()).find((n) => /Spark job hello_spark\.py /.test(n)), { timeoutMs: 180_000, intervalMs: 500 });
    assert.match(status, /Spark job hello_spark\.py finished \(app-\d{14}-\d{4,}\)/, `notifications: ${JSON.stringify(await s.notifications())}`);
    const appId = /(app-\d{14}-\d{4,})/.exec(status)![1];

    // the driver output in the DataPipeline terminal
    await s.screenshot('spark-driver-output');
    const terminalText = await readTerminal(s, { text: '|Hello|    1|', name: 'spark-driver-output-table' });
    assert.ok(terminalText.includes('HELLO WORLD FROM SPARK CLUSTER'), `terminal shows:\n${terminalText.slice(-3000)}`);
    assert.ok(terminalText.includes('|Hello|    1|'), `terminal shows:\n${terminalText.slice(-3000)}`);
    assert.ok(terminalText.includes(`spark-submit finished · ${appId}`), `terminal shows:\n${terminalText.slice(-3000)}`);

    // the application in the Spark Applications view, completed and FINISHED
    await s.openContainer('DataPipeline');
    await s.expandView('Spark Applications');
    const app = s.treeItem('Spark Applications', 'HelloSparkCluster').filter({ hasText: appId });
    await app.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await app.innerText(), /FINISHED/);
    await s.screenshot('spark-view-application');
  });

  it('Kill Spark Application from the palette lists the running application, asks, and kills it', async () => {
    const s = vsc!;
    const client = new SparkMasterClient(stack.endpoints.sparkUiUrl);
    const file = path.join(workspace, 'scripts', 'kill_me.py');
    // a name full of Markdown: the view's tooltip must show it as text (no link, no image fetched)
    const hostile = 'DataPipelineE2EKillMe **bold** [link](command:workbench.action.quit) ![img](http://127.0.0.1:9/x.png)';
    fs.writeFileSync(file, ['import time', 'from pyspark.sql import SparkSession', `spark = SparkSession.builder.appName(${JSON.stringify(hostile)}).getOrCreate()`, 'time.sleep(600)', ''].join('\n'));
    const job = new SparkJob(stack.backend, client, { file });
    const { run, appId: announced } = startJob(job);
    try {
      const appId = await announced;
      await until(`${appId} to be running`, async () => (await client.status()).activeApps.some((a) => a.id === appId), 60_000);
      await s.runCommand('DataPipeline: Kill Spark Application…');
      const row = s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: appId });
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await row.innerText(), /DataPipelineE2EKillMe/);
      await s.screenshot('spark-kill-pick');
      await row.click();
      const confirm = s.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Kill$/ });
      await confirm.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await s.page.locator('.monaco-dialog-box').innerText(), new RegExp(`DataPipelineE2EKillMe.*${appId}`));
      await confirm.click();
      const state = await finalAppState(client, appId);
      assert.equal(state, 'KILLED', 'the master lists the application KILLED');
      await s.openContainer('DataPipeline');
      await s.expandView('Spark Applications');
      const killed = s.treeItem('Spark Applications', 'DataPipelineE2EKillMe').filter({ hasText: 'KILLED' }).filter({ hasText: appId });
      await killed.waitFor({ timeout: 30_000 });
      await s.screenshot('spark-kill-done');
      // its tooltip shows the name as the text it is
      await killed.hover();
      const hover = s.page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'DataPipelineE2EKillMe' }).first();
      await hover.waitFor({ state: 'visible', timeout: 15_000 });
      assert.ok((await hover.innerText()).includes(hostile), `tooltip: ${await hover.innerText()}`);
      assert.equal(await hover.locator('img, a[href]').count(), 0, 'no image and no link in the tooltip');
      await s.screenshot('spark-tooltip-as-text');
    } finally {
      await job.cancel();
      await run.catch(() => undefined);
    }
  });
  it('the Spark view ticks a running application’s duration in place: a context menu open on its row stays open, and Kill gets that application', async () => {
    const s = vsc!;
    const client = new SparkMasterClient(stack.endpoints.sparkUiUrl);
    const file = path.join(workspace, 'scripts', 'tick_me.py');
    fs.writeFileSync(file, ['import time', 'from pyspark.sql import SparkSession', 'spark = SparkSession.builder.appName("DataPipelineE2ETickMe").getOrCreate()', 'time.sleep(600)', ''].join('\n'));
    const job = new SparkJob(stack.backend, client, { file });
    const { run, appId: announced } = startJob(job);
    try {
      const appId = await announced;
      await s.openContainer('DataPipeline');
      await s.expandView('Spark Applications');
      const row = s.treeItem('Spark Applications', 'DataPipelineE2ETickMe').filter({ hasText: appId });
      await row.waitFor({ timeout: 60_000 });
      const before = (await row.innerText()).replace(/\s+/g, ' ');
      const entry = s.page.locator('.context-view .monaco-menu .action-label', { hasText: 'Kill Spark Application' });
      await contextMenu(s, row, 'Kill Spark Application', async () => {
        await sleep(3500); // three ticks of the running duration
        assert.equal(await entry.isVisible(), true, 'the context menu is still open while the row ticks');
      }, { clickEntry: false });
      const after = (await row.innerText()).replace(/\s+/g, ' ');
      assert.notEqual(after, before, `the duration ticked: "${before}" → "${after}"`);
      await pickMenuEntry(s, entry);
      const confirm = s.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Kill$/ });
      await confirm.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await s.page.locator('.monaco-dialog-box').innerText(), new RegExp(`DataPipelineE2ETickMe.*${appId}`), 'the command got the row: it asks about this application');
      await confirm.click();
      const state = await finalAppState(client, appId);
      assert.equal(state, 'KILLED');
    } finally {
      await job.cancel();
      await run.catch(() => undefined);
    }
  });
});
