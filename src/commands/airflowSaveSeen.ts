/**
 * Save → seen: a DAG file saved in the project's DAGs folder is parsed by the stack's Airflow at
 * once, and the DAGs view and Problems update from that parse (services/airflow/parseWatch.ts), not
 * from the next poll. The status bar says what Airflow made of the file and how long it took.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { awaitParse, mightContainDag, type ParseOutcome } from '../services/airflow/parseWatch';
import { errorMessage } from '../services/util/errors';

export interface SaveSeenDeps {
  /** re-read the DAGs view (and with it the import errors in Problems) */
  refresh(): void;
}

/** The file's path inside the DAGs folder with `/`, or undefined when it is not in it. */
export function relativeDagPath(dagsDir: string, file: string): string | undefined {
  const rel = path.relative(dagsDir, file);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

function describe(name: string, o: ParseOutcome): string {
  const secs = (o.ms / 1000).toFixed(1);
  if (o.kind === 'importError') return `$(error) Airflow could not import ${name} (${secs} s): see Problems`;
  if (o.kind === 'timeout') return `$(watch) Airflow has not parsed ${name} yet: the DAGs view will show it when it does`;
  return o.dags.length ? `$(check) Airflow parsed ${name}: ${o.dags.map((d) => d.dagId).join(', ')} (${secs} s)` : `$(check) Airflow parsed ${name}: no DAG in it (${secs} s)`;
}

export function registerSaveSeen(ctx: FeatureContext, deps: SaveSeenDeps): vscode.Disposable[] {
  const log = ctx.logger('airflow');
  const watching = new Map<string, AbortController>();
  let message: vscode.Disposable | undefined;
  const show = (text: string, ms?: number) => {
    message?.dispose();
    message = ms ? vscode.window.setStatusBarMessage(text, ms) : vscode.window.setStatusBarMessage(text);
  };

  const onSaved = async (doc: vscode.TextDocument): Promise<void> => {
    if (doc.uri.scheme !== 'file' || !doc.fileName.endsWith('.py')) return;
    // only the stack's Airflow reads this folder; a named connection's Airflow has its own files
    if (!ctx.connections.active.local) return;
    const rel = relativeDagPath(ctx.project().dagsDir, doc.fileName);
    if (!rel || !mightContainDag(doc.getText())) return;
    watching.get(rel)?.abort();
    const ac = new AbortController();
    watching.set(rel, ac);
    const name = path.basename(doc.fileName);
    show(`$(sync~spin) Airflow is parsing ${name}…`);
    try {
      const client = await ctx.connections.airflow.client();
      const outcome = await awaitParse(client, { relPath: rel, savedAt: Date.now(), signal: ac.signal });
      log.info(`save → seen: ${rel} ${outcome.kind} after ${outcome.ms} ms`);
      deps.refresh();
      show(describe(name, outcome), 8000);
    } catch (err) {
      if (ac.signal.aborted) return;
      log.warn(`save → seen: ${rel}: ${errorMessage(err)}`);
      message?.dispose();
      deps.refresh();
    } finally {
      if (watching.get(rel) === ac) watching.delete(rel);
    }
  };

  return [
    vscode.workspace.onDidSaveTextDocument((doc) => void onSaved(doc)),
    // a DAG file deleted (or renamed away): Airflow drops its DAGs at its next listing of the folder (2 s)
    vscode.workspace.onDidDeleteFiles((e) => {
      if (e.files.some((f) => relativeDagPath(ctx.project().dagsDir, f.fsPath))) setTimeout(() => deps.refresh(), 3000);
    }),
    {
      dispose: () => {
        for (const ac of watching.values()) ac.abort();
        message?.dispose();
      },
    },
  ];
}
