/**
 * The activation shell. It creates the four tree views and a stub for every command declared in
 * package.json, and nothing else: the features (src/main.ts, its own file dist/main.js with the
 * services, views and webviews) load on first use — when a view asks for its rows or a command runs.
 * Activation therefore parses ~2 KB instead of ~200 KB and spawns, fetches and reads nothing.
 */
import * as vscode from 'vscode';
import type { ShellHost } from './shellHost';

/** The views declared in package.json, with the options their TreeViews need at creation. */
const VIEWS: ReadonlyArray<{ id: string; showCollapseAll: boolean }> = [
  { id: 'datapipeline.stack', showCollapseAll: false },
  { id: 'datapipeline.dags', showCollapseAll: true },
  { id: 'datapipeline.topics', showCollapseAll: true },
  { id: 'datapipeline.spark', showCollapseAll: false },
];

/** Serves a view through the real provider once the features have loaded (loading them on the first request). */
class LazyTree<T> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  private real?: vscode.TreeDataProvider<T>;
  private readonly emitter = new vscode.EventEmitter<T | T[] | undefined | null | void>();
  private forwarding?: vscode.Disposable;
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly load: () => void) {}

  attach(real: vscode.TreeDataProvider<T>): void {
    this.real = real;
    this.forwarding = real.onDidChangeTreeData?.((e) => this.emitter.fire(e));
  }

  private provider(): vscode.TreeDataProvider<T> {
    if (!this.real) this.load();
    if (!this.real) throw new Error('DataPipeline: this view has no provider (the extension failed to load; see the DataPipeline log).');
    return this.real;
  }

  getTreeItem(element: T): vscode.TreeItem | Thenable<vscode.TreeItem> {
    return this.provider().getTreeItem(element);
  }

  getChildren(element?: T): vscode.ProviderResult<T[]> {
    return this.provider().getChildren(element);
  }

  // reveal() needs getParent; a provider without one keeps VS Code's "not supported" behaviour
  getParent(element: T): vscode.ProviderResult<T> {
    return this.provider().getParent?.(element);
  }

  resolveTreeItem(item: vscode.TreeItem, element: T, token: vscode.CancellationToken): vscode.ProviderResult<vscode.TreeItem> {
    const real = this.provider();
    return real.resolveTreeItem ? real.resolveTreeItem(item, element, token) : item;
  }

  dispose(): void {
    this.forwarding?.dispose();
    this.emitter.dispose();
  }
}

/** What activate() returns (ext.exports): lets the extension-host tests check what activation cannot show. */
export interface DataPipelineApi {
  /** Loads the features, as the first view read or command does. */
  load(): void;
  /** Commands declared in package.json that no loaded feature gave a handler (each would say "not available"). */
  commandsWithoutHandler(): string[];
  /** Folder of the DataPipeline log file (DataPipeline.log). */
  readonly logUri: vscode.Uri;
}

export function activate(context: vscode.ExtensionContext): DataPipelineApi {
  const trees = new Map<string, LazyTree<unknown>>();
  const views = new Map<string, vscode.TreeView<unknown>>();
  const handlers = new Map<string, (...args: unknown[]) => unknown>();
  const contributes = (context.extension.packageJSON as { contributes?: { commands?: Array<{ command: string }> } }).contributes;
  const declared = new Set((contributes?.commands ?? []).map((c) => c.command));

  let loaded = false;
  const load = (): void => {
    if (loaded) return;
    loaded = true;
    const host: ShellHost = {
      treeView: <T>(viewId: string, provider: vscode.TreeDataProvider<T>) => {
        const tree = trees.get(viewId) as LazyTree<T> | undefined;
        if (!tree) throw new Error(`DataPipeline: the view ${viewId} is missing from the activation shell's VIEWS.`);
        tree.attach(provider);
        return views.get(viewId) as vscode.TreeView<T>;
      },
      registerCommand: (id, handler) => {
        if (!declared.has(id)) return vscode.commands.registerCommand(id, handler);
        handlers.set(id, handler);
        return { dispose: () => handlers.delete(id) };
      },
    };
    (require('./main') as typeof import('./main')).activateFeatures(context, host);
  };

  for (const v of VIEWS) {
    const tree = new LazyTree<unknown>(load);
    const view = vscode.window.createTreeView(v.id, { treeDataProvider: tree, showCollapseAll: v.showCollapseAll });
    trees.set(v.id, tree);
    views.set(v.id, view);
    context.subscriptions.push(tree, view);
  }
  for (const id of declared) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, (...args: unknown[]) => {
        load();
        const handler = handlers.get(id);
        if (!handler) throw new Error(`DataPipeline: the command ${id} is not available.`);
        return handler(...args);
      }),
    );
  }
  return { load, commandsWithoutHandler: () => [...declared].filter((id) => !handlers.has(id)), logUri: context.logUri };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
