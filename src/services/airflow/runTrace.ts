/**
 * One pipeline run, traced: its task tries on a timeline, the Spark application each Spark task
 * started (linked by the tags the stack puts in the application's name at submit time and read back
 * from the master, never guessed by time, or named as its parent run in OpenLineage), what each task
 * read and wrote from OpenLineage (runLineage.ts: for any DAG), and each Kafka offset range, the XCom
 * "datapipeline_kafka" a task pushes overriding what lineage measured. No `vscode` import.
 */
import type { AirflowClient } from './client';
import { formatSeconds, spanSeconds } from './dagsModel';
import type { AirflowDagRun, AirflowTaskInstance } from './types';
import type { SparkApplication } from '../spark/models';
import { errorMessage } from '../util/errors';
import { announcedAppIds } from '../spark/driverOutput';
import type { OLEvent } from '../lineage/openlineage';
import { runLineage, type RangeSource, type RunDataset } from '../lineage/runLineage';

/** What the stack's cluster policy appends to a Spark application's name: " [dp:<dag>/<task>/<run_id>]". */
export interface SparkTags {
  dagId: string;
  taskId: string;
  runId: string;
}

const TAG_RE = /\[dp:([^/\]]+)\/([^/\]]+)\/([^\]]+)\]\s*$/;

export function parseSparkTags(appName: string): SparkTags | undefined {
  const m = TAG_RE.exec(appName);
  return m ? { dagId: m[1], taskId: m[2], runId: m[3] } : undefined;
}

/** The application's name without its tags ("kafka_spark_pipeline"). */
export function untaggedName(appName: string): string {
  return appName.replace(TAG_RE, '').trim();
}

export const KAFKA_XCOM_KEY = 'datapipeline_kafka';

export interface KafkaRange {
  topic: string;
  role: 'read' | 'write';
  /** the task that read or wrote it */
  taskId: string;
  partitions: Array<{ partition: number; start: number; end: number }>;
  /** messages in the range (offsets spanned) */
  count: number;
  /** where the range came from (an XCom when not said) */
  source?: RangeSource;
  /** source "upstream": the task whose write it is */
  sourceTask?: string;
}

/**
 * The entries of one task's "datapipeline_kafka" XCom (a list, or its JSON): each {topic, role,
 * task?, start: {partition: offset}, end: {…}}; an entry without a task is the pushing task's.
 * Malformed entries are left out.
 */
export function parseKafkaRanges(value: unknown, pushingTask: string): KafkaRange[] {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(v)) return [];
  const out: KafkaRange[] = [];
  for (const e of v) {
    if (!e || typeof e !== 'object') continue;
    const o = e as Record<string, unknown>;
    if (typeof o.topic !== 'string' || (o.role !== 'read' && o.role !== 'write')) continue;
    const start = offsetsOf(o.start);
    const end = offsetsOf(o.end);
    if (!start || !end) continue;
    const partitions = [...end.entries()]
      .map(([partition, to]) => ({ partition, start: start.get(partition) ?? 0, end: to }))
      .filter((p) => p.end >= p.start)
      .sort((a, b) => a.partition - b.partition);
    out.push({
      topic: o.topic,
      role: o.role,
      taskId: typeof o.task === 'string' && o.task ? o.task : pushingTask,
      partitions,
      count: partitions.reduce((n, p) => n + p.end - p.start, 0),
    });
  }
  return out;
}

function offsetsOf(x: unknown): Map<number, number> | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return undefined;
  const m = new Map<number, number>();
  for (const [k, val] of Object.entries(x as Record<string, unknown>)) {
    const p = Number(k);
    if (!Number.isInteger(p) || p < 0 || typeof val !== 'number' || !Number.isInteger(val) || val < 0) return undefined;
    m.set(p, val);
  }
  return m;
}

export interface TaskBar {
  taskId: string;
  tryNumber: number;
  state?: string;
  /** epoch ms; undefined: not started */
  startMs?: number;
  /** epoch ms; undefined while running */
  endMs?: number;
  /** "34s" */
  duration: string;
  operator?: string;
}

export interface SparkLink {
  taskId: string;
  appId: string;
  name: string;
  state: string;
  duration: string;
}

/** A run, traced: what the run view draws. */
export interface RunTrace {
  /** the timeline's ends (epoch ms): the run's start (or its first try's) to its end (or now) */
  startMs: number;
  endMs: number;
  bars: TaskBar[];
  spark: SparkLink[];
  kafka: KafkaRange[];
  /** what each task read and wrote (OpenLineage, with the XCom ranges in), in the order the tasks ran */
  datasets: RunDataset[];
  /** what could not be read (e.g. the Spark master down), one line each */
  notes: string[];
}

const ms = (iso: string | undefined) => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

/**
 * The timeline of a run's task tries, ordered by start (not started last, in `order`), with the
 * span they fill: from the run's start to its end (now while it runs).
 */
export function taskTimeline(run: AirflowDagRun, tries: AirflowTaskInstance[], order: string[], now = Date.now()): Pick<RunTrace, 'startMs' | 'endMs' | 'bars'> {
  const rank = (t: AirflowTaskInstance) => {
    const i = order.indexOf(t.taskId);
    return i < 0 ? order.length : i;
  };
  const bars = [...tries]
    .sort((a, b) => (ms(a.startDate) ?? Infinity) - (ms(b.startDate) ?? Infinity) || rank(a) - rank(b) || a.tryNumber - b.tryNumber)
    .map((t): TaskBar => {
      const secs = t.duration ?? spanSeconds(t.startDate, t.endDate, now);
      return { taskId: t.taskId, tryNumber: t.tryNumber, state: t.state, startMs: ms(t.startDate), endMs: ms(t.endDate), duration: secs === undefined ? '' : formatSeconds(secs), operator: t.operator };
    });
  const starts = bars.map((b) => b.startMs).filter((x): x is number => x !== undefined);
  const ends = bars.map((b) => b.endMs ?? (b.startMs !== undefined ? now : undefined)).filter((x): x is number => x !== undefined);
  const startMs = ms(run.startDate) ?? (starts.length ? Math.min(...starts) : now);
  const endMs = Math.max(ms(run.endDate) ?? now, ...ends, startMs + 1);
  return { startMs, endMs, bars };
}

/** The applications tagged with this run, by task (newest first when a task ran twice). */
export function sparkLinks(apps: SparkApplication[], dagId: string, runId: string): SparkLink[] {
  return apps
    .map((a) => ({ a, tags: parseSparkTags(a.name) }))
    .filter(({ tags }) => tags && tags.dagId === dagId && tags.runId === runId)
    .sort((x, y) => y.a.startTime - x.a.startTime)
    .map(({ a, tags }) => link(a, tags!.taskId));
}

function link(a: SparkApplication, taskId: string): SparkLink {
  return { taskId, appId: a.id, name: untaggedName(a.name), state: a.state, duration: formatSeconds(a.duration / 1000) };
}

/**
 * The applications a task's driver announced in its log (the application id Spark prints when it
 * connects), for the tasks no tag links: a job that names itself (SparkSession.builder.appName(…))
 * replaces the name the tag was in, and an Airflow without the stack's policy tags nothing.
 */
export function sparkLinksFromLogs(apps: SparkApplication[], logs: Array<{ taskId: string; text: string }>): SparkLink[] {
  const byId = new Map(apps.map((a) => [a.id, a]));
  return logs
    .flatMap(({ taskId, text }) => announcedAppIds(text).map((id) => byId.get(id)).filter((a): a is SparkApplication => !!a).map((a) => ({ a, taskId })))
    .sort((x, y) => y.a.startTime - x.a.startTime)
    .map(({ a, taskId }) => link(a, taskId));
}

export interface TraceSources {
  /** the master's applications (undefined: no Spark to ask on this connection) */
  sparkApps?: () => Promise<SparkApplication[]>;
  now?: number;
  /** task order for ties (e.g. the DAG's) */
  order?: string[];
  /** what the user does to get a Spark task's applications tagged on this Airflow (default: UNTAGGED_HINT) */
  untaggedHint?: string;
  /** the OpenLineage events the stack received (undefined: no receiver on this connection) */
  lineage?: () => Promise<OLEvent[]>;
  /** false: leave the XCom "datapipeline_kafka" out (what lineage alone knows) */
  xcom?: boolean;
}

/**
 * The run's datasets from lineage with the XCom ranges in (an XCom range is exact, so it overrides
 * what lineage measured or inferred for the same task, topic and role), and the Kafka ranges of both.
 */
export function mergeRanges(datasets: RunDataset[], xcom: KafkaRange[]): { datasets: RunDataset[]; kafka: KafkaRange[] } {
  const out = datasets.map((d) => ({ ...d, via: [...d.via] }));
  for (const r of xcom) {
    const d = out.find((x) => x.kind === 'kafka' && x.taskId === r.taskId && x.role === r.role && x.name === r.topic);
    const range = { partitions: r.partitions, count: r.count, rangeSource: 'xcom' as const, rangeTask: undefined };
    if (d) Object.assign(d, range);
    else out.push({ taskId: r.taskId, role: r.role, kind: 'kafka', namespace: 'kafka://', name: r.topic, label: r.topic, via: [], ...range });
  }
  const kafka: KafkaRange[] = xcom.map((r) => ({ ...r, source: 'xcom' }));
  for (const d of out) {
    if (d.kind !== 'kafka' || !d.partitions || d.rangeSource === 'xcom') continue;
    kafka.push({ topic: d.name, role: d.role, taskId: d.taskId, partitions: d.partitions, count: d.count ?? 0, source: d.rangeSource, sourceTask: d.rangeTask });
  }
  return { datasets: out, kafka };
}

/** Why a Spark task has no application in the trace, when nothing more is known of the Airflow. */
export const UNTAGGED_HINT =
  'the run view links an application to its task by the tag DataPipeline\u2019s cluster policy (stack/plugins/airflow_local_settings.py) adds to its name at submit time, or by the application id its driver prints in the task\u2019s log; neither was found (the master may have forgotten the application, or the task started Spark another way).';

/** The one line a compose file of the user's own adds to its Airflow services' volumes to get the tags. */
export function clusterPolicyHint(policyFile: string, composeFile: string): string {
  return `your Airflow runs without DataPipeline\u2019s cluster policy, which tags each application with its run. Add this line to the volumes of the Airflow services in ${composeFile}: - "${policyFile}:/opt/airflow/config/airflow_local_settings.py:ro" (or run the project on DataPipeline\u2019s stack: setting datapipeline.project.stack, bundled).`;
}

/** The tasks that ran a Spark operator (by the operator's name) and have no application linked; finished only unless `started`. */
export function untaggedSparkTasks(tasks: AirflowTaskInstance[], links: SparkLink[], started = false): string[] {
  // finished: a running task's application may not be registered with the master yet
  const ran = tasks.filter((t) => /spark/i.test(t.operator ?? '') && (started ? !!t.startDate : t.state === 'success' || t.state === 'failed'));
  return [...new Set(ran.map((t) => t.taskId))].filter((id) => !links.some((l) => l.taskId === id));
}

/** Reads what the trace needs: the run, its tries (every try on Airflow 3), its Kafka ranges and its Spark applications. */
export async function collectRunTrace(client: AirflowClient, dagId: string, runId: string, src: TraceSources = {}): Promise<{ run: AirflowDagRun; tasks: AirflowTaskInstance[]; trace: RunTrace }> {
  const [run, tasks] = await Promise.all([client.getDagRun(dagId, runId), client.listTaskInstances(dagId, runId)]);
  return { run, tasks, trace: await traceRun(client, run, tasks, src) };
}

/** The trace of a run whose tasks were read already (so a caller can read other things of it meanwhile). */
export async function traceRun(client: AirflowClient, run: AirflowDagRun, tasks: AirflowTaskInstance[], src: TraceSources = {}): Promise<RunTrace> {
  const { dagId, runId } = run;
  const notes: string[] = [];
  // earlier tries of a retried task (Airflow 3 lists them; Airflow 2.8's API keeps only the latest)
  const tries = (
    await Promise.all(
      tasks.map(async (t) => (t.tryNumber > 1 ? ((await client.listTaskTries(dagId, runId, t.taskId).catch(() => undefined)) ?? [t]) : [t])),
    )
  ).flat();
  const timeline = taskTimeline(run, tries, src.order ?? [], src.now);
  const ranOrder = [...new Set(timeline.bars.map((b) => b.taskId))];
  const lineage = src.lineage
    ? src.lineage().then(
        (events) => runLineage(events, dagId, runId, ranOrder),
        (e: unknown) => {
          notes.push(`Lineage unreadable: ${errorMessage(e)}`);
          return undefined;
        },
      )
    : Promise.resolve(undefined);
  const [xcom, spark, lin] = await Promise.all([
    src.xcom === false
      ? Promise.resolve([] as KafkaRange[])
      : client
      .listXcomValues(dagId, runId, KAFKA_XCOM_KEY, tasks.map((t) => t.taskId))
      .then((xs) => xs.flatMap((x) => parseKafkaRanges(x.value, x.taskId)))
      .catch((e: unknown) => {
        notes.push(`Kafka ranges unreadable: ${errorMessage(e)}`);
        return [] as KafkaRange[];
      }),
    src.sparkApps
      ? src.sparkApps().then(
          async (apps) => {
            const tagged = sparkLinks(apps, dagId, runId);
            // the others: by the application id their driver printed in the task's log (its latest try)
            const logs = await Promise.all(
              untaggedSparkTasks(tasks, tagged, true).map(async (taskId) => {
                const t = tasks.find((x) => x.taskId === taskId)!;
                return { taskId, text: (await client.getTaskLog(t, Math.max(1, t.tryNumber)).catch(() => undefined))?.text ?? '' };
              }),
            );
            const logged = sparkLinksFromLogs(apps, logs);
            // and the applications OpenLineage names as a task's child run
            const byId = new Map(apps.map((a) => [a.id, a]));
            const named = ((await lineage)?.spark ?? [])
              .filter((s) => s.appId && byId.has(s.appId) && ![...tagged, ...logged].some((l) => l.appId === s.appId))
              .map((s) => link(byId.get(s.appId!)!, s.taskId));
            const links = [...tagged, ...logged, ...named];
            const unlinked = untaggedSparkTasks(tasks, links);
            if (unlinked.length) notes.push(`No Spark application is linked to ${unlinked.join(', ')}: ${src.untaggedHint ?? UNTAGGED_HINT}`);
            return links;
          },
          (e: unknown) => {
            notes.push(`Spark applications unreadable: ${errorMessage(e)}`);
            return [] as SparkLink[];
          },
        )
      : Promise.resolve([] as SparkLink[]),
    lineage,
  ]);
  const { datasets, kafka } = mergeRanges(lin?.datasets ?? [], xcom);
  return { ...timeline, spark, kafka, datasets, notes };
}
