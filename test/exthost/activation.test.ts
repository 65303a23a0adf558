import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DataPipelineApi } from '../../src/extension';
import { until } from '../lib/until';

const EXTENSION_ID = 'datapipeline.datapipeline';

interface ManifestCommand {
  command: string;
  title: string;
}

describe('DataPipeline activation', () => {
  it('is installed in this VS Code', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} not found; installed: ${vscode.extensions.all.map((e) => e.id).join(', ')}`);
  });

  it('activates, and every command of package.json is in the command palette’s registry', async () => {
    const ext = vscode.extensions.getExtension<DataPipelineApi>(EXTENSION_ID)!;
    await ext.activate();
    assert.equal(ext.isActive, true);
    const declared = ((ext.packageJSON.contributes?.commands ?? []) as ManifestCommand[]).map((c) => c.command);
    assert.ok(declared.length > 0, 'package.json declares no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `declared in package.json but not registered by activate(): ${missing.join(', ')}`);
  });

  it('once the features load, every declared command has its handler (none would answer "not available")', async () => {
    const ext = vscode.extensions.getExtension<DataPipelineApi>(EXTENSION_ID)!;
    const api = await ext.activate();
    api.load();
    assert.deepEqual(api.commandsWithoutHandler(), []);
  });

  it('Show Log shows the DataPipeline log, which says the features loaded and which version', async () => {
    const ext = vscode.extensions.getExtension<DataPipelineApi>(EXTENSION_ID)!;
    const api = await ext.activate();
    await vscode.commands.executeCommand('datapipeline.showLog');
    const file = path.join(api.logUri.fsPath, 'DataPipeline.log');
    const read = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    const text = await until('the log to say the features loaded', () => (read().includes('features loaded') ? read() : undefined), { timeoutMs: 10_000, detail: () => `${file}: ${read().slice(-500)}` });
    assert.match(text, new RegExp(`DataPipeline ${String(ext.packageJSON.version).replace(/\./g, '\\.')}: features loaded`), `${file}: ${text.slice(-500)}`);
  });
});
