/**
 * Your own project with a compose file of its own, Docker backend, in a real VS Code (issue #27): the
 * root-layout fixture (Airflow, Spark, Kafka and Metabase images named by tag) opened as the
 * workspace. Start Stack asks once which stack runs and keeps the answer as the workspace's setting;
 * its own compose file, as it is, needs images no registry here serves: each is named with the
 * services that need it, and nothing starts. The project's files are not changed (the answer is
 * the workspace's .vscode/settings.json, VS Code's place for it).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDocker, removeProject } from '../docker/harness';
import { repoRoot } from '../integration/harness';
import { VsCodeSession } from './lib/codeServer';
import { until } from '../lib/until';

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'projects', 'root-layout');
const PROJECT = 'datapipeline';

describe('your own project with its own compose file, Docker backend, in a real VS Code', function () {
  this.timeout(10 * 60_000);
  let vsc: VsCodeSession | undefined;
  let work: string;
  let project: string;

  before(async function () {
    this.timeout(10 * 60_000);
    await ensureDocker();
    await removeProject(PROJECT);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-project-docker-e2e-'));
    project = path.join(work, 'orders pipeline');
    fs.cpSync(FIXTURE, project, { recursive: true });
    vsc = await VsCodeSession.start({
      workspace: project,
      // the project's .env puts Airflow on 8080, which the shared native stack's Spark UI may hold: the environment wins over .env, as in compose
      env: { AIRFLOW_PORT: '18093' },
      settings: { 'datapipeline.stack.backend': 'docker', 'datapipeline.docker.composeCommand': 'docker-compose' },
    });
  });

  after(async () => {
    await vsc?.close();
    await removeProject(PROJECT);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('Start Stack asks once which stack runs (Cancel starts nothing), keeps "Its Own Compose File" as the workspace setting, and names each image that cannot be pulled with its services', async () => {
    const s = vsc!;
    const workspaceSettings = path.join(project, '.vscode', 'settings.json');
    const files = () => fs.readdirSync(project, { recursive: true }).map(String).filter((f) => !f.startsWith('.vscode')).sort();
    const before = files();
    await s.openContainer('DataPipeline');
    const dialog = s.page.locator('.monaco-dialog-box', { hasText: 'Which stack should Start Stack run?' });

    await s.runCommand('DataPipeline: Start Stack');
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /has a compose file of its own \(docker-compose\.yaml\)/);
    await s.screenshot('project-docker-which-stack');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(fs.existsSync(workspaceSettings) && /datapipeline\.project\.stack/.test(fs.readFileSync(workspaceSettings, 'utf8')), false, 'Cancel keeps no answer');

    await s.runCommand('DataPipeline: Start Stack');
    await dialog.waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Its Own Compose File' }).click();
    await until('the answer in the workspace settings', () => fs.existsSync(workspaceSettings) && /"datapipeline\.project\.stack":\s*"own"/.test(fs.readFileSync(workspaceSettings, 'utf8')), { timeoutMs: 30_000 });
    const error = s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'cannot be pulled' });
    await error.first().waitFor({ timeout: 3 * 60_000 });
    const text = await error.first().innerText();
    for (const named of ['postgres:13 (postgres)', 'bitnami/spark:3.5.0 (spark-master, spark-worker)', 'apache/airflow:2.8.1-python3.11 (airflow-webserver, airflow-scheduler)', 'metabase/metabase:v0.49.0 (metabase)']) {
      assert.ok(text.includes(named), `${named} in: ${text}`);
    }
    assert.match(text, /nothing was started/);
    await s.screenshot('project-docker-images-not-pulled');

    // asked once: the next Start Stack goes straight to the project's compose file
    await s.runCommand('Notifications: Clear All Notifications');
    await until('the notifications cleared', async () => (await error.count()) === 0, { timeoutMs: 10_000 });
    await s.runCommand('DataPipeline: Start Stack');
    await error.first().waitFor({ timeout: 3 * 60_000 });
    assert.equal(await dialog.count(), 0, 'not asked again');
    assert.deepEqual(files(), before, 'the project\u2019s files are as they were');
  });
});
