/**
 * Start Stack on the Docker backend with the bundled compose stack, in a real VS Code
 * (code-server + Chromium) and a real dockerd, as a user with Docker gets it: the workspace holds
 * the stack (Add Stack to Workspace's copy, on ports moved off the defaults in its .env), the user
 * clicks Start Stack, the Stack view shows every service healthy (Kafka UI, whose image cannot be
 * pulled here, in one line), and Trigger Streaming DAG opens the output viewer with the three
 * adults. Images come from the docker test stage when it ran first (same daemon data), otherwise
 * Start Stack builds them.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../../src/services/docker/compose';
import { ensureBaseImage, removeProject } from '../docker/harness';
import { repoRoot, VsCodeSession } from './lib/codeServer';
import { outputViewerPeople } from './lib/outputViewer';
import { until } from '../lib/until';

const PROJECT = 'datapipeline';
const PORTS = { KAFKA_PORT: '23092', SPARK_MASTER_PORT: '23077', SPARK_MASTER_UI_PORT: '23080', AIRFLOW_PORT: '23085', KAFKA_UI_PORT: '23090', LINEAGE_PORT: '23055', AIRFLOW_DEBUG_PORT: '23079' };

describe('Start Stack on the Docker backend (the bundled stack) in a real VS Code', function () {
  this.timeout(45 * 60_000);
  let vsc: VsCodeSession | undefined;
  let workspace: string;
  let stackDir: string;
  let hostileMarker: string;

  const down = async () => {
    if (stackDir) await run(['docker', 'compose', '-p', PROJECT, '--profile', 'kafka-ui', 'down', '-v', '--remove-orphans'], { cwd: stackDir });
    await removeProject(PROJECT);
  };

  before(async function () {
    await ensureBaseImage();
    await removeProject(PROJECT);
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-docker-e2e-'));
    stackDir = path.join(workspace, 'stack');
    fs.cpSync(path.join(repoRoot, 'stack'), stackDir, { recursive: true, filter: (src) => !/__pycache__|[/\\](logs|checkpoints)$/.test(src) });
    // the user's own stack: its .env moves the ports (a native stack may hold the defaults)
    fs.appendFileSync(path.join(stackDir, '.env'), `\n# e2e\n${Object.entries(PORTS).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
    // the repository also carries a hostile settings file: its compose command would leave a marker
    hostileMarker = path.join(workspace, 'hostile-compose-ran');
    fs.mkdirSync(path.join(workspace, '.vscode'));
    fs.writeFileSync(
      path.join(workspace, '.vscode', 'settings.json'),
      JSON.stringify({ 'datapipeline.docker.composeCommand': `node -e require('fs').writeFileSync('${hostileMarker}','ran')` }),
    );
    vsc = await VsCodeSession.start({
      workspace,
      settings: {
        'datapipeline.stack.backend': 'docker',
        // this machine's TLS-intercepting proxy, for a build Start Stack may run
        'datapipeline.docker.extraCaFile': '/etc/ssl/certs/ca-certificates.crt',
      },
      env: { DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? '0' },
    });
  });

  after(async function () {
    this.timeout(300_000);
    await vsc?.close();
    await down();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('Start Stack brings every service healthy in the Stack view, Kafka UI left out in one line, and the status bar counts them', async function () {
    const s = vsc!;
    await s.openContainer('DataPipeline');
    // the Stack view gets the room: its Project node and every service show without scrolling
    for (const v of ['DAGs', 'Topics', 'Spark Applications']) await s.collapseView(v);
    await s.view('Stack').locator('.welcome-view-content .monaco-button', { hasText: 'Start Stack' }).click({ timeout: 60_000 });
    for (const [service, state] of [
      ['postgres', 'healthy'],
      ['kafka', 'healthy'],
      ['spark-master', 'healthy'],
      ['spark-worker', 'healthy'],
      ['lineage', 'healthy'],
      ['airflow-init', 'completed'],
      ['airflow-webserver', 'healthy'],
      ['airflow-scheduler', 'healthy'],
    ] as const) {
      await s.treeItem('Stack', new RegExp(`^${service}$`)).locator('.label-description', { hasText: new RegExp(`^${state}`) }).waitFor({ timeout: 30 * 60_000 });
    }
    const ui = s.treeItem('Stack', /^kafka-ui$/).locator('.label-description');
    assert.equal((await ui.innerText()).trim(), 'stopped · image kafbat/kafka-ui:v1.3.0 not available; the rest of the stack runs');
    await s.page.locator('.part.statusbar .statusbar-item', { hasText: 'DataPipeline: 8/8 running' }).waitFor({ timeout: 60_000 });
    await s.screenshot('docker-stack-healthy');
    // Start Stack ran compose many times: never the workspace's own compose command
    assert.equal(fs.existsSync(hostileMarker), false, 'the compose command from the workspace settings ran');
  });

  it('Trigger Streaming DAG opens the output viewer with Alice, Charlie and Eve', async function () {
    const s = vsc!;
    await s.runCommand('DataPipeline: Trigger Streaming DAG');
    const frame = await s.webviewFrame({ containsSelector: '#messages', timeoutMs: 20 * 60_000 });
    await frame.locator('#run-state', { hasText: 'Run success' }).waitFor({ timeout: 60_000 });
    const people = await outputViewerPeople(frame);
    await s.screenshot('docker-stack-output-viewer');
    assert.deepEqual(people.sort(), ['Alice 25 Alice from NYC is an adult', 'Charlie 30 Charlie from Chicago is an adult', 'Eve 22 Eve from Seattle is an adult']);
  });

  it('in a folder without the stack, Open DAG File warns that the extension’s own copy loses edits, and Add Stack to Workspace opens the DAG from the user’s copy', async function () {
    // another window on the same running stack, its folder holding no stack: the DAG's server path
    // (/opt/airflow/dags/…) maps to the extension's bundled files
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-no-stack-e2e-'));
    const other = await VsCodeSession.start({ workspace: bare, settings: { 'datapipeline.stack.backend': 'docker', 'datapipeline.airflow.url': `http://127.0.0.1:${PORTS.AIRFLOW_PORT}` } });
    try {
      await other.runCommand('DataPipeline: Open DAG File');
      const input = other.page.locator('.quick-input-widget .quick-input-box input');
      // this window's own stack would be on the default port: that URL is another server to it, so it asks first
      await other.page.locator('.quick-input-widget', { hasText: `Airflow password for admin at http://127.0.0.1:${PORTS.AIRFLOW_PORT}` }).waitFor({ timeout: 60_000 });
      await input.fill('admin');
      await other.page.keyboard.press('Enter');
      await other.page.locator('.quick-input-widget', { hasText: 'Choose a DAG' }).waitFor({ timeout: 60_000 });
      await input.fill('kafka_spark_pipeline');
      await other.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: /^kafka_spark_pipeline/ }).first().waitFor({ timeout: 60_000 });
      await other.page.keyboard.press('Enter');
      const toast = other.page.locator('.notifications-toasts .notification-toast', { hasText: /is in DataPipeline's own copy of the stack: edits there are lost when the extension updates/ });
      await toast.waitFor({ timeout: 30_000 });
      assert.equal(await other.page.locator('.tabs-container .tab', { hasText: 'kafka_spark_dag.py' }).count(), 0, 'nothing opened for editing in the extension’s folder');
      await other.screenshot('docker-dag-in-extension-folder');
      await toast.getByRole('button', { name: 'Add Stack to Workspace' }).click();
      await other.page.locator('.tabs-container .tab', { hasText: 'kafka_spark_dag.py' }).waitFor({ timeout: 30_000 });
      const copy = path.join(bare, 'stack', 'dags', 'kafka_spark_dag.py');
      assert.ok(fs.existsSync(copy), 'the stack was copied into the folder');
      // the editor holds the user's copy: an edit saved there lands in that file
      await other.page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
      await other.page.keyboard.press('Control+End');
      await other.page.keyboard.type('\n# edited in e2e\n');
      await other.page.keyboard.press('Control+S');
      await until('the edit to be saved in the user\u2019s copy', () => fs.readFileSync(copy, 'utf8').includes('# edited in e2e'), { timeoutMs: 10_000, intervalMs: 200 }).catch(() => undefined);
      assert.match(fs.readFileSync(copy, 'utf8'), /# edited in e2e/);
    } finally {
      await other.close();
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });
});
