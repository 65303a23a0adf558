/**
 * Start Stack in a real VS Code (code-server + Chromium) with the Docker backend on the fixture
 * compose project (busybox FROM scratch, real dockerd), as a user would: the workspace holds the
 * project as stack/, the user clicks Start Stack, the Stack view shows every service healthy with
 * its UI port, the status bar says "DataPipeline: 4/4 running"; Stop Stack brings the welcome back.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDocker, PROJECT_DIR, removeProject } from '../docker/harness';
import { VsCodeSession } from './lib/codeServer';

// The extension's fixed compose project name.
const PROJECT = 'datapipeline';
const WEB_PORT = 18091;

describe('Stack view: Start Stack with the Docker backend in a real VS Code', function () {
  this.timeout(300_000);
  let vsc: VsCodeSession | undefined;
  let workspace: string;

  before(async function () {
    this.timeout(600_000);
    await ensureDocker();
    await removeProject(PROJECT);
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-stack-e2e-'));
    fs.cpSync(PROJECT_DIR, path.join(workspace, 'stack'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'stack', '.env'), `WEB_PORT=${WEB_PORT}\n`);
    vsc = await VsCodeSession.start({
      workspace,
      settings: { 'datapipeline.stack.backend': 'docker', 'datapipeline.docker.composeCommand': 'docker-compose' },
    });
  });

  after(async () => {
    await vsc?.close();
    await removeProject(PROJECT);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('Start Stack shows every service healthy in the Stack view, with its UI port, and the status bar count', async () => {
    const s = vsc!;
    await s.openContainer('DataPipeline');
    await s.page.locator('.part.statusbar .statusbar-item', { hasText: 'DataPipeline: stopped' }).waitFor({ timeout: 60_000 });
    const stackView = s.view('Stack');
    await stackView.locator('.welcome-view-content .monaco-button', { hasText: 'Start Stack' }).click({ timeout: 30_000 });
    for (const [service, state] of [
      ['web', 'healthy'],
      ['spark-master', 'healthy'],
      ['worker', 'running'],
      ['init', 'completed'],
    ] as const) {
      await s.treeItem('Stack', new RegExp(`^${service}$`)).locator('.label-description', { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout: 120_000 });
    }
    await s.treeItem('Stack', /^web$/).click(); // expands it: its ports are its children
    const port = s.treeItem('Stack', /^Web UI$/);
    await port.waitFor({ timeout: 10_000 });
    assert.equal((await port.locator('.label-description').innerText()).trim(), `127.0.0.1:${WEB_PORT}`);
    const status = s.page.locator('.part.statusbar .statusbar-item', { hasText: 'DataPipeline: 4/4 running' });
    await status.waitFor({ timeout: 30_000 });
    await s.page.locator('.notifications-toasts', { hasText: 'stack started (4/4 running)' }).waitFor({ timeout: 30_000 });
    // datapipeline.stackRunning is true: the view's title bar offers Stop, not Start
    await stackView.locator('.pane-header .action-label[aria-label="Stop Stack"]').waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(await stackView.locator('.pane-header .action-label[aria-label="Start Stack"]').count(), 0);
    await s.screenshot('stack-docker-all-healthy');
    const res = await fetch(`http://127.0.0.1:${WEB_PORT}/`);
    assert.match(await res.text(), /DataPipeline fixture web UI/);
  });

  it('inline Show Logs streams a service log into its output channel; inline Restart restarts it and its log is followed again', async () => {
    const s = vsc!;
    const worker = s.treeItem('Stack', /^worker$/);
    await worker.hover();
    await worker.locator('.action-label[aria-label="Show Service Logs"]').click();
    const output = s.page.locator('.part.panel .monaco-editor .view-lines');
    await output.filter({ hasText: /worker\stick\s\d+/ }).waitFor({ timeout: 30_000 });
    const before = Math.max(...[...(await output.innerText()).matchAll(/worker\stick\s(\d+)/g)].map((m) => Number(m[1])));
    // following: new ticks keep arriving in the channel (Monaco renders spaces as U+00A0, which \s matches)
    await s.page.waitForFunction(
      (n) => [...document.querySelectorAll('.part.panel .monaco-editor .view-line')].some((l) => Number(/worker\stick\s(\d+)/.exec(l.textContent ?? '')?.[1]) > n + 1),
      before,
      { timeout: 20_000 },
    );
    await s.screenshot('stack-docker-service-logs');

    const web = s.treeItem('Stack', /^web$/);
    await web.hover();
    await web.locator('.action-label[aria-label="Show Service Logs"]').click();
    await web.hover();
    await web.locator('.action-label[aria-label="Restart Service"]').click();
    await s.page.locator('.notifications-toasts', { hasText: /Restarting web/ }).waitFor({ timeout: 30_000 });
    await web.locator('.label-description', { hasText: /^healthy$/ }).waitFor({ timeout: 60_000 });
    // its log channel follows the new container
    await output.filter({ hasText: 'web is running again' }).waitFor({ timeout: 30_000 });
    await s.page.locator('.part.statusbar .statusbar-item', { hasText: 'DataPipeline: 4/4 running' }).waitFor({ timeout: 30_000 });
  });

  it('Stop Stack removes the containers and the view offers Start Stack again', async () => {
    const s = vsc!;
    await s.runCommand('DataPipeline: Stop Stack');
    await s.view('Stack').locator('.welcome-view-content .monaco-button', { hasText: 'Start Stack' }).waitFor({ timeout: 60_000 });
    await s.page.locator('.part.statusbar .statusbar-item', { hasText: 'DataPipeline: stopped' }).waitFor({ timeout: 30_000 });
    await s.view('Stack').locator('.pane-header .action-label[aria-label="Start Stack"]').waitFor({ state: 'attached', timeout: 10_000 });
    await s.screenshot('stack-docker-stopped');
    await assert.rejects(fetch(`http://127.0.0.1:${WEB_PORT}/`));
  });

  it('a service failing its health check: the error names it with its last log lines, and Show Logs opens them', async () => {
    const s = vsc!;
    // the user broke their stack: a service whose health check never passes
    fs.copyFileSync(path.join(PROJECT_DIR, 'docker-compose.faulty.yaml'), path.join(workspace, 'stack', 'docker-compose.yaml'));
    await s.runCommand('DataPipeline: Start Stack');
    const toast = s.page.locator('.notifications-toasts .notification-list-item', { hasText: 'sick is unhealthy' });
    await toast.waitFor({ timeout: 120_000 });
    const text = await toast.locator('.notification-list-item-message').innerText();
    assert.match(text, /sick is unhealthy \(health check: database not reachable\)/);
    assert.match(text, /Last log lines: .*sick: cannot reach its database/);
    await s.screenshot('stack-docker-unhealthy-error');
    await toast.locator('.monaco-button', { hasText: 'Show Logs' }).click();
    await s.page.locator('.part.panel .monaco-editor .view-lines', { hasText: 'sick: cannot reach its database' }).waitFor({ timeout: 30_000 });
    // nothing is left running behind the failed start
    await s.page.locator('.part.statusbar .statusbar-item', { hasText: /DataPipeline: stopped/ }).waitFor({ timeout: 30_000 });
  });
});
