import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

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

  it('activates without error', async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers every command declared in package.json contributes.commands', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    const declared = ((ext.packageJSON.contributes?.commands ?? []) as ManifestCommand[]).map((c) => c.command);
    assert.ok(declared.length > 0, 'package.json declares no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `declared in package.json but not registered by activate(): ${missing.join(', ')}`);
  });

  it('datapipeline.showLog shows the DataPipeline log without error', async () => {
    await vscode.commands.executeCommand('datapipeline.showLog');
  });
});
