import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { parseTriggerConfig } from '../services/airflow/dagsModel';
import { LOG_SCHEME, logUri, TaskLogProvider, type LogTarget } from './airflowTaskLogs';
import { ImportErrorDiagnostics, openDagFile } from './airflowDagFile';
import { runStreamingDag } from './airflowStreaming';
import { DagNode, DagsTreeProvider } from '../views/dagsView';
import { OutputViewerPanel } from '../webviews/outputViewer/panel';
import { DagCodeLenses } from './airflowLenses';
import { openLineageGraph, openRunView } from './airflowRunView';
import { LineageGraphPanel } from '../webviews/lineageGraph/panel';
import { registerAirflowObjectCommands } from './airflowObjects';
import { registerSaveSeen } from './airflowSaveSeen';
import { registerTaskRunCommands } from './airflowTaskRun';

const LAST_CONFIG_KEY = 'datapipeline.airflow.lastConfig';
export type { StreamingOutcome } from './airflowStreaming';

/** True for a task-instance row; otherwise says how to run a task command (from the palette, or on a row a refresh replaced). */
function isTaskRow(node: DagNode | undefined): node is Extract<DagNode, { kind: 'task' }> {
  if (node?.kind === 'task') return true;
  void vscode.window.showInformationMessage('Pick a task instance in the DAGs view (expand a DAG, then a run) and run this on it. If you just did, the row was being refreshed: try again.');
  return false;
}

export function registerAirflowFeature(ctx: FeatureContext): vscode.Disposable[] {
  const log = ctx.logger('airflow');
  const conn = ctx.connections.airflow;
  const diagnostics = new ImportErrorDiagnostics(() => ctx.stackDir());
  const provider = new DagsTreeProvider({
    client: () => conn.client(),
    airflowUrl: () => conn.url,
    onImportErrors: (errors) => void diagnostics.update(errors).catch((e: unknown) => log.warn(`import error diagnostics: ${String(e)}`)),
    onUnauthorized: (err) =>
      void conn.askOnceAfter401(err.message).then(
        (entered) => entered && provider.reloadAll(),
        (e: unknown) => log.warn(`password prompt: ${String(e)}`),
      ),
  });
  const logs = new TaskLogProvider(conn);
  const disposables: vscode.Disposable[] = [provider, diagnostics, logs, { dispose: () => OutputViewerPanel.disposeAll() }, { dispose: () => LineageGraphPanel.disposeAll() }];
  disposables.push(provider.createDagsView(ctx.treeView));
  provider.showSource(() => ctx.connections.label(), ctx.connections.onDidChangeActive);
  /** the connection whose Airflow the open task logs came from */
  let shownConnection = ctx.connections.active.name;
  const guard = (action: string) => ctx.connections.guardWrite(action);
  disposables.push(
    ctx.connections.onDidChangeActive(({ connection, switched }) => {
      if (!switched) return provider.reloadAll();
      logs.stopFollowing(shownConnection);
      shownConnection = connection.name;
      provider.replaceWith([{ kind: 'empty', text: `Connecting to ${connection.name}…` }]);
      // the old Airflow's import errors and run outputs are not this connection's
      void diagnostics.update([]);
      OutputViewerPanel.disposeAll();
      LineageGraphPanel.disposeAll();
    }),
  );
  disposables.push(vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, logs));
  disposables.push(...registerAirflowObjectCommands(ctx, provider));
  disposables.push(ctx.stack.onDidChange(() => provider.refresh()));
  disposables.push(ctx.settings.onDidChange((e) => e.affectsConfiguration('datapipeline.airflow') && provider.reloadAll(250)));

  // a saved DAG file: the view and Problems follow Airflow's parse of it (save → seen)
  disposables.push(...registerSaveSeen(ctx, { refresh: () => provider.refresh(0) }));

  const dagIdOf = (node: unknown): string | undefined => {
    const n = node as DagNode | undefined;
    if (n?.kind === 'dag') return n.row.dag.dagId;
    if (n?.kind === 'run') return n.run.dagId;
    if (typeof node === 'string') return node;
    return undefined;
  };
  const pickDag = async (node: unknown): Promise<string | undefined> => {
    const id = dagIdOf(node);
    if (id) return id;
    const dags = await conn.withClient((c) => c.listDags());
    return (await vscode.window.showQuickPick(dags.map((d) => ({ label: d.dagId, description: d.isPaused ? 'paused' : '' })), { title: 'Choose a DAG' }))?.label;
  };

  const openTaskLog = async (t: LogTarget): Promise<void> => {
    const doc = await vscode.workspace.openTextDocument(logUri(t));
    await vscode.languages.setTextDocumentLanguage(doc, 'log');
    await vscode.window.showTextDocument(doc, { preview: false });
  };

  const openOutputViewer = (dagId: string, runId: string): OutputViewerPanel =>
    openRunView(ctx, openTaskLog, (uri) => vscode.env.openExternal(vscode.Uri.parse(uri)), dagId, runId);

  disposables.push(...registerTaskRunCommands(ctx, { refresh: () => provider.refresh(0), pickDag }));

  const lenses = new DagCodeLenses(conn, () => ctx.connections.active.local);
  disposables.push(
    lenses,
    provider.onDidChangeTreeData(() => lenses.viewChanged()),
    ctx.connections.onDidChangeActive(() => lenses.connectionChanged()),
  );

  disposables.push(
    ctx.registerCommand('datapipeline.dags.refresh', async (opts?: { askPassword?: boolean }) => {
      if (opts && typeof opts === 'object' && opts.askPassword) await conn.askPassword();
      provider.reloadAll();
    }),
    ctx.registerCommand('datapipeline.dags.trigger', async (node?: unknown) => {
      const dagId = await pickDag(node);
      if (!dagId) return undefined;
      await guard(`Trigger DAG "${dagId}"`);
      const run = await conn.withClient((c) => c.triggerDagRun(dagId));
      void vscode.window.showInformationMessage(`Triggered ${dagId}: run ${run.runId} (${run.state}).`);
      provider.refresh();
      return run;
    }),
    ctx.registerCommand('datapipeline.dags.triggerWithConfig', async (node?: unknown, configText?: string) => {
      const dagId = await pickDag(node);
      if (!dagId) return undefined;
      await guard(`Trigger DAG "${dagId}" with config`);
      const remembered = ctx.extensionContext.workspaceState.get<Record<string, string>>(LAST_CONFIG_KEY, {});
      const text =
        typeof configText === 'string'
          ? configText
          : await vscode.window.showInputBox({
              title: `Trigger ${dagId} with config`,
              prompt: 'A JSON object passed to the run as dag_run.conf',
              value: remembered[dagId] ?? '{}',
              ignoreFocusOut: true,
              validateInput: (v) => {
                const r = parseTriggerConfig(v);
                return r.ok ? undefined : r.error;
              },
            });
      if (text === undefined) return undefined;
      const parsed = parseTriggerConfig(text);
      if (!parsed.ok) throw new Error(`Run config for ${dagId} is not valid: ${parsed.error} Nothing was sent.`);
      await ctx.extensionContext.workspaceState.update(LAST_CONFIG_KEY, { ...remembered, [dagId]: text });
      const run = await conn.withClient((c) => c.triggerDagRun(dagId, { conf: parsed.conf }));
      void vscode.window.showInformationMessage(`Triggered ${dagId} with config: run ${run.runId}.`);
      provider.refresh();
      return run;
    }),
    ctx.registerCommand('datapipeline.dags.pause', async (node?: unknown) => {
      const dagId = await pickDag(node);
      if (!dagId) return;
      await guard(`Pause DAG "${dagId}"`);
      await conn.withClient((c) => c.setPaused(dagId, true));
      provider.refresh(0);
    }),
    ctx.registerCommand('datapipeline.dags.unpause', async (node?: unknown) => {
      const dagId = await pickDag(node);
      if (!dagId) return;
      await guard(`Unpause DAG "${dagId}"`);
      await conn.withClient((c) => c.setPaused(dagId, false));
      provider.refresh(0);
    }),
    ctx.registerCommand('datapipeline.dags.openDagFile', (node?: DagNode) => openDagFile(ctx, node, pickDag)),
    ctx.registerCommand('datapipeline.dags.openInAirflow', async (node?: DagNode) => {
      const dagId = await pickDag(node);
      if (!dagId) return;
      const url = await (await conn.client()).uiUrl(dagId, node?.kind === 'run' ? node.run.runId : undefined);
      await vscode.env.openExternal(vscode.Uri.parse(url));
    }),
    ctx.registerCommand('datapipeline.dags.viewTaskLog', async (node?: DagNode) => {
      if (!isTaskRow(node)) return;
      if (node.ti.tryNumber < 1) {
        void vscode.window.showInformationMessage(`${node.ti.taskId} has not started yet (${node.ti.state ?? 'no status'}); its log appears once it runs.`);
        return;
      }
      await openTaskLog({ dagId: node.ti.dagId, runId: node.ti.runId, taskId: node.ti.taskId, tryNumber: node.ti.tryNumber, mapIndex: node.ti.mapIndex });
    }),
    ctx.registerCommand('datapipeline.dags.clearTask', async (node?: DagNode, confirm?: boolean) => {
      if (!isTaskRow(node)) return;
      await guard(`Clear task "${node.ti.taskId}" of run ${node.ti.runId}`);
      if (confirm !== false) {
        const ok = await vscode.window.showWarningMessage(`Clear ${node.ti.taskId} in run ${node.ti.runId}? It will run again.`, { modal: true }, 'Clear');
        if (ok !== 'Clear') return;
      }
      await conn.withClient((c) => c.clearTaskInstance(node.ti.dagId, node.ti.runId, node.ti.taskId));
      provider.refresh(0);
    }),
    ctx.registerCommand('datapipeline.outputViewer.open', async (dagOrNode?: string | DagNode, runId?: string) => {
      // from a run's context menu in the DAGs view (or a CodeLens): that run; from the palette: a DAG, then one of its runs
      const fromRow = typeof dagOrNode === 'object' && dagOrNode?.kind === 'run' ? dagOrNode.run : undefined;
      const dag = fromRow?.dagId ?? (typeof dagOrNode === 'string' ? dagOrNode : await pickDag(dagOrNode));
      if (!dag) return undefined;
      let run = fromRow?.runId ?? (typeof runId === 'string' ? runId : undefined);
      if (!run) {
        const runs = await conn.withClient((c) => c.listDagRuns(dag, { limit: 20 }));
        if (!runs.length) throw new Error(`${dag} has no runs yet. Trigger it first (the DAGs view, or DataPipeline: Trigger Streaming DAG).`);
        run = (await vscode.window.showQuickPick(runs.map((r) => ({ label: r.runId, description: r.state })), { title: `Run view of which ${dag} run?` }))?.label;
        if (!run) return undefined;
      }
      return openOutputViewer(dag, run).whenLoaded();
    }),
    ctx.registerCommand('datapipeline.lineage.show', async (node?: DagNode) => {
      // from a run's context menu: the graph with that run's path highlighted
      const run = typeof node === 'object' && node?.kind === 'run' ? `${node.run.dagId}\u0000${node.run.runId}` : undefined;
      return openLineageGraph(ctx, (d, r) => openOutputViewer(d, r), (uri) => vscode.env.openExternal(vscode.Uri.parse(uri)), run).whenLoaded();
    }),
    ctx.registerCommand('datapipeline.dags.triggerStreaming', () => runStreamingDag(ctx, { refresh: (ms) => provider.refresh(ms), openRunView: (d, r) => openOutputViewer(d, r).whenLoaded(), openTaskLog })),
  );
  return disposables;
}
