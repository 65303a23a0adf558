/**
 * Run one task now, or Test DAG: Airflow's `tasks test` (no scheduler; the task's state is not
 * recorded) and `dags test` (dag.test(): the whole DAG in one process) in the stack's Airflow
 * environment, through the stack's runner (stack/plugins/datapipeline_runner.py), which prints each
 * XCom as the task pushes it. This module builds the argv, reads the XCom lines out of the output and
 * maps the Airflow process's paths to this machine's. No `vscode` import.
 */
import type { AirflowRunIO, PathMap, StackBackend } from '../stack/types';
import { StackError } from '../stack/types';
import { LineSplitter } from '../spark/driverOutput';

/** The runner's module name (on the stack's PYTHONPATH: its plugins folder). */
export const RUNNER_MODULE = 'datapipeline_runner';
export const XCOM_MARK = 'DATAPIPELINE_XCOM ';
/** printed by the runner once debugpy listens (the task waits for the debugger to attach) */
export const DEBUG_MARK = 'DATAPIPELINE_DEBUG_READY ';

export type TaskRunRequest = { kind: 'task'; dagId: string; taskId: string; logicalDate?: string } | { kind: 'dag'; dagId: string };

export interface PushedXcom {
  task?: string;
  key: string;
  value: unknown;
}

export interface TaskRunOutcome {
  exitCode: number;
  xcoms: PushedXcom[];
  /** the whole output (stdout and stderr as they came), paths mapped to this machine */
  output: string;
}

/** The CLI arguments after `airflow`. */
export function runnerArgv(r: TaskRunRequest): string[] {
  if (r.kind === 'dag') return ['dags', 'test', r.dagId];
  return ['tasks', 'test', r.dagId, r.taskId, ...(r.logicalDate ? [r.logicalDate] : [])];
}

/** The JSON object that starts `text` (its closing brace found outside strings), or undefined. */
function leadingObject(text: string): string | undefined {
  if (!text.startsWith('{')) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(0, i + 1);
  }
  return undefined;
}

/** One XCom line of the runner (as printed, or inside a log line that wraps it), or undefined for any other line. */
export function parseXcomLine(line: string): PushedXcom | undefined {
  const i = line.indexOf(XCOM_MARK);
  if (i < 0) return undefined;
  const json = leadingObject(line.slice(i + XCOM_MARK.length));
  if (!json) return undefined;
  try {
    const o = JSON.parse(json) as { task?: unknown; key?: unknown; value?: unknown };
    if (typeof o.key !== 'string') return undefined;
    return { task: typeof o.task === 'string' ? o.task : undefined, key: o.key, value: o.value };
  } catch {
    return undefined;
  }
}

/** Rewrites the Airflow process's paths (a container's /opt/airflow/dags/…) to this machine's, longest first. */
export function mapPaths(text: string, pathMap: PathMap): string {
  let out = text;
  for (const m of [...pathMap].sort((a, b) => b.remote.length - a.remote.length)) {
    const remote = m.remote.replace(/\/+$/, '');
    out = out.split(`${remote}/`).join(`${m.local.replace(/[\\/]+$/, '')}/`);
  }
  return out;
}

/**
 * Runs the request on the stack's Airflow; `onLine` gets each output line (paths mapped), XCom lines
 * included. The outcome holds the exit code, the XComs pushed and the output.
 */
export interface TaskRunIO {
  onLine?(line: string): void;
  signal?: AbortSignal;
  /** Debug Task: run under debugpy; called once it listens (the port on 127.0.0.1, how the process's paths map to this machine's) */
  onDebugReady?(port: number, pathMap: PathMap): void;
}

export async function runTask(backend: StackBackend, r: TaskRunRequest, io: TaskRunIO = {}): Promise<TaskRunOutcome> {
  if (!backend.runAirflow) throw new StackError(`The ${backend.kind} stack cannot run an Airflow task here.`, { nextStep: 'Run the task from the Airflow UI, or use the DataPipeline stack.' });
  const xcoms: PushedXcom[] = [];
  const lines: string[] = [];
  let map: PathMap = [];
  let debugPort: number | undefined;
  let debugReady = false;
  const onLine = (raw: string) => {
    if (!debugReady && debugPort && raw.includes(DEBUG_MARK)) {
      debugReady = true;
      io.onDebugReady?.(debugPort, map);
    }
    const line = mapPaths(raw, map);
    const x = parseXcomLine(line);
    if (x) xcoms.push(x);
    lines.push(line);
    io.onLine?.(line);
  };
  // one splitter per stream: a print without its newline yet is not glued to a log line on the other
  const out = new LineSplitter();
  const err = new LineSplitter();
  const sink: AirflowRunIO = {
    onStart: (i) => {
      map = i.pathMap;
      debugPort = i.debugPort;
    },
    onStdout: (c) => out.push(c).forEach(onLine),
    onStderr: (c) => err.push(c).forEach(onLine),
    signal: io.signal,
  };
  const res = await backend.runAirflow(runnerArgv(r), sink, { debug: !!io.onDebugReady });
  out.flush().forEach(onLine);
  err.flush().forEach(onLine);
  if (res.exitCode !== 0 && lines.some((l) => new RegExp(`No module named '?${RUNNER_MODULE}`).test(l))) {
    throw new StackError("This stack's Airflow has no DataPipeline runner: its own compose file runs without DataPipeline's plugins.", {
      nextStep: 'Run the project on DataPipeline\u2019s stack (setting datapipeline.project.stack: bundled), or run `airflow tasks test` in your scheduler container.',
    });
  }
  return { exitCode: res.exitCode, xcoms, output: lines.join('\n') };
}
