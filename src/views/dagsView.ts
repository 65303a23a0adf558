import * as vscode from 'vscode';
import { BaseTreeProvider } from './base';
import type { AirflowClient } from '../services/airflow/client';
import { AirflowError } from '../services/airflow/errors';
import {
  buildDagRows, dagContextValue, dagDescription, DagNode, dagNodeActive, dagNodeKey, dagNodeSignature, importErrorLocation, runDescription,
  stateIcon, taskDescription,
} from '../services/airflow/dagsModel';
import { diffListing } from '../services/util/reconcile';
import { orderTasks } from '../services/airflow/streamingRun';
import type { AirflowImportError } from '../services/airflow/types';

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
 * Polls only while visible (faster while something runs). A poll re-reads what is shown and
 * re-renders only the rows whose data changed, keeping the same node objects: a full re-render
 * on every poll closed open context menus and handed menu commands a stale row.
 */
export class DagsTreeProvider extends BaseTreeProvider<DagNode> {
  private anyRunning = false;
  /** the root rows and each expanded parent's children, as last handed to VS Code (stable objects) */
  private shownRoot?: DagNode[];
  private readonly shownChildren = new Map<string, DagNode[]>();
  private readonly nodes = new Map<string, DagNode>();
  private readonly parentOf = new Map<string, string>();
  private readonly expanded = new Set<string>();
  private fullReload = false;

  constructor(private readonly deps: DagsViewDeps) {
    super();
  }

  createDagsView(): vscode.TreeView<DagNode> {
    const view = this.createView('datapipeline.dags', { showCollapseAll: true });
    this.register(view.onDidExpandElement((e) => this.expanded.add(dagNodeKey(e.element))));
    this.register(view.onDidCollapseElement((e) => this.expanded.delete(dagNodeKey(e.element))));
    this.setPolling(10_000);
    return view;
  }

  /** Re-reads the whole tree (the Refresh button, new settings, a password entered). */
  reloadAll(debounceMs = 0): void {
    this.fullReload = true;
    this.refresh(debounceMs);
  }

  protected override async update(): Promise<void> {
    const root = this.shownRoot;
    if (this.fullReload || !root || !root.every((n) => n.kind === 'dag' || n.kind === 'importErrors' || n.kind === 'empty')) {
      this.fullReload = false;
      this.changeEmitter.fire();
      return;
    }
    const client = await this.deps.client();
    const now = Date.now();
    const freshRoot = await this.fetchRoot(client);
    const changed = new Set<DagNode>();
    if (!this.updateInPlace(root, freshRoot, now, changed)) {
      this.changeEmitter.fire();
      return;
    }
    let running = freshRoot.some(dagNodeActive);
    for (const [key, children] of [...this.shownChildren]) {
      const parent = this.nodes.get(key);
      if (!parent || (parent.kind !== 'dag' && parent.kind !== 'run') || !this.isOpen(key) || this.ancestorIn(key, changed)) continue;
      const fresh = await this.listChildren(client, parent);
      running ||= fresh.some(dagNodeActive);
      if (!this.updateInPlace(children, fresh, now, changed)) changed.add(parent); // VS Code asks for its children again
    }
    this.setRunning(running);
    if (changed.size) this.changeEmitter.fire([...changed]);
  }

  /**
   * Copies fresh data into the shown rows whose content changed and adds them to `changed`; false when
   * rows were added, removed or reordered (then the parent must be re-read).
   */
  private updateInPlace(shown: DagNode[], fresh: DagNode[], now: number, changed: Set<DagNode>): boolean {
    const diff = diffListing(shown, fresh, dagNodeKey, (n) => dagNodeSignature(n, now));
    for (const [s, f] of diff.changed) {
      Object.assign(s, f);
      changed.add(s);
    }
    return diff.sameKeys;
  }

  /** expanded, and every ancestor expanded too (rows under a collapsed DAG are not polled) */
  private isOpen(key: string): boolean {
    for (let k: string | undefined = key; k; k = this.parentOf.get(k)) if (!this.expanded.has(k)) return false;
    return true;
  }

  private ancestorIn(key: string, set: Set<DagNode>): boolean {
    for (let k = this.parentOf.get(key); k; k = this.parentOf.get(k)) {
      const n = this.nodes.get(k);
      if (n && set.has(n)) return true;
    }
    return false;
  }

  /** Keeps the node object already shown for each key (updating its data), so handles stay valid. */
  private adopt(parentKey: string | undefined, fresh: DagNode[]): DagNode[] {
    const previous = parentKey ? this.shownChildren.get(parentKey) : this.shownRoot;
    const byKey = new Map((previous ?? []).map((n) => [dagNodeKey(n), n]));
    const out = fresh.map((f) => {
      const p = byKey.get(dagNodeKey(f));
      if (p && p.kind === f.kind) {
        Object.assign(p, f);
        return p;
      }
      return f;
    });
    const kept = new Set(out.map(dagNodeKey));
    for (const k of byKey.keys()) if (!kept.has(k)) this.forget(k);
    for (const n of out) {
      if (n.kind === 'empty') continue; // "No runs yet" is not unique across parents
      const k = dagNodeKey(n);
      this.nodes.set(k, n);
      if (parentKey) this.parentOf.set(k, parentKey);
      else this.parentOf.delete(k);
    }
    if (parentKey) this.shownChildren.set(parentKey, out);
    else this.shownRoot = out;
    return out;
  }

  private forget(key: string): void {
    for (const c of this.shownChildren.get(key) ?? []) this.forget(dagNodeKey(c));
    this.shownChildren.delete(key);
    this.nodes.delete(key);
    this.parentOf.delete(key);
    this.expanded.delete(key);
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
      case 'empty': {
        const item = new vscode.TreeItem(node.text, None);
        item.iconPath = new vscode.ThemeIcon('info');
        return item;
      }
    }
  }

  async getChildren(node?: DagNode): Promise<DagNode[]> {
    try {
      if (!node) {
        const client = await this.deps.client();
        const rows = await this.fetchRoot(client);
        this.setRunning(rows.some(dagNodeActive));
        return this.adopt(undefined, rows);
      }
      const key = dagNodeKey(node);
      if (node.kind === 'importErrors') {
        this.expanded.add(key);
        return this.adopt(key, node.errors.map((error) => ({ kind: 'importError', error })));
      }
      if (node.kind === 'dag' || node.kind === 'run') {
        this.expanded.add(key); // asked for its children: it is expanded
        const children = await this.listChildren(await this.deps.client(), node);
        if (children.some(dagNodeActive)) this.setRunning(true);
        return this.adopt(key, children);
      }
      return [];
    } catch (err) {
      const e = [this.errorNode(err)];
      return node ? e : this.adopt(undefined, e);
    }
  }

  private async fetchRoot(client: AirflowClient): Promise<DagNode[]> {
    const [dags, latest, importErrors] = await Promise.all([client.listDags(), client.latestRunByDag(), client.listImportErrors()]);
    this.deps.onImportErrors(importErrors);
    const rows = buildDagRows(dags, latest);
    const nodes: DagNode[] = [];
    if (importErrors.length) nodes.push({ kind: 'importErrors', errors: importErrors });
    nodes.push(...rows.map((row): DagNode => ({ kind: 'dag', row })));
    if (!rows.length) nodes.push({ kind: 'empty', text: 'No DAGs found in the DAGs folder' });
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
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}
