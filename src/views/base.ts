import * as vscode from 'vscode';
import { TreeReconciler, type TreeShape } from '../services/util/reconcile';
import { Disposable } from '../services/util/lifecycle';

/**
 * Where a provider gets its TreeView: the activation shell created every view already (with its
 * options, see VIEWS in src/extension.ts) and hands it over (ShellHost.treeView).
 */
export type TreeViewSource = <T>(viewId: string, provider: vscode.TreeDataProvider<T>) => vscode.TreeView<T>;

/**
 * Base for every DataPipeline tree, and its one refresh model:
 * - a refresh (an event, a button) or a poll (only while the view is visible) re-reads what is
 *   shown and re-renders only the rows whose data changed, keeping the node objects VS Code holds
 *   (TreeReconciler): an open context menu survives, and its command gets a live row;
 * - rows added, removed or reordered re-render their parent (the root: the whole tree);
 * - a refresh requested while hidden runs when the view becomes visible; bursts are debounced;
 * - getParent is answered, so reveal() works.
 * Subclasses say how to read rows (`readChildren`), how to show a failed read (`errorRows`) and
 * what identifies a row (`shape`).
 */
export abstract class BaseTreeProvider<T extends object> extends Disposable implements vscode.TreeDataProvider<T> {
  protected readonly changeEmitter = this.register(new vscode.EventEmitter<T | T[] | undefined | void>());
  readonly onDidChangeTreeData = this.changeEmitter.event;
  protected view?: vscode.TreeView<T>;
  private stale = false;
  private fullReload = false;
  private debounceTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private pollMs = 0;
  private readonly rows: TreeReconciler<T>;
  /** rows shown once in place of the tree (a connection switched: nothing of the old one stays) */
  private placeholder?: T[];
  /** what the view's description starts with (the connection it shows) */
  private sourceLabel?: () => string;

  constructor(shape: TreeShape<T>) {
    super();
    this.rows = new TreeReconciler(shape);
  }

  abstract getTreeItem(element: T): vscode.TreeItem | Thenable<vscode.TreeItem>;

  /** The rows under `parent` (`undefined`: the root). May throw: `errorRows` then shows the failure. */
  protected abstract readChildren(parent: T | undefined): Promise<T[]> | T[];

  /** What a failed read shows (default: nothing). */
  protected errorRows(_err: unknown, _parent: T | undefined): T[] {
    return [];
  }

  async getChildren(parent?: T): Promise<T[]> {
    if (this.placeholder) {
      if (parent) return [];
      const shown = this.placeholder;
      this.placeholder = undefined;
      setTimeout(() => this.reloadAll(), 0);
      return this.rows.adopt(undefined, shown);
    }
    let rows: T[];
    try {
      // what the poll that fired this re-render just read, else a read now
      rows = this.rows.takePrefetched(parent) ?? (await this.readChildren(parent));
    } catch (err) {
      rows = this.errorRows(err, parent);
    }
    return this.rows.adopt(parent, rows);
  }

  getParent(node: T): T | undefined {
    return this.rows.parentOf(node);
  }

  /** Takes the TreeView for `viewId` from the shell and tracks its visibility and expanded rows. */
  attachView(source: TreeViewSource, viewId: string): vscode.TreeView<T> {
    this.view = source(viewId, this);
    this.register(
      this.view.onDidChangeVisibility((e) => {
        if (e.visible && this.stale) this.refresh(0);
        this.schedulePoll();
      }),
    );
    this.register(this.view.onDidExpandElement((e) => this.rows.setExpanded(e.element, true)));
    this.register(this.view.onDidCollapseElement((e) => this.rows.setExpanded(e.element, false)));
    return this.view;
  }

  /**
   * The view now shows another source (a connection switched): `rows` (e.g. "Connecting to …")
   * replace the whole tree at once, then it is read again. Nothing read from the old source stays.
   */
  replaceWith(rows: T[]): void {
    this.placeholder = rows;
    this.stale = !this.visible;
    this.fullReload = false;
    this.updateDescription();
    this.changeEmitter.fire();
  }

  /** The view's description: the source's label (the connection), kept current by `changed`, then what the subclass adds (a filter, …). */
  showSource(label: () => string, changed: vscode.Event<unknown>): void {
    this.sourceLabel = label;
    this.register(changed(() => this.updateDescription()));
    this.updateDescription();
  }

  /** Parts of the description after the source (override: a filter, a toggle). */
  protected descriptionParts(): string[] {
    return [];
  }

  protected updateDescription(): void {
    if (!this.view) return;
    this.view.description = [this.sourceLabel?.() ?? '', ...this.descriptionParts()].filter(Boolean).join(' · ') || undefined;
  }

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  /** Re-reads the shown rows soon (debounced) when visible; marks the view stale otherwise. */
  refresh(debounceMs = 250): void {
    if (!this.visible) {
      this.stale = true;
      return;
    }
    this.stale = false;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.runUpdate();
    }, debounceMs);
  }

  /** Re-reads the whole tree (the Refresh button, new settings, a password entered, a filter). */
  reloadAll(debounceMs = 0): void {
    this.fullReload = true;
    this.refresh(debounceMs);
  }

  private async runUpdate(): Promise<void> {
    if (this.fullReload) {
      this.fullReload = false;
      this.changeEmitter.fire();
      return;
    }
    try {
      const result = await this.rows.update((parent) => this.readChildren(parent));
      if (result.full) this.changeEmitter.fire();
      else if (result.changed.length) this.changeEmitter.fire(result.changed);
    } catch {
      this.changeEmitter.fire(); // the full re-read shows the error as rows
    }
  }

  /** Polls every `ms` while visible (0 turns polling off). */
  setPolling(ms: number): void {
    if (ms === this.pollMs && (this.pollTimer || !this.visible)) return;
    this.pollMs = ms;
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (this.pollMs > 0 && this.visible) {
      const timer = setTimeout(() => {
        void this.runUpdate().then(() => {
          if (this.pollTimer === timer) this.schedulePoll(); // not if setPolling() rescheduled meanwhile
        });
      }, this.pollMs);
      this.pollTimer = timer;
    }
  }

  override dispose(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    super.dispose();
  }
}
