/**
 * Save → seen: after a DAG file is saved, wait for the stack's Airflow to have parsed it, and say
 * what came of it (the file's DAGs as Airflow now has them, or its import error). The stack parses a
 * saved file at once (PARSE_AT_ONCE_* in stack/native/airflowConfig.ts and the compose file); this
 * asks Airflow 3 to, through its reparse API, and reads the REST API every `intervalMs` until the
 * file's parse is newer than the save. No `vscode` import: the extension, the CLI and the tests
 * share it.
 */
import type { AirflowClient } from './client';
import type { AirflowDag, AirflowImportError } from './types';
import { sleep } from '../util/sleep';

export type ParseOutcome =
  /** the file parsed: its DAGs (none when it defines none) */
  | { kind: 'parsed'; dags: AirflowDag[]; ms: number }
  /** the file failed to import: Airflow's error (its traceback) */
  | { kind: 'importError'; error: AirflowImportError; ms: number }
  /** no parse result newer than the save came in time (a file Airflow skips: no "airflow" and "dag" in it, or .airflowignore) */
  | { kind: 'timeout'; dags: AirflowDag[]; ms: number };

export interface AwaitParseOptions {
  /** the file's path relative to the DAGs folder, with `/` (the server's path ends with it) */
  relPath: string;
  /** when the file was saved (ms since the epoch; the stack's Airflow shares this machine's clock) */
  savedAt: number;
  timeoutMs?: number;
  intervalMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** True when a server path is the DAGs folder's file `relPath` (the server's folder may differ: /opt/airflow/dags in Docker). */
export function isDagFile(serverPath: string, relPath: string): boolean {
  const s = serverPath.replace(/\\/g, '/');
  const r = relPath.replace(/\\/g, '/').replace(/^\/+/, '');
  return s === r || s.endsWith(`/${r}`);
}

/** Airflow's own cheap check before it imports a file (might_contain_dag with safe mode on): both words, any case. */
export function mightContainDag(text: string): boolean {
  const t = text.toLowerCase();
  return t.includes('airflow') && t.includes('dag');
}

const newer = (iso: string | undefined, than: number): boolean => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) && t >= than;
};

/**
 * Waits until Airflow has parsed the file after `savedAt`: its import error stamped since then, or one
 * of its DAGs parsed since then (a new file: its DAGs appear). A result Airflow had before the watch
 * began and has changed since counts too (clocks a few ms apart cannot hide it).
 */
export async function awaitParse(client: AirflowClient, o: AwaitParseOptions): Promise<ParseOutcome> {
  const now = o.now ?? Date.now;
  const started = now();
  const deadline = started + (o.timeoutMs ?? 15_000);
  const interval = o.intervalMs ?? 150;
  const read = async () => {
    const [dags, errors] = await Promise.all([client.listDags(), client.listImportErrors()]);
    return { dags: dags.filter((d) => isDagFile(d.fileloc, o.relPath)), error: errors.find((e) => isDagFile(e.filename, o.relPath)) };
  };
  const first = await read();
  const seen = new Map(first.dags.map((d) => [d.dagId, d.lastParsedTime]));
  const firstError = first.error?.timestamp;
  // Airflow 3: ask for the parse now (Airflow 2 finds the file by its modification time)
  const token = first.dags.find((d) => d.fileToken)?.fileToken;
  if (token) await client.reparseFile(token).catch(() => false);
  let last = first;
  for (;;) {
    const { dags, error } = last;
    if (error && (newer(error.timestamp, o.savedAt) || (firstError !== undefined && error.timestamp !== firstError))) return { kind: 'importError', error, ms: now() - started };
    const fresh = dags.some((d) => newer(d.lastParsedTime, o.savedAt) || (seen.has(d.dagId) ? seen.get(d.dagId) !== d.lastParsedTime : true));
    if (fresh && !error) return { kind: 'parsed', dags, ms: now() - started };
    if (now() >= deadline) return { kind: 'timeout', dags, ms: now() - started };
    await sleep(interval, o.signal);
    last = await read();
  }
}
