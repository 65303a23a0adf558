/**
 * Trigger Streaming DAG without vscode: unpause, trigger, follow the run to its end (naming the task
 * that runs, noticing a run stuck in queued while the scheduler is down), then collect the summary
 * the output viewer shows.
 */
import type { AirflowClient } from './client';
import { AirflowError } from './errors';
import { isFinishedRunState, spanSeconds } from './dagsModel';
import type { AirflowDagRun, AirflowHealth, AirflowTaskInstance } from './types';
import { sleep } from '../util/sleep';

export const STREAMING_DAG_ID = 'kafka_spark_pipeline';
export const STREAMING_TASK_ORDER = ['create_kafka_topics', 'produce_sample_data', 'process_kafka_with_spark', 'consume_output_topic'];

export interface RunProgress {
  run: AirflowDagRun;
  tasks: AirflowTaskInstance[];
  /** what to show: "Running process_kafka_with_spark (2 of 4 done)" */
  message: string;
}

export interface FollowOptions {
  pollMs?: number;
  /** a run still queued after this long while the scheduler is unhealthy is reported stuck */
  stuckAfterMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  now?: () => number;
}

/** Tasks in DAG order when the ids are known, else by start date then id. */
export function orderTasks(tasks: AirflowTaskInstance[], order: string[] = STREAMING_TASK_ORDER): AirflowTaskInstance[] {
  const rank = (t: AirflowTaskInstance) => {
    const i = order.indexOf(t.taskId);
    return i < 0 ? order.length : i;
  };
  return [...tasks].sort((a, b) => rank(a) - rank(b) || (a.startDate ?? '~').localeCompare(b.startDate ?? '~') || a.taskId.localeCompare(b.taskId));
}

/** The progress line for a run and its tasks. */
export function describeProgress(run: AirflowDagRun, tasks: AirflowTaskInstance[]): string {
  const done = tasks.filter((t) => t.state === 'success' || t.state === 'skipped').length;
  const of = tasks.length ? ` (${done} of ${tasks.length} done)` : '';
  if (run.state === 'queued') return `Run queued, waiting for the scheduler${of}`;
  if (run.state === 'success') return `Run succeeded${of}`;
  const running = orderTasks(tasks).filter((t) => t.state === 'running' || t.state === 'queued' || t.state === 'up_for_retry');
  if (running.length) return `${running[0]!.state === 'running' ? 'Running' : 'Waiting for'} ${running.map((t) => t.taskId).join(', ')}${of}`;
  if (run.state === 'failed') return `Run failed${of}`;
  return `Run ${run.state}${of}`;
}

/** The task a failed run failed at: the first failed one in DAG order. */
export function failingTask(tasks: AirflowTaskInstance[]): AirflowTaskInstance | undefined {
  return orderTasks(tasks).find((t) => t.state === 'failed') ?? orderTasks(tasks).find((t) => t.state === 'upstream_failed');
}

/** Whether the scheduler looks down from a health answer (a stale heartbeat counts). */
export function schedulerDown(h: AirflowHealth | undefined): boolean {
  return !!h && h.scheduler !== undefined && h.scheduler !== 'healthy';
}

export function stuckQueuedError(baseUrl: string, run: AirflowDagRun, waitedMs: number): AirflowError {
  return new AirflowError(
    'stuckQueued',
    `Run "${run.runId}" of ${run.dagId} has been queued for ${Math.round(waitedMs / 1000)}s and the Airflow scheduler is not running, so it will not start.`,
    baseUrl,
    'Start the stack again (DataPipeline: Start Stack) or restart the Airflow scheduler; the run starts once the scheduler is back.',
  );
}

/** Unpauses the DAG if needed, then triggers a run. */
export async function triggerStreaming(client: AirflowClient, dagId = STREAMING_DAG_ID, conf: Record<string, unknown> = {}): Promise<AirflowDagRun> {
  const dag = await client.getDag(dagId);
  if (dag.isPaused) await client.setPaused(dagId, false);
  return client.triggerDagRun(dagId, { conf });
}

/** Polls the run until it succeeds or fails; throws a 'stuckQueued' AirflowError, or an AbortError when cancelled. */
export async function followRun(client: AirflowClient, dagId: string, runId: string, o: FollowOptions = {}): Promise<RunProgress> {
  const pollMs = o.pollMs ?? 2000;
  const stuckAfterMs = o.stuckAfterMs ?? 30_000;
  const now = o.now ?? Date.now;
  const started = now();
  for (;;) {
    o.signal?.throwIfAborted();
    const run = await client.getDagRun(dagId, runId);
    const tasks = orderTasks(await client.listTaskInstances(dagId, runId));
    const p: RunProgress = { run, tasks, message: describeProgress(run, tasks) };
    o.onProgress?.(p);
    if (isFinishedRunState(run.state)) return p;
    const waited = now() - started;
    if (run.state === 'queued' && waited >= stuckAfterMs) {
      const health = await client.health().catch(() => undefined);
      if (schedulerDown(health)) throw stuckQueuedError(client.baseUrl, run, waited);
    }
    await sleep(pollMs, o.signal);
  }
}

// ---------------------------------------------------------------- the output viewer's data

export interface OutputRange {
  topic: string;
  /** partition -> first offset of this run */
  start: Map<number, number>;
  /** partition -> end offset (exclusive) after this run */
  end: Map<number, number>;
}

/** Validates the XCom "output_offsets" that consume_output_topic pushes. */
export function parseOutputRange(v: unknown): OutputRange | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.topic !== 'string') return undefined;
  const toMap = (x: unknown): Map<number, number> | undefined => {
    if (!x || typeof x !== 'object') return undefined;
    const m = new Map<number, number>();
    for (const [k, val] of Object.entries(x as Record<string, unknown>)) {
      const p = Number(k);
      if (!Number.isInteger(p) || typeof val !== 'number' || !Number.isInteger(val) || val < 0) return undefined;
      m.set(p, val);
    }
    return m;
  };
  const start = toMap(o.start);
  const end = toMap(o.end);
  if (!start || !end) return undefined;
  return { topic: o.topic, start, end };
}

export interface OutputRecord {
  partition: number;
  offset: string;
  key?: string;
  value: string;
  /** fields of a JSON object value, for the table */
  fields?: Record<string, unknown>;
}

export function toOutputRecord(partition: number, offset: string, key: Buffer | null, value: Buffer | null): OutputRecord {
  const text = value ? value.toString('utf8') : '';
  let fields: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
  } catch {
    fields = undefined;
  }
  return { partition, offset, key: key ? key.toString('utf8') : undefined, value: text, fields };
}

export interface TaskSummary {
  taskId: string;
  state?: string;
  tryNumber: number;
  durationSeconds?: number;
}

export function summarizeTasks(tasks: AirflowTaskInstance[], now: number = Date.now()): TaskSummary[] {
  return orderTasks(tasks).map((t) => ({
    taskId: t.taskId,
    state: t.state,
    tryNumber: t.tryNumber,
    durationSeconds: t.duration ?? spanSeconds(t.startDate, t.endDate, now),
  }));
}
