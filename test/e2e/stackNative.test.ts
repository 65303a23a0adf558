/**
 * The Stack view and status bar with the native backend in a real VS Code (code-server +
 * Chromium), on the shared native stack (Kafka, Spark, Airflow as local processes): one item per
 * service with its health, its ports as children, the status bar count. (Nothing is restarted
 * here: the native stack is shared with other suites.)
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, stateDir } from '../../src/services/util/paths';
import { ensureNativeStack, releaseNativeStack } from '../integration/harness';
import { VsCodeSession } from './lib/codeServer';

describe('Stack view with the native backend in a real VS Code', function () {
  this.timeout(600_000);
  let vsc: VsCodeSession | undefined;
  let workspace: string;

  before(async function () {
    this.timeout(1_200_000);
    await ensureNativeStack(['kafka', 'spark', 'airflow']);
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-stack-native-e2e-'));
    vsc = await VsCodeSession.start({
      workspace,
      env: { DATAPIPELINE_CACHE: cacheDir(), DATAPIPELINE_STATE: stateDir() },
      settings: { 'datapipeline.stack.backend': 'native' },
    });
  });

  after(async () => {
    await vsc?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
    await releaseNativeStack();
  });

  it('lists every native service healthy with its ports, and the status bar says 7/7 running', async () => {
    const s = vsc!;
    await s.openContainer('DataPipeline');
    // the Stack view gets the room: its Project node and every service show without scrolling
    for (const v of ['DAGs', 'Topics', 'Spark Applications']) await s.collapseView(v);
    for (const service of ['kafka', 'spark-master', 'spark-worker', 'lineage', 'postgres', 'airflow-webserver', 'airflow-scheduler']) {
      await s.treeItem('Stack', new RegExp(`^${service}$`)).locator('.label-description', { hasText: /^healthy/ }).waitFor({ timeout: 60_000 });
    }
    await s.treeItem('Stack', /^airflow-webserver$/).click(); // expands it: its ports are its children
    const airflowUi = s.treeItem('Stack', /^Airflow UI$/);
    await airflowUi.waitFor({ timeout: 10_000 });
    assert.equal((await airflowUi.locator('.label-description').innerText()).trim(), '127.0.0.1:8085');
    await s.page.locator('.part.statusbar .statusbar-item', { hasText: 'DataPipeline: 7/7 running' }).waitFor({ timeout: 30_000 });
    await s.screenshot('stack-native-view');
  });

  it('Add Stack to Workspace copies the bundled stack into the workspace, and refuses to overwrite it', async () => {
    const s = vsc!;
    await s.runCommand('DataPipeline: Add Stack to Workspace');
    await s.page.locator('.notifications-toasts', { hasText: /the stack is now in stack/ }).waitFor({ timeout: 30_000 });
    for (const f of ['docker-compose.yaml', '.env', 'dags/hello_spark_dag.py', 'scripts/hello_spark.py', 'airflow/init.sh']) {
      assert.ok(fs.existsSync(path.join(workspace, 'stack', f)), `${f} was not copied`);
    }
    await s.screenshot('stack-added-to-workspace');
    await s.runCommand('DataPipeline: Add Stack to Workspace');
    await s.page.locator('.notifications-toasts', { hasText: /already exists; the stack is used from there/ }).waitFor({ timeout: 30_000 });
  });
});
