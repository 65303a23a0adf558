/**
 * The Connections feature: the status-bar item that says which connection every view shows (and
 * switches it), Select/Add/Edit/Remove Connection, and import/export as JSON without secrets.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { describeConnection, exportConnections, importConnections, isLocalOnly, isReadOnly, LOCAL_CONNECTION_ID, LOCAL_CONNECTION_NAME, type ConnectionProfile } from '../services/connections/profile';
import type { ActiveConnection } from '../services/connections/guard';

type Item = vscode.QuickPickItem & { id?: string; action?: 'add' | 'edit' | 'import' | 'export' };

export function registerConnectionsFeature(ctx: FeatureContext): vscode.Disposable[] {
  const connections = ctx.connections;
  const log = ctx.logger('connections');
  const status = vscode.window.createStatusBarItem('datapipeline.connection', vscode.StatusBarAlignment.Left, 50);
  status.name = 'DataPipeline Connection';
  status.command = 'datapipeline.connections.select';

  const render = (c: ActiveConnection): void => {
    status.text = `${c.readOnly ? '$(lock)' : c.localOnly ? '$(vm)' : '$(cloud)'} ${c.name}`;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown('**DataPipeline connection** (the Stack, DAGs, Topics and Spark views and the panels show it)\n\n');
    tip.appendText(c.profile ? describeConnection(c.profile) : 'the local stack started by DataPipeline: Start Stack');
    tip.appendMarkdown(`\n\n${c.readOnly ? 'Read-only: changes are refused.' : c.localOnly ? 'Writable.' : 'Writable: the first change of a session asks.'}\n\nClick to switch.`);
    status.tooltip = tip;
    status.accessibilityInformation = { label: `DataPipeline connection: ${c.name}${c.readOnly ? ', read-only' : ''}. Switch connection.` };
    status.show();
  };
  render(connections.active);

  const pickNamed = async (title: string, arg?: unknown): Promise<ConnectionProfile | undefined> => {
    const id = typeof arg === 'string' ? arg : undefined;
    if (id) {
      const p = connections.named.find((c) => c.id === id);
      if (!p) throw new Error(`There is no connection "${id}" in datapipeline.connections.`);
      return p;
    }
    if (!connections.named.length) {
      void vscode.window.showInformationMessage('There are no connections of your own yet: add one with DataPipeline: Add Connection…');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      connections.named.map((c) => ({ label: c.name, description: describeConnection(c), id: c.id })),
      { title, matchOnDescription: true },
    );
    return pick ? connections.named.find((c) => c.id === pick.id) : undefined;
  };

  const openEditor = async (profile?: ConnectionProfile): Promise<string | undefined> => {
    const { ConnectionEditorPanel } = await import('../webviews/connectionEditor/panel');
    return ConnectionEditorPanel.open(ctx, profile).saved;
  };

  const select = async (arg?: unknown): Promise<ActiveConnection | undefined> => {
    if (typeof arg === 'string') return connections.select(arg);
    const active = connections.active.id;
    const items: Item[] = [
      { label: `${active === LOCAL_CONNECTION_ID ? '$(check) ' : ''}${LOCAL_CONNECTION_NAME}`, description: 'the stack DataPipeline runs here', id: LOCAL_CONNECTION_ID },
      ...connections.named.map((c) => ({
        label: `${active === c.id ? '$(check) ' : ''}${c.name}`,
        description: describeConnection(c),
        detail: isReadOnly(c) ? '$(lock) read-only' : isLocalOnly(c) ? 'writable' : 'writable (asks before the first change of a session)',
        id: c.id,
      })),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(add) Add Connection…', action: 'add' },
      { label: '$(edit) Edit Connection…', action: 'edit' },
      { label: '$(cloud-download) Import Connections…', action: 'import' },
      { label: '$(cloud-upload) Export Connections…', action: 'export' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'DataPipeline: the connection every view shows', placeHolder: `Now: ${connections.label()}`, matchOnDescription: true });
    if (!pick) return undefined;
    if (pick.action) {
      await vscode.commands.executeCommand(`datapipeline.connections.${pick.action}`);
      return connections.active;
    }
    return connections.select(pick.id!);
  };

  const remove = async (arg?: unknown): Promise<void> => {
    const p = await pickNamed('Remove which connection?', arg);
    if (!p) return;
    const ok = await vscode.window.showWarningMessage(`Remove connection "${p.name}"?`, { modal: true, detail: 'Its settings and the secrets stored for it are deleted. The cluster itself is not touched.' }, 'Remove');
    if (ok !== 'Remove') return;
    if (connections.active.id === p.id) await connections.select(LOCAL_CONNECTION_ID);
    await ctx.settings.setConnections(connections.named.filter((c) => c.id !== p.id));
    await connections.secrets.deleteAll(p.id);
    log.info(`removed connection ${p.id}`);
    void vscode.window.showInformationMessage(`Removed connection "${p.name}".`);
  };

  const exportAll = async (): Promise<string | undefined> => {
    if (!connections.named.length) throw new Error('There are no connections of your own to export. Add one with DataPipeline: Add Connection…');
    const uri = await vscode.window.showSaveDialog({ title: 'Export connections (no secrets)', defaultUri: vscode.Uri.file('datapipeline-connections.json'), filters: { JSON: ['json'] } });
    if (!uri) return undefined;
    await fs.promises.writeFile(uri.fsPath, exportConnections(connections.named));
    void vscode.window.showInformationMessage(`Exported ${connections.named.length} connection(s) to ${uri.fsPath}. Passwords, tokens and client secrets are not in the file.`);
    return uri.fsPath;
  };

  const importFrom = async (arg?: unknown): Promise<number> => {
    let file = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
    if (!file) {
      const uris = await vscode.window.showOpenDialog({ title: 'Import connections', canSelectMany: false, filters: { JSON: ['json'] } });
      file = uris?.[0]?.fsPath;
      if (!file) return 0;
    }
    const { added, renamed } = importConnections(await fs.promises.readFile(file, 'utf8'), connections.named);
    // an import holds no secrets: nothing stored under its ids (a connection deleted by hand) is adopted
    for (const c of added) await connections.secrets.deleteAll(c.id);
    await ctx.settings.setConnections([...connections.named, ...added]);
    void vscode.window.showInformationMessage(
      `Imported ${added.length} connection(s)${renamed.length ? ` (ids already taken, renamed: ${renamed.join(', ')})` : ''}. Their secrets were not in the file: DataPipeline asks for each when it is first needed.`,
    );
    return added.length;
  };

  return [
    status,
    connections.onDidChangeActive(({ connection }) => render(connection)),
    ctx.registerCommand('datapipeline.connections.select', select),
    ctx.registerCommand('datapipeline.connections.add', () => openEditor()),
    ctx.registerCommand('datapipeline.connections.edit', async (arg?: unknown) => {
      const p = typeof arg === 'string' || connections.active.local ? await pickNamed('Edit which connection?', arg) : connections.active.profile;
      return p ? openEditor(p) : undefined;
    }),
    ctx.registerCommand('datapipeline.connections.remove', remove),
    ctx.registerCommand('datapipeline.connections.import', importFrom),
    ctx.registerCommand('datapipeline.connections.export', exportAll),
    { dispose: () => void import('../webviews/connectionEditor/panel').then((m) => m.ConnectionEditorPanel.disposeAll()) },
  ];
}
