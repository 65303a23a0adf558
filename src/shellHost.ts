import type * as vscode from 'vscode';

/**
 * What the activation shell (src/extension.ts) hands the features when they load (src/main.ts):
 * the tree views it created at activation, and command registration that fills the stubs it
 * registered for every command declared in package.json.
 */
export interface ShellHost {
  /** The TreeView created at activation for `viewId`, now served by `provider`. */
  treeView<T>(viewId: string, provider: vscode.TreeDataProvider<T>): vscode.TreeView<T>;
  /** Sets the handler behind a declared command's stub (or registers an undeclared command). */
  registerCommand(id: string, handler: (...args: unknown[]) => unknown): vscode.Disposable;
}
