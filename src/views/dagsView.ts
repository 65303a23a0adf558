import * as vscode from 'vscode';
import { BaseTreeProvider, type TreeViewSource } from './base';
import type { AirflowClient } from '../services/airflow/client';
import { AirflowError } from '../services/airflow/errors';
import {
  assetDescription, buildDagRows, dagContextValue, dagDescription, DagNode, dagNodeActive, dagNodeKey, dagNodeSignature, importErrorLocation, objectDescription, objectGroupLabel, objectRows,
  runDescription, runTooltip, stateIcon, taskDescription,
} from '../services/airflow/dagsModel';
import { listAirflowObjects, maskedExtra } from '../services/airflow/airflowObjects';
import { orderTasks } from '../services/airflow/streamingRun';
import type { AirflowImportError } from '../services/airflow/types';
import { errorMessage } from '../services/util/errors';

export type { DagNode };

/** How many recent runs a DAG node lists. */
export const RUNS_PER_DAG = 10;

export interface DagsViewDeps {
  client(): Promise<AirflowClient>;
  airflowUrl(): string;
  /** Called with every import-error listing (the Problems panel follows it). */
  onImportErrors(errors: AirflowImportError[]): void;
  /** Called when Airflow answers 401 (the feature asks for the password once). */
  onUnauthorized?(err: AirflowError): void;
}

function themeIcon(state: string | undefined): vscode.ThemeIcon {
  const s = stateIcon(state);
  return new vscode.ThemeIcon(s.icon, s.color ? new vscode.ThemeColor(s.color) : undefined);
}

/**
 * The Airflow DAGs view: DAGs (paused state, tags, schedule, last run), their recent runs, each run's
 * task instances; an import-errors node; one "unreachable — Retry" item when Airflow is down.
 * Polls only while visible (faster while something runs); the base provider re-renders only the
 * rows whose data changed.
 */
export class DagsTreeProvider extends BaseTreeProvider<DagNode> {
  private anyRunning = false;
  /** per listing read since the last root read (root: ''): does it show something queued or running? */
  private readonly active = new Map<string, boolean>();

  constructor(private readonly deps: DagsViewDeps) {
    super({
      key: dagNodeKey,
      signature: dagNodeSignature,
      hasChildren: (n) => n.kind === 'dag' || n.kind === 'run' || n.kind === 'importErrors' || n.kind === 'assets' || n.kind === 'airflowObjects' || n.kind === 'objectGroup',
    });
  }

  createDagsView(source: TreeViewSource): vscode.TreeView<DagNode> {
    const view = this.attachView(source, 'datapipeline.dags');
    this.setPolling(10_000);
    return view;
  }

  getTreeItem(node: DagNode): vscode.TreeItem {
    const None = vscode.TreeItemCollapsibleState.None;
    const Collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    switch (node.kind) {
      case 'unreachable': {
        const item = new vscode.TreeItem(`Airflow unreachable at ${node.url} — Retry`, None);
        item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('testing.iconFailed'));
        item.tooltip = node.message;
        item.command = { command: 'datapipeline.dags.refresh', title: 'Retry' };
        return item;
      }
      case 'unauthorized': {
        const item = new vscode.TreeItem(node.status === 401 ? 'Airflow rejected the credentials — Enter Password' : `Airflow at ${node.url} needs a password — Enter Password`, None);
        item.iconPath = new vscode.ThemeIcon('key', new vscode.ThemeColor('charts.orange'));
        item.tooltip = node.message;
        item.command = { command: 'datapipeline.dags.refresh', title: 'Enter Password', arguments: [{ askPassword: true }] };
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem(node.message, None);
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
        item.tooltip = node.message;
        item.command = { command: 'datapipeline.dags.refresh', title: 'Retry' };
        return item;
      }
      case 'importErrors': {
        const item = new vscode.TreeItem(`Import errors (${node.errors.length})`, vscode.TreeItemCollapsibleState.Expanded);
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.id = dagNodeKey(node);
        return item;
      }
      case 'assets': {
        const item = new vscode.TreeItem(`Assets (${node.assets.length})`, Collapsed);
        item.iconPath = new vscode.ThemeIcon('database');
        item.id = dagNodeKey(node);
        item.tooltip = 'Airflow 3 assets: the tasks that produce each (outlets) and the DAGs it schedules';
        return item;
      }
      case 'asset': {
        const a = node.asset;
        const item = new vscode.TreeItem(a.name, None);
        item.id = dagNodeKey(node);
        item.description = assetDescription(a);
        item.tooltip = `${a.uri}${a.group ? ` (group ${a.group})` : ''}\n${assetDescription(a)}${a.lastEventAt ? `\nlast event ${new Date(a.lastEventAt).toLocaleString()}` : '\nno event yet'}`;
        item.iconPath = new vscode.ThemeIcon('symbol-field');
        item.contextValue = 'asset';
        return item;
      }
      case 'importError': {
        const loc = importErrorLocation(node.error);
        const item = new vscode.TreeItem(node.error.filename.split(/[\\/]/).pop() ?? node.error.filename, None);
        item.description = loc.message;
        item.tooltip = new vscode.MarkdownString().appendCodeblock(node.error.stackTrace, 'text');
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
        item.contextValue = 'importError';
        item.command = { command: 'datapipeline.dags.openDagFile', title: 'Open DAG File', arguments: [node] };
        return item;
      }
      case 'dag': {
        const { dag, lastRun } = node.row;
        const item = new vscode.TreeItem(dag.dagId, Collapsed);
        item.id = dagNodeKey(node);
        item.description = dagDescription(node.row);
        item.contextValue = dagContextValue(dag);
        item.iconPath = dag.isPaused
          ? new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('disabledForeground'))
          : lastRun
            ? themeIcon(lastRun.state)
            : new vscode.ThemeIcon('type-hierarchy');
        const tip = new vscode.MarkdownString();
        tip.appendText(`${dag.dagId}${dag.description ? ` — ${dag.description}` : ''}\n`);
        tip.appendText(`${dag.isPaused ? 'Paused' : 'Active'} · schedule ${dag.schedule}\nTags: ${dag.tags.join(', ') || 'none'}\nFile: ${dag.fileloc}`);
        if (lastRun) tip.appendText(`\nLast run: ${lastRun.runId} (${lastRun.state})`);
        item.tooltip = tip;
        return item;
      }
      case 'run': {
        const item = new vscode.TreeItem(node.run.runId, Collapsed);
        item.id = dagNodeKey(node);
        item.description = runDescription(node.run);
        item.tooltip = runTooltip(node.run);
        item.iconPath = themeIcon(node.run.state);
        item.contextValue = 'dagRun';
        return item;
      }
      case 'task': {
        const item = new vscode.TreeItem(node.ti.taskId, None);
        item.id = dagNodeKey(node);
        item.description = taskDescription(node.ti);
        item.iconPath = themeIcon(node.ti.state);
        item.contextValue = `taskInstance.${node.ti.state ?? 'none'}`;
        item.tooltip = `${node.ti.taskId}${node.ti.operator ? ` (${node.ti.operator})` : ''}: ${node.ti.state ?? 'no status'}`;
        item.command = { command: 'datapipeline.dags.viewTaskLog', title: 'View Task Log', arguments: [node] };
        return item;
      }
      case 'airflowObjects': {
        const item = new vscode.TreeItem('Connections & Variables', Collapsed);
        item.id = dagNodeKey(node);
        item.iconPath = new vscode.ThemeIcon('plug');
        item.tooltip = "Airflow's connections, variables and pools (secrets masked)";
        item.contextValue = 'airflowObjects';
        return item;
      }
      case 'objectGroup': {
        const item = new vscode.TreeItem(objectGroupLabel(node), vscode.TreeItemCollapsibleState.Expanded);
        item.id = dagNodeKey(node);
        item.iconPath = new vscode.ThemeIcon(node.group === 'connection' ? 'plug' : node.group === 'variable' ? 'symbol-variable' : 'layers');
        item.contextValue = `airflowObjectGroup.${node.group}`;
        return item;
      }
      case 'connection':
      case 'variable':
      case 'pool': {
        const name = node.kind === 'connection' ? node.connection.id : node.kind === 'variable' ? node.variable.key : node.pool.name;
        const item = new vscode.TreeItem(name, None);
        item.id = dagNodeKey(node);
        item.description = objectDescription(node);
        item.iconPath = new vscode.ThemeIcon(node.kind === 'connection' ? 'plug' : node.kind === 'variable' ? 'symbol-variable' : 'layers');
        item.contextValue = `airflowObject.${node.kind}`;
        const tip = new vscode.MarkdownString();
        tip.appendText(`${name}: ${item.description}`);
        if (node.kind === 'connection') {
          const extra = maskedExtra(node.connection.extra);
          if (extra) tip.appendText(`\nextra: ${extra}`);
        }
        const description = node.kind === 'connection' ? node.connection.description : node.kind === 'variable' ? node.variable.description : node.pool.description;
        if (description) tip.appendText(`\n${description}`);
        item.tooltip = tip;
        item.command = { command: 'datapipeline.dags.editAirflowObject', title: 'Edit', arguments: [node] };
        return item;
      }
      case 'empty': {
        const item = new vscode.TreeItem(node.text, None);
        item.iconPath = new vscode.ThemeIcon('info');
        return item;
      }
    }
  }

  protected async readChildren(node: DagNode | undefined): Promise<DagNode[]> {
    if (node?.kind === 'importErrors') return node.errors.map((error) => ({ kind: 'importError', error }));
    if (node?.kind === 'assets') return node.assets.map((asset) => ({ kind: 'asset', asset }));
    if (node?.kind === 'objectGroup') {
      const rows = objectRows(node);
      return rows.length ? rows : [{ kind: 'empty', text: `No ${node.group}s yet: add one with +` }];
    }
    if (node?.kind === 'airflowObjects') {
      const objects = await listAirflowObjects(await this.deps.client());
      return (['connection', 'variable', 'pool'] as const).map((group): DagNode => ({ kind: 'objectGroup', group, objects }));
    }
    if (node && node.kind !== 'dag' && node.kind !== 'run') return [];
    const client = await this.deps.client();
    const rows = node ? await this.listChildren(client, node) : await this.fetchRoot(client);
    if (!node) this.active.clear();
    this.active.set(node ? dagNodeKey(node) : '', rows.some(dagNodeActive));
    this.setRunning([...this.active.values()].some(Boolean));
    return rows;
  }

  protected override errorRows(err: unknown): DagNode[] {
    return [this.errorNode(err)];
  }

  private async fetchRoot(client: AirflowClient): Promise<DagNode[]> {
    const [dags, latest, importErrors, assets] = await Promise.all([
      client.listDags(),
      client.latestRunByDag(),
      client.listImportErrors(),
      // Airflow 3 only (Airflow 2 answers [] without a request); a server that cannot list them shows no section
      client.listAssets().catch(() => []),
    ]);
    this.deps.onImportErrors(importErrors);
    const rows = buildDagRows(dags, latest);
    const nodes: DagNode[] = [];
    if (importErrors.length) nodes.push({ kind: 'importErrors', errors: importErrors });
    nodes.push(...rows.map((row): DagNode => ({ kind: 'dag', row })));
    if (assets.length) nodes.push({ kind: 'assets', assets });
    if (!rows.length) nodes.push({ kind: 'empty', text: 'No DAGs found in the DAGs folder' });
    nodes.push({ kind: 'airflowObjects' });
    return nodes;
  }

  private async listChildren(client: AirflowClient, node: DagNode & { kind: 'dag' | 'run' }): Promise<DagNode[]> {
    if (node.kind === 'dag') {
      const runs = await client.listDagRuns(node.row.dag.dagId, { limit: RUNS_PER_DAG });
      return runs.length ? runs.map((run) => ({ kind: 'run', run })) : [{ kind: 'empty', text: 'No runs yet' }];
    }
    const tis = orderTasks(await client.listTaskInstances(node.run.dagId, node.run.runId), []);
    return tis.length ? tis.map((ti) => ({ kind: 'task', ti })) : [{ kind: 'empty', text: 'No task instances yet' }];
  }

  /** 3 s polls while something is queued or running, 10 s otherwise. */
  private setRunning(running: boolean): void {
    if (running !== this.anyRunning) {
      this.anyRunning = running;
      this.setPolling(running ? 3000 : 10_000);
    }
  }

  private errorNode(err: unknown): DagNode {
    const url = this.deps.airflowUrl();
    if (err instanceof AirflowError && err.kind === 'unreachable') return { kind: 'unreachable', url, message: err.message };
    if (err instanceof AirflowError && err.kind === 'unauthorized') {
      this.deps.onUnauthorized?.(err);
      return { kind: 'unauthorized', url, message: err.message, status: err.status };
    }
    return { kind: 'error', message: errorMessage(err) };
  }
}
