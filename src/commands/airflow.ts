import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { bestFileMatch, formatSeconds, importErrorLocation, parseTriggerConfig, spanSeconds } from '../services/airflow/dagsModel';
import { findDagDefinitions } from '../services/airflow/dagFile';
import { pathInBundledStack } from '../services/stack/stackFiles';
import { collectRunOutput, kafkaRangeReader } from '../services/airflow/runOutput';
import { failingTask, followRun, STREAMING_DAG_ID, triggerStreaming } from '../services/airflow/streamingRun';
import type { AirflowDagRun, AirflowImportError } from '../services/airflow/types';
import { LOG_SCHEME, logUri, TaskLogProvider, type LogTarget } from './airflowTaskLogs';
import { DagNode, DagsTreeProvider } from '../views/dagsView';
import { OutputViewerPanel } from '../webviews/outputViewer/panel';
import { openMessageBrowser } from '../webviews/messageBrowser';

const LAST_CONFIG_KEY = 'datapipeline.airflow.lastConfig';
/** Maps server DAG file paths to workspace files (same path, else the longest common tail). */
async function resolveDagFile(fileloc: string, stackDir: string): Promise<vscode.Uri | undefined> {
  if (fs.existsSync(fileloc)) return vscode.Uri.file(fileloc);
  const base = path.basename(fileloc);
  const found = await vscode.workspace.findFiles(`**/${base}`, '**/node_modules/**', 50);
  const candidates = found.map((u) => u.fsPath);
  const bundled = path.join(stackDir, 'dags', base);
  if (fs.existsSync(bundled)) candidates.push(bundled);
  const best = bestFileMatch(fileloc, candidates);
  return best ? vscode.Uri.file(best) : undefined;
}

/** Import errors as diagnostics on the DAG files (Problems panel). */
class ImportErrorDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('airflow');
  private generation = 0;

  constructor(private readonly stackDir: () => string) {}

  async update(errors: AirflowImportError[]): Promise<void> {
    const gen = ++this.generation;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const e of errors) {
      const uri = await resolveDagFile(e.filename, this.stackDir());
      const loc = importErrorLocation(e);
      const d = new vscode.Diagnostic(new vscode.Range(loc.line, 0, loc.line, Number.MAX_SAFE_INTEGER), `Airflow import error: ${loc.message}`, vscode.DiagnosticSeverity.Error);
      d.source = 'Airflow';
      const key = (uri ?? vscode.Uri.file(e.filename)).toString();
      byFile.set(key, [...(byFile.get(key) ?? []), d]);
    }
    if (gen !== this.generation) return;
    this.collection.clear();
    for (const [k, ds] of byFile) this.collection.set(vscode.Uri.parse(k), ds);
  }

  dispose(): void {
    this.collection.dispose();
  }
}

/** What `datapipeline.dags.triggerStreaming` resolves with (tests read it). */
export interface StreamingOutcome {
  run: AirflowDagRun;
  failedTask?: string;
}

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
  const disposables: vscode.Disposable[] = [provider, diagnostics, logs, { dispose: () => OutputViewerPanel.disposeAll() }];
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
    }),
  );
  disposables.push(vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, logs));
  disposables.push(ctx.stack.onDidChange(() => provider.refresh()));
  disposables.push(ctx.settings.onDidChange((e) => e.affectsConfiguration('datapipeline.airflow') && provider.reloadAll(250)));

  // Re-read import errors shortly after a DAG file is saved (the scheduler re-parses within ~30 s).
  let saveTimers: NodeJS.Timeout[] = [];
  disposables.push(
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc.languageId !== 'python' && !doc.fileName.endsWith('.py')) return;
      if (!/\bdags?\b/i.test(doc.fileName) && !/\bDAG\b|airflow/.test(doc.getText())) return;
      for (const t of saveTimers) clearTimeout(t);
      saveTimers = [3000, 12_000, 35_000].map((ms) => setTimeout(() => provider.refresh(0), ms));
    }),
    { dispose: () => saveTimers.forEach(clearTimeout) },
  );

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
    OutputViewerPanel.show(ctx.extensionContext.extensionUri, {
      connection: ctx.connections.label(),
      load: async (d, r, version) => {
        const kafka = await ctx.connections.kafka();
        // the Spark applications tagged with this run, from the connection's master (none when it has no Spark)
        const sparkApps = async () => {
          const st = await ctx.connections.spark().status();
          return [...st.activeApps, ...st.completedApps];
        };
        return conn.withClient((c) => collectRunOutput(c, kafkaRangeReader(kafka), d, r, 'output-topic', version, { sparkApps }));
      },
      openMessages: async (d, r, range) => {
        const spec = (pick: (p: { start: number; end: number }) => number) => range.partitions.map((p) => `${p.partition}:${pick(p)}`).join(', ');
        await openMessageBrowser(ctx, {
          topic: range.topic,
          title: `${range.topic}: ${range.count.toLocaleString('en-US')} ${range.role === 'write' ? 'written' : 'read'} by ${range.taskId} (${r})`,
          start: { mode: 'range', offsets: spec((p) => p.start), toOffsets: spec((p) => p.end), follow: false },
        });
      },
      openTaskLog: (d, r, taskId, tryNumber) => openTaskLog({ dagId: d, runId: r, taskId, tryNumber, mapIndex: -1 }),
      openSparkApp: async (appId) => {
        const base = ctx.connections.spark().uiUrl.replace(/\/+$/, '');
        await vscode.env.openExternal(vscode.Uri.parse(appId ? `${base}/app/?appId=${encodeURIComponent(appId)}` : base));
      },
      openInAirflow: async (d, r) => {
        await vscode.env.openExternal(vscode.Uri.parse(await (await conn.client()).uiUrl(d, r)));
      },
    }, dagId, runId);

  // CodeLens above each DAG in a Python file: "Trigger" and "last run: success in 34s" (opens the run view).
  // The last run is read when a lens shows (kept 10 s), never with a password prompt.
  const lastRuns = new Map<string, { at: number; run?: AirflowDagRun }>();
  const dagLensChanged = new vscode.EventEmitter<void>();
  const readLastRun = (dagId: string): Promise<AirflowDagRun | undefined> =>
    conn
      .client()
      .then((c) => c.listDagRuns(dagId, { limit: 1 }))
      .then((runs) => runs[0], () => undefined);
  const lastRunOf = async (dagId: string): Promise<AirflowDagRun | undefined> => {
    const hit = lastRuns.get(dagId);
    if (hit && Date.now() - hit.at < 10_000) return hit.run;
    const run = await readLastRun(dagId);
    lastRuns.set(dagId, { at: Date.now(), run });
    return run;
  };
  /**
   * The DAGs view changed: the lenses are redrawn only when a shown DAG's last run did (a redraw
   * under the pointer loses the click, and most view changes are not about the last run).
   */
  const runKey = (r?: AirflowDagRun) => (r ? `${r.runId} ${r.state} ${r.endDate ?? ''}` : '');
  let lensCheck: Promise<void> | undefined;
  let lensCheckAgain = false;
  const checkLenses = (): void => {
    if (lensCheck) {
      lensCheckAgain = true;
      return;
    }
    lensCheck = (async () => {
      do {
        lensCheckAgain = false;
        let changed = false;
        for (const [dagId, hit] of [...lastRuns]) {
          const run = await readLastRun(dagId);
          if (runKey(run) !== runKey(hit.run)) changed = true;
          lastRuns.set(dagId, { at: Date.now(), run });
        }
        if (changed) dagLensChanged.fire();
      } while (lensCheckAgain);
    })().finally(() => (lensCheck = undefined));
  };
  class DagLens extends vscode.CodeLens {
    constructor(range: vscode.Range, readonly dagId: string) {
      super(range);
    }
  }
  const dagLenses: vscode.CodeLensProvider<vscode.CodeLens> = {
    onDidChangeCodeLenses: dagLensChanged.event,
    provideCodeLenses: (doc) =>
      findDagDefinitions(doc.getText()).flatMap((d) => {
        const range = new vscode.Range(d.line, 0, d.line, 0);
        return [new vscode.CodeLens(range, { title: '$(play) Trigger', command: 'datapipeline.dags.trigger', arguments: [d.dagId] }), new DagLens(range, d.dagId)];
      }),
    resolveCodeLens: async (lens) => {
      if (!(lens instanceof DagLens)) return lens;
      const run = await lastRunOf(lens.dagId);
      if (!run) {
        lens.command = { title: `${lens.dagId}: no run yet`, command: '' };
        return lens;
      }
      const secs = spanSeconds(run.startDate, run.endDate);
      const how = run.state === 'running' || run.state === 'queued' ? `${run.state}${secs !== undefined ? ` for ${formatSeconds(secs)}` : ''}` : `${run.state}${secs !== undefined ? ` in ${formatSeconds(secs)}` : ''}`;
      lens.command = { title: `$(history) last run: ${how}`, tooltip: `Open the run view of ${run.runId}`, command: 'datapipeline.outputViewer.open', arguments: [lens.dagId, run.runId] };
      return lens;
    },
  };
  disposables.push(
    dagLensChanged,
    // by extension: without a Python language extension, .py files have no language id
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.py', scheme: 'file' }, dagLenses),
    // new runs and states: the lenses follow the DAGs view's reads (and the connection)
    provider.onDidChangeTreeData(checkLenses),
    ctx.connections.onDidChangeActive(() => {
      lastRuns.clear();
      dagLensChanged.fire();
    }),
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
    ctx.registerCommand('datapipeline.dags.openDagFile', async (node?: DagNode) => {
      let fileloc = node?.kind === 'dag' ? node.row.dag.fileloc : node?.kind === 'importError' ? node.error.filename : undefined;
      if (!fileloc) {
        // from the palette, or a row that a refresh replaced while its menu was open: ask which DAG
        const dagId = await pickDag(node);
        if (!dagId) return;
        fileloc = (await conn.withClient((c) => c.listDags())).find((d) => d.dagId === dagId)?.fileloc;
        if (!fileloc) throw new Error(`Airflow does not know the DAG ${dagId} any more. Refresh the DAGs view.`);
      }
      let uri = await resolveDagFile(fileloc, ctx.stackDir());
      if (!uri) throw new Error(`No workspace file matches ${fileloc}. Open the folder that holds your DAGs (e.g. the stack's dags/) and retry.`);
      const line = node?.kind === 'importError' ? importErrorLocation(node.error).line : 0;
      const selection = new vscode.Range(line, 0, line, 0);
      const ext = ctx.extensionContext;
      const rel = pathInBundledStack(uri.fsPath, [path.join(ext.extensionPath, 'stack'), path.join(ext.globalStorageUri.fsPath, 'stack')]);
      if (rel !== undefined) {
        // the extension's own copy: edits there are lost on its next update
        const choice = await vscode.window.showWarningMessage(
          `${path.basename(uri.fsPath)} is in DataPipeline's own copy of the stack: edits there are lost when the extension updates. Add Stack to Workspace gives you a copy to edit (and the stack runs from it).`,
          'Add Stack to Workspace',
          'Open Read-Only',
        );
        if (choice === 'Add Stack to Workspace') {
          const target = await vscode.commands.executeCommand<string | undefined>('datapipeline.stack.addToWorkspace');
          if (!target) return;
          uri = vscode.Uri.file(path.join(target, rel));
        } else if (choice === 'Open Read-Only') {
          await vscode.window.showTextDocument(uri, { selection });
          await vscode.commands.executeCommand('workbench.action.files.setActiveEditorReadonlyInSession');
          return;
        } else return;
      }
      await vscode.window.showTextDocument(uri, { selection });
    }),
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
    ctx.registerCommand('datapipeline.dags.triggerStreaming', async (): Promise<StreamingOutcome | undefined> => {
      await guard(`Trigger DAG "${STREAMING_DAG_ID}"`);
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Streaming DAG ${STREAMING_DAG_ID}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort(new vscode.CancellationError()));
          progress.report({ message: 'triggering…' });
          const run = await conn.withClient((c) => triggerStreaming(c));
          log.info(`triggered ${STREAMING_DAG_ID} run ${run.runId}`);
          provider.refresh(0);
          const client = await conn.client();
          const end = await followRun(client, STREAMING_DAG_ID, run.runId, {
            signal: abort.signal,
            onProgress: (p) => progress.report({ message: `${p.run.runId}: ${p.message}` }),
          });
          provider.refresh(0);
          return { run: end.run, failedTask: end.run.state === 'failed' ? failingTask(end.tasks)?.taskId : undefined, tasks: end.tasks };
        },
      );
      if (outcome.run.state === 'success') {
        void vscode.window.showInformationMessage(`${STREAMING_DAG_ID} run ${outcome.run.runId} succeeded.`);
        await openOutputViewer(STREAMING_DAG_ID, outcome.run.runId).whenLoaded();
        return { run: outcome.run };
      }
      const failed = outcome.tasks.find((t) => t.taskId === outcome.failedTask);
      const choice = await vscode.window.showErrorMessage(
        `DataPipeline: ${STREAMING_DAG_ID} run ${outcome.run.runId} failed${failed ? ` at task ${failed.taskId}` : ''}. Open its log to see why, fix, then trigger again.`,
        ...(failed ? ['Show Log'] : []),
      );
      if (choice === 'Show Log' && failed) await openTaskLog({ dagId: failed.dagId, runId: failed.runId, taskId: failed.taskId, tryNumber: Math.max(1, failed.tryNumber), mapIndex: failed.mapIndex });
      return { run: outcome.run, failedTask: outcome.failedTask };
    }),
  );
  return disposables;
}
