import * as assert from 'node:assert/strict';
import { VsCodeSession } from './lib/codeServer';

describe('Foundation: DataPipeline in a real VS Code (code-server + Chromium)', function () {
  this.timeout(180_000);
  let vsc: VsCodeSession;

  before(async () => {
    vsc = await VsCodeSession.start();
  });

  after(async () => {
    await vsc?.close();
  });

  it('the DataPipeline activity-bar container shows its four views', async () => {
    await vsc.openContainer('DataPipeline');
    const expected = ['Stack', 'DAGs', 'Topics', 'Spark Applications'];
    await vsc.view('Spark Applications').waitFor({ timeout: 30_000 });
    const titles = (await vsc.viewTitles()).map((t) => t.toLowerCase());
    assert.deepEqual(titles, expected.map((t) => t.toLowerCase()));
    // While the stack is down each view's welcome content offers "Start Stack".
    await vsc.view('Stack').locator('.welcome-view-content .monaco-button', { hasText: 'Start Stack' }).waitFor({ timeout: 30_000 });
    await vsc.screenshot('foundation-views');
  });

  it('the command palette lists "DataPipeline: Start Stack"', async () => {
    const items = await vsc.paletteItems('DataPipeline: Start');
    await vsc.screenshot('foundation-palette');
    await vsc.escape();
    assert.ok(items.includes('DataPipeline: Start Stack'), `palette shows: ${JSON.stringify(items)}`);
  });
});
