/**
 * Pure logic behind the DAGs view and the streaming-run commands: labels, durations, state icons,
 * import-error locations, trigger config checks, mapping the server's DAG file to a workspace file.
 * No vscode import: the view maps these to TreeItems.
 */
import type { AirflowAsset, AirflowDag, AirflowDagRun, AirflowImportError, AirflowTaskInstance } from './types';
import { connectionSummary, shownVariableValue, type AirflowConnectionFields, type AirflowObjectKind, type AirflowObjects, type AirflowPoolFields, type AirflowVariableFields } from './airflowObjects';

export interface DagRow {
  dag: AirflowDag;
  lastRun?: AirflowDagRun;
}

/** DAG rows sorted by id, each with its newest run (from one listing of runs across DAGs). */
export function buildDagRows(dags: AirflowDag[], latestRuns: Map<string, AirflowDagRun>): DagRow[] {
  return [...dags].sort((a, b) => a.dagId.localeCompare(b.dagId)).map((dag) => ({ dag, lastRun: latestRuns.get(dag.dagId) }));
}

export function dagContextValue(dag: AirflowDag): 'dag.paused' | 'dag.active' {
  return dag.isPaused ? 'dag.paused' : 'dag.active';
}

/** "paused · spark, demo · None · last: success" */
export function dagDescription(row: DagRow): string {
  const parts: string[] = [];
  if (row.dag.isPaused) parts.push('paused');
  if (row.dag.tags.length) parts.push([...row.dag.tags].sort().join(', '));
  parts.push(`schedule: ${row.dag.schedule}`);
  if (row.lastRun) parts.push(`last: ${row.lastRun.state}`);
  return parts.join(' · ');
}

/** One row of the DAGs view (the view maps it to a TreeItem). */
export type DagNode =
  | { kind: 'unreachable'; url: string; message: string }
  | { kind: 'unauthorized'; url: string; message: string; /** 401: the server refused; undefined: no password yet, nothing sent */ status?: number }
  | { kind: 'error'; message: string }
  | { kind: 'importErrors'; errors: AirflowImportError[] }
  /** Airflow 3: its assets, what produces each and what it schedules */
  | { kind: 'assets'; assets: AirflowAsset[] }
  | { kind: 'asset'; asset: AirflowAsset }
  | { kind: 'importError'; error: AirflowImportError }
  | { kind: 'dag'; row: DagRow }
  | { kind: 'run'; run: AirflowDagRun }
  | { kind: 'task'; ti: AirflowTaskInstance }
  /** Airflow's connections, variables and pools (read when expanded) */
  | { kind: 'airflowObjects' }
  | { kind: 'objectGroup'; group: AirflowObjectKind; objects: AirflowObjects }
  | { kind: 'connection'; connection: AirflowConnectionFields }
  | { kind: 'variable'; variable: AirflowVariableFields }
  | { kind: 'pool'; pool: AirflowPoolFields }
  | { kind: 'empty'; text: string };

const GROUP_LABEL: Record<AirflowObjectKind, string> = { connection: 'Connections', variable: 'Variables', pool: 'Pools' };

/** The rows under "Connections & Variables": one group per kind, with its count. */
export function objectGroupLabel(n: { group: AirflowObjectKind; objects: AirflowObjects }): string {
  return `${GROUP_LABEL[n.group]} (${objectRows(n).length})`;
}

/** A group's rows, in name order. */
export function objectRows(n: { group: AirflowObjectKind; objects: AirflowObjects }): DagNode[] {
  if (n.group === 'connection') return n.objects.connections.map((connection) => ({ kind: 'connection', connection }));
  if (n.group === 'variable') return n.objects.variables.map((variable) => ({ kind: 'variable', variable }));
  return n.objects.pools.map((pool) => ({ kind: 'pool', pool }));
}

/** What a connection, variable or pool row says beside its name (secrets masked, never a password). */
export function objectDescription(n: DagNode): string {
  if (n.kind === 'connection') return connectionSummary(n.connection);
  if (n.kind === 'variable') return shownVariableValue(n.variable);
  if (n.kind === 'pool') return `${n.pool.slots} slot${n.pool.slots === 1 ? '' : 's'}${n.pool.occupied ? ` · ${n.pool.occupied} in use` : ''}`;
  return '';
}

/** A row's identity across polls (also its TreeItem id where it has one). */
export function dagNodeKey(n: DagNode): string {
  switch (n.kind) {
    case 'dag':
      return `dag:${n.row.dag.dagId}`;
    case 'run':
      return `run:${n.run.dagId}:${n.run.runId}`;
    case 'task':
      return `ti:${n.ti.dagId}:${n.ti.runId}:${n.ti.taskId}:${n.ti.mapIndex}`;
    case 'importErrors':
      return 'importErrors';
    case 'assets':
      return 'assets';
    case 'asset':
      return `asset:${n.asset.id}`;
    case 'importError':
      return `importError:${n.error.filename}`;
    case 'objectGroup':
      return `objects:${n.group}`;
    case 'connection':
      return `connection:${n.connection.id}`;
    case 'variable':
      return `variable:${n.variable.key}`;
    case 'pool':
      return `pool:${n.pool.name}`;
    case 'empty':
      return `empty:${n.text}`;
    default:
      return n.kind;
  }
}

/**
 * Everything a row shows, at `now`: equal signatures need no re-render. Only a task row's duration
 * ticks; a run row shows no ticking part (see runDescription), so its data is its signature.
 */
export function dagNodeSignature(n: DagNode, now: number = Date.now()): string {
  return n.kind === 'task' ? JSON.stringify(n.ti) + taskDescription(n.ti, now) : JSON.stringify(n);
}

/** Whether a row stands for something still queued or running (the view then polls faster). */
export function dagNodeActive(n: DagNode): boolean {
  const s = n.kind === 'dag' ? n.row.lastRun?.state : n.kind === 'run' ? n.run.state : n.kind === 'task' ? n.ti.state : undefined;
  return s === 'running' || s === 'queued';
}

/** A theme icon id and color id for a run or task state (view maps them to ThemeIcon). */
export interface StateIcon {
  icon: string;
  color?: string;
}

export function stateIcon(state: string | undefined): StateIcon {
  switch (state) {
    case 'success':
      return { icon: 'pass-filled', color: 'testing.iconPassed' };
    case 'running':
      return { icon: 'sync~spin', color: 'charts.blue' };
    case 'failed':
      return { icon: 'error', color: 'testing.iconFailed' };
    case 'upstream_failed':
      return { icon: 'warning', color: 'charts.orange' };
    case 'queued':
    case 'scheduled':
      return { icon: 'clock', color: 'charts.yellow' };
    case 'up_for_retry':
    case 'up_for_reschedule':
    case 'restarting':
      return { icon: 'debug-restart', color: 'charts.yellow' };
    case 'deferred':
      return { icon: 'watch', color: 'charts.purple' };
    case 'skipped':
    case 'removed':
      return { icon: 'debug-step-over', color: 'disabledForeground' };
    default:
      return { icon: 'circle-outline' };
  }
}

/** 4s, 1m 05s, 1h 02m */
export function formatSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Seconds from start to end (or to now while running); undefined before it started. */
export function spanSeconds(start: string | undefined, end: string | undefined, now: number = Date.now()): number | undefined {
  if (!start) return undefined;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
  return Math.max(0, (b - a) / 1000);
}

/**
 * "success · 2026-11-25 19:20:01 · 1m 05s"; a run still going shows when it started instead of a ticking
 * duration: re-rendering a run row re-reads its task rows, so a run row changes only when the run does.
 */
export function runDescription(run: AirflowDagRun, now: number = Date.now()): string {
  const parts = [run.state];
  // Airflow 3: a run may have no logical date (triggered "now"): it is shown by when it was due
  if (run.logicalDate) parts.push(shortDate(run.logicalDate));
  else if (run.runAfter) parts.push(`${shortDate(run.runAfter)} (no logical date)`);
  if (run.startDate && !run.endDate && !isFinishedRunState(run.state)) parts.push(`started ${shortDate(run.startDate).slice(11)}`);
  else {
    const d = spanSeconds(run.startDate, run.endDate, now);
    if (d !== undefined) parts.push(formatSeconds(d));
  }
  // Airflow 3: the DAG version(s) the run ran ("v3", "v2→v3" when the DAG changed during the run)
  if (run.dagVersions?.length) parts.push(`v${run.dagVersions.join('→v')}`);
  return parts.join(' · ');
}

/** The run row's tooltip: its id, type, logical date (or that it has none), times, DAG versions. */
export function runTooltip(run: AirflowDagRun): string {
  const lines = [`${run.runId}: ${run.state}${run.runType ? ` (${run.runType})` : ''}`];
  lines.push(run.logicalDate ? `logical date ${run.logicalDate}` : run.runAfter ? `no logical date (Airflow 3); run after ${run.runAfter}` : 'no logical date');
  if (run.startDate) lines.push(`started ${run.startDate}`);
  if (run.endDate) lines.push(`ended ${run.endDate}`);
  if (run.dagVersions?.length) lines.push(`DAG version${run.dagVersions.length > 1 ? 's' : ''} ${run.dagVersions.join(', ')}`);
  return lines.join('\n');
}

/** "produced by etl.extract · schedules report" for an asset row. */
export function assetDescription(a: AirflowAsset): string {
  const parts: string[] = [];
  if (a.producers.length) parts.push(`produced by ${a.producers.map((p) => `${p.dagId}.${p.taskId}`).join(', ')}`);
  if (a.consumers.length) parts.push(`schedules ${a.consumers.join(', ')}`);
  if (!parts.length) parts.push('no producer or consumer');
  return parts.join(' · ');
}

/** "success · try 1 · 12s" */
export function taskDescription(ti: AirflowTaskInstance, now: number = Date.now()): string {
  const parts = [ti.state ?? 'no status'];
  if (ti.tryNumber > 0) parts.push(`try ${ti.tryNumber}`);
  const d = ti.duration ?? spanSeconds(ti.startDate, ti.endDate, now);
  if (d !== undefined) parts.push(formatSeconds(d));
  return parts.join(' · ');
}

export function shortDate(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

export function isFinishedRunState(state: string): boolean {
  return state === 'success' || state === 'failed';
}

/** A task state that will not change without someone acting. */
export function isFinishedTaskState(state: string | undefined): boolean {
  return state === 'success' || state === 'failed' || state === 'upstream_failed' || state === 'skipped' || state === 'removed';
}

// ---------------------------------------------------------------- trigger config

export type ConfigParse = { ok: true; conf: Record<string, unknown> } | { ok: false; error: string };

/** Checks a Trigger-with-Config text: empty means {}, otherwise it must be a JSON object. */
export function parseTriggerConfig(text: string): ConfigParse {
  const trimmed = text.trim();
  if (!trimmed) return { ok: true, conf: {} };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    return { ok: false, error: `Not valid JSON: ${(err as Error).message}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: 'The config must be a JSON object, e.g. {"key": "value"}.' };
  }
  return { ok: true, conf: value as Record<string, unknown> };
}

// ---------------------------------------------------------------- DAG files

function splitPath(p: string): string[] {
  return p.split(/[\\/]+/).filter(Boolean);
}

/**
 * Maps the server's DAG file path (e.g. /opt/airflow/dags/etl/load.py in the compose stack) to the
 * workspace file that shares the longest trailing path with it. Candidates are workspace files with
 * the same base name; an exact path match wins.
 */
export function bestFileMatch(fileloc: string, candidates: string[]): string | undefined {
  const target = splitPath(fileloc);
  let best: string | undefined;
  let bestScore = 0;
  for (const c of candidates) {
    if (c === fileloc) return c;
    const parts = splitPath(c);
    let n = 0;
    while (n < parts.length && n < target.length && parts[parts.length - 1 - n] === target[target.length - 1 - n]) n++;
    if (n > bestScore || (n === bestScore && best !== undefined && c.length < best.length)) {
      if (n > 0) {
        best = c;
        bestScore = n;
      }
    }
  }
  return best;
}

// ---------------------------------------------------------------- import errors

export interface ImportErrorLocation {
  /** the broken file as the server names it */
  file: string;
  /** 0-based line, 0 when the trace names none for that file */
  line: number;
  /** one line for the Problems panel: the exception line of the trace */
  message: string;
}

/** Where an import error points: the last traceback frame in the broken file, and the exception line. */
export function importErrorLocation(e: AirflowImportError): ImportErrorLocation {
  const lines = e.stackTrace.split(/\r?\n/);
  let line = 0;
  const frame = /File "([^"]+)", line (\d+)/;
  for (const l of lines) {
    const m = frame.exec(l);
    if (m && (m[1] === e.filename || m[1]!.endsWith('/' + baseName(e.filename)))) line = Math.max(0, Number(m[2]) - 1);
  }
  const nonEmpty = lines.map((l) => l.trim()).filter(Boolean);
  const exceptionLine = [...nonEmpty].reverse().find((l) => /^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt)\b/.test(l));
  const message = exceptionLine ?? nonEmpty[nonEmpty.length - 1] ?? 'Broken DAG';
  return { file: e.filename, line, message };
}

function baseName(p: string): string {
  const parts = splitPath(p);
  return parts[parts.length - 1] ?? p;
}
