/**
 * A repository's own .vscode/settings.json is not the user's: it may not name the program the
 * extension runs (test/exthost/run.ts writes one that would leave a marker file), and an address
 * setting that points the Local stack off this machine makes it read-only.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DataPipelineApi } from '../../src/extension';
import { until } from '../lib/until';

const EXTENSION_ID = 'datapipeline.datapipeline';

async function api(): Promise<DataPipelineApi> {
  const a = await vscode.extensions.getExtension<DataPipelineApi>(EXTENSION_ID)!.activate();
  a.load();
  return a;
}

function logText(a: DataPipelineApi): string {
  const file = path.join(a.logUri.fsPath, 'DataPipeline.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

describe('a hostile workspace settings file', () => {
  it('cannot set the compose command: the user-scoped default is used, and the workspace\'s program never runs', async () => {
    const marker = process.env.DATAPIPELINE_EXTHOST_HOSTILE_MARKER;
    assert.ok(marker, 'the runner names the marker file');
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder && fs.readFileSync(path.join(folder.uri.fsPath, '.vscode', 'settings.json'), 'utf8').includes('composeCommand'), 'the workspace sets it');
    const a = await api();
    assert.equal(vscode.workspace.getConfiguration('datapipeline').get('docker.composeCommand'), 'docker compose');
    // the backend is chosen as the Stack view would (auto probes Docker, compose included when the daemon answers)
    void vscode.commands.executeCommand('datapipeline.stack.refresh');
    await until('the stack backend to be chosen', () => /stack backend: (docker|native)/.test(logText(a)), { timeoutMs: 30_000, detail: () => logText(a).slice(-800) });
    assert.equal(fs.existsSync(marker), false, 'the workspace\'s compose command ran');
  });

  it('an address setting that points the Local stack at another machine makes it read-only: Trigger is refused, nothing is sent', async () => {
    const a = await api();
    const cfg = () => vscode.workspace.getConfiguration('datapipeline');
    await cfg().update('airflow.url', 'http://airflow.shared.invalid:8080', vscode.ConfigurationTarget.Workspace);
    try {
      // not awaited: a failed command waits on its error message
      void vscode.commands.executeCommand('datapipeline.dags.trigger', 'nightly_etl');
      const line = await until(
        'the refusal in the log',
        () => logText(a).split('\n').find((l) => l.includes('datapipeline.dags.trigger failed')),
        { timeoutMs: 20_000, detail: () => logText(a).slice(-800) },
      );
      assert.match(line, /The Local stack points at airflow\.shared\.invalid, which is not this machine .* Trigger DAG "nightly_etl" was refused and nothing was sent/);
    } finally {
      await cfg().update('airflow.url', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
