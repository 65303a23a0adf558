/** DAG files: a server path mapped to the workspace file, Airflow's import errors as diagnostics, Open DAG File. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { bestFileMatch, importErrorLocation } from '../services/airflow/dagsModel';
import type { AirflowImportError } from '../services/airflow/types';
import { pathInBundledStack } from '../services/stack/stackFiles';
import type { DagNode } from '../views/dagsView';

/** Maps server DAG file paths to workspace files (same path, else the longest common tail). */
export async function resolveDagFile(fileloc: string, stackDir: string): Promise<vscode.Uri | undefined> {
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
export class ImportErrorDiagnostics implements vscode.Disposable {
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

/** Opens the file of a DAG (or of an import error, at its line); the extension's own copy of the stack is offered read-only or copied to the workspace first. */
export async function openDagFile(ctx: FeatureContext, node: DagNode | undefined, pickDag: (node: unknown) => Promise<string | undefined>): Promise<void> {
  const conn = ctx.connections.airflow;
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
}
