import * as vscode from 'vscode';

type TreeViewSource = <T>(viewId: string, provider: vscode.TreeDataProvider<T>, options: Omit<vscode.TreeViewOptions<T>, 'treeDataProvider'>) => vscode.TreeView<T>;
let treeViewSource: TreeViewSource = (viewId, provider, options) => vscode.window.createTreeView(viewId, { ...options, treeDataProvider: provider });

/** Where createView() gets its TreeView: the activation shell created the views already. */
export function setTreeViewSource(source: TreeViewSource): void {
  treeViewSource = source;
}

/**
 * Base for every DataPipeline tree: owns the change event, refreshes only while the view is
 * visible (a refresh requested while hidden runs when it becomes visible), debounces bursts,
 * and polls (optionally) only while visible.
 */
export abstract class BaseTreeProvider<T> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  protected readonly changeEmitter = new vscode.EventEmitter<T | T[] | undefined | void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  protected view?: vscode.TreeView<T>;
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];
  private stale = false;
  private debounceTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private pollMs = 0;

  abstract getTreeItem(element: T): vscode.TreeItem | Thenable<vscode.TreeItem>;
  abstract getChildren(element?: T): vscode.ProviderResult<T[]>;

  /** Creates the TreeView for `viewId` and tracks its visibility. */
  createView(viewId: string, options: Omit<vscode.TreeViewOptions<T>, 'treeDataProvider'> = {}): vscode.TreeView<T> {
    this.view = treeViewSource(viewId, this, options);
    this.register(this.view);
    this.register(
      this.view.onDidChangeVisibility((e) => {
        if (e.visible && this.stale) this.refresh(0);
        this.schedulePoll();
      }),
    );
    return this.view;
  }

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  /** Re-reads the tree soon (debounced) when visible; marks it stale otherwise. */
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

  /**
   * What a refresh or a poll does: by default re-reads the whole tree. A view whose rows carry
   * context-menu commands overrides it to update only the rows whose data changed.
   */
  protected update(): void | Promise<void> {
    this.changeEmitter.fire();
  }

  private async runUpdate(): Promise<void> {
    try {
      await this.update();
    } catch {
      this.changeEmitter.fire(); // the full re-read shows the error as a node
    }
  }

  /** Polls with `refresh()` every `ms` while visible (0 turns polling off). */
  setPolling(ms: number): void {
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

  protected register<D extends vscode.Disposable>(d: D): D {
    this.disposables.push(d);
    return d;
  }

  dispose(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
