/**
 * What one Airflow run read and wrote, from OpenLineage events alone: for a DAG with no DataPipeline
 * code in it. Pure (unit-tested on recorded events).
 *
 * - A task's run is the run the stack's listener (plugins/datapipeline_lineage.py) reports with the
 *   facet "datapipeline_kafka" {dagId, taskId, runId, tryNumber}: the same OpenLineage run id as the
 *   provider's events for that task try, whose datasets join it.
 * - A Spark application belongs to the task named as its parent (or root) run: the cluster policy
 *   gives a SparkSubmitOperator's job spark.openlineage.parentRunId.
 * - Kafka ranges, best first: the offsets of the records the task's own kafka-python producer and
 *   consumer handled ("measured"); for a topic its Spark job wrote, the topic's growth between the
 *   task's start and end ("end offsets"); for a topic read with no measure, what an earlier task of the
 *   same run wrote to it ("upstream"). A range pushed in the XCom "datapipeline_kafka" overrides all
 *   of these (runTrace.ts).
 */
import type { OLDataset, OLEvent } from './openlineage';

export type DatasetKind = 'kafka' | 'table' | 'file' | 'other';
/** Which events named the dataset: Airflow's provider, the Spark listener, or the stack's listener. */
export type DatasetVia = 'airflow' | 'spark' | 'listener';
/** Where a Kafka range came from. */
export type RangeSource = 'xcom' | 'measured' | 'end offsets' | 'upstream';

export interface PartitionRange {
  partition: number;
  start: number;
  end: number;
}

export interface RunDataset {
  taskId: string;
  role: 'read' | 'write';
  kind: DatasetKind;
  namespace: string;
  name: string;
  /** what a person calls it: the topic, the table (schema.table), the path */
  label: string;
  via: DatasetVia[];
  /** Kafka: the offsets (end exclusive) */
  partitions?: PartitionRange[];
  count?: number;
  rangeSource?: RangeSource;
  /** rangeSource "upstream": the task whose write it is */
  rangeTask?: string;
}

export interface LineageSparkApp {
  taskId: string;
  /** the application's OpenLineage run id */
  olRunId: string;
  appId?: string;
  appName?: string;
  uiUrl?: string;
}

export interface LineageTask {
  taskId: string;
  olRunId: string;
  tryNumber?: number;
  state?: string;
}

export interface RunLineage {
  tasks: LineageTask[];
  datasets: RunDataset[];
  spark: LineageSparkApp[];
}

interface RunInfo {
  runId: string;
  job: { namespace: string; name: string };
  events: OLEvent[];
  parent?: string;
  root?: string;
}

interface TaskFacet {
  dagId?: string;
  taskId?: string;
  runId?: string;
  tryNumber?: number;
  state?: string;
  servers?: string;
  measured?: Array<{ servers?: string; topic?: string; role?: string; start?: Record<string, number>; end?: Record<string, number> }>;
  endOffsets?: Record<string, { start?: Record<string, number>; end?: Record<string, number> }> | null;
}

const obj = (x: unknown): Record<string, unknown> | undefined => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined);

function parentIds(e: OLEvent): { parent?: string; root?: string } {
  const p = obj(e.run.facets?.parent);
  const parent = obj(p?.run)?.runId;
  const root = obj(obj(p?.root)?.run)?.runId;
  return { parent: typeof parent === 'string' ? parent : undefined, root: typeof root === 'string' ? root : undefined };
}

/**
 * The events indexed once for any number of runs: grouped by OpenLineage run, the task runs the
 * stack's listener reported by Airflow run, and the runs under each parent run.
 */
export interface LineageIndex {
  runs: Map<string, RunInfo>;
  /** "dagId\u0000runId" -> task id -> its latest try */
  airflowRuns: Map<string, Map<string, TaskRun>>;
  /** parent run id -> the runs that name it as parent or root */
  children: Map<string, RunInfo[]>;
}

interface TaskRun {
  task: LineageTask;
  facet: TaskFacet;
  info: RunInfo;
}

export const airflowRunKey = (dagId: string, runId: string) => `${dagId}\u0000${runId}`;

/** The index of these events (made here when given the events), and the task runs of one Airflow run in it. */
function runTasks(events: OLEvent[] | LineageIndex, dagId: string, runId: string): { index: LineageIndex; tasks: TaskRun[] } {
  const index = Array.isArray(events) ? indexEvents(events) : events;
  return { index, tasks: [...(index.airflowRuns.get(airflowRunKey(dagId, runId))?.values() ?? [])] };
}

export function indexEvents(events: OLEvent[]): LineageIndex {
  const runs = new Map<string, RunInfo>();
  const airflowRuns = new Map<string, Map<string, TaskRun>>();
  for (const e of events) {
    let r = runs.get(e.run.runId);
    if (!r) runs.set(e.run.runId, (r = { runId: e.run.runId, job: e.job, events: [] }));
    r.events.push(e);
    const { parent, root } = parentIds(e);
    r.parent ??= parent;
    r.root ??= root;
    const f = obj(e.run.facets?.datapipeline_kafka) as TaskFacet | undefined;
    if (!f || typeof f.dagId !== 'string' || typeof f.runId !== 'string' || typeof f.taskId !== 'string') continue;
    const key = airflowRunKey(f.dagId, f.runId);
    let tasks = airflowRuns.get(key);
    if (!tasks) airflowRuns.set(key, (tasks = new Map()));
    const task: LineageTask = { taskId: f.taskId, olRunId: r.runId, tryNumber: typeof f.tryNumber === 'number' ? f.tryNumber : undefined, state: f.state };
    const have = tasks.get(f.taskId);
    if (!have || (task.tryNumber ?? 0) >= (have.task.tryNumber ?? 0)) tasks.set(f.taskId, { task, facet: f, info: r });
  }
  const children = new Map<string, RunInfo[]>();
  for (const r of runs.values()) {
    for (const p of new Set([r.parent, r.root])) {
      if (!p || p === r.runId) continue;
      let list = children.get(p);
      if (!list) children.set(p, (list = []));
      list.push(r);
    }
  }
  return { runs, airflowRuns, children };
}

/** What kind of dataset an OpenLineage namespace names, and what a person calls it. */
export function describeDataset(d: OLDataset): { kind: DatasetKind; label: string } {
  const ns = d.namespace;
  if (/^kafka:\/\//i.test(ns)) return { kind: 'kafka', label: d.name };
  if (/^(postgres|postgresql|mysql|jdbc|sqlserver|oracle|redshift|snowflake|bigquery|trino|hive|db2|teradata|sqlite)(:|$)/i.test(ns)) {
    // postgres://host:5432 + "airflow.public.orders" (database.schema.table; "airflow.orders" with no
    // schema named): what a person names is what follows the database
    const parts = d.name.split('.');
    return { kind: 'table', label: parts.length >= 2 ? parts.slice(1).join('.') : d.name };
  }
  if (/^(file|s3a?|gs|abfss?|hdfs|wasbs?)(:|$)/i.test(ns)) return { kind: 'file', label: ns === 'file' ? d.name : `${ns.replace(/\/+$/, '')}/${d.name.replace(/^\/+/, '')}` };
  return { kind: 'other', label: `${ns} ${d.name}` };
}

function ranges(start: Record<string, number> | undefined, end: Record<string, number> | undefined): PartitionRange[] | undefined {
  if (!end || typeof end !== 'object') return undefined;
  const out: PartitionRange[] = [];
  for (const [k, to] of Object.entries(end)) {
    const partition = Number(k);
    const from = start?.[k] ?? 0;
    if (!Number.isInteger(partition) || partition < 0 || !Number.isInteger(to) || !Number.isInteger(from) || to < from) return undefined;
    out.push({ partition, start: from, end: to });
  }
  return out.sort((a, b) => a.partition - b.partition);
}

const KINDS: DatasetKind[] = ['kafka', 'table', 'file', 'other'];
const countOf = (ps: PartitionRange[]) => ps.reduce((n, p) => n + p.end - p.start, 0);

/**
 * The lineage of one Airflow run (dagId, runId) in these events: per task, the datasets read and
 * written (Kafka topics with their ranges where known), and the Spark applications it started.
 * `order`: the tasks in the order they ran (for "what an earlier task wrote").
 */
export function runLineage(events: OLEvent[] | LineageIndex, dagId: string, runId: string, order: string[] = []): RunLineage {
  const { index, tasks } = runTasks(events, dagId, runId);
  const taskRunIds = new Set(tasks.map((t) => t.info.runId));
  const datasets = new Map<string, RunDataset>();
  const spark = new Map<string, LineageSparkApp>();

  const add = (taskId: string, role: 'read' | 'write', d: OLDataset, via: DatasetVia) => {
    if (!d || typeof d.namespace !== 'string' || typeof d.name !== 'string') return;
    const { kind, label } = describeDataset(d);
    // a topic is one dataset whichever client named it (kafka://broker:19092 from Spark, the same from Python)
    const key = `${taskId}\u0000${role}\u0000${kind === 'kafka' ? `kafka\u0000${d.name}` : `${d.namespace}\u0000${d.name}`}`;
    const have = datasets.get(key);
    if (have) {
      if (!have.via.includes(via)) have.via.push(via);
      return have;
    }
    const ds: RunDataset = { taskId, role, kind, namespace: d.namespace, name: d.name, label, via: [via] };
    datasets.set(key, ds);
    return ds;
  };

  for (const { task, facet, info } of tasks) {
    // the provider's events of this task try (and ours): their inputs and outputs
    for (const e of info.events) {
      const via: DatasetVia = obj(e.run.facets?.datapipeline_kafka) ? 'listener' : 'airflow';
      for (const d of e.inputs ?? []) add(task.taskId, 'read', d, via);
      for (const d of e.outputs ?? []) add(task.taskId, 'write', d, via);
    }
    // exact offsets of what its own producer and consumer handled
    for (const m of facet.measured ?? []) {
      if (typeof m.topic !== 'string' || (m.role !== 'read' && m.role !== 'write')) continue;
      const ds = add(task.taskId, m.role, { namespace: `kafka://${m.servers ?? ''}`, name: m.topic }, 'listener');
      const ps = ranges(m.start, m.end);
      if (ds && ps) Object.assign(ds, { partitions: ps, count: countOf(ps), rangeSource: 'measured' as const });
    }
  }

  // Spark: an application run whose parent (or root) is a task's run, and the actions under it
  const under = new Map<RunInfo, string>(); // a Spark run -> its task (an action is under its application and its task both)
  for (const t of tasks) for (const info of index.children.get(t.info.runId) ?? []) if (!under.has(info)) under.set(info, t.task.taskId);
  for (const [info, taskId] of under) {
    // the application-level run: its parent is the task itself
    const appLevel = info.parent !== undefined && taskRunIds.has(info.parent);
    for (const e of info.events) {
      for (const d of e.inputs ?? []) add(taskId, 'read', d, 'spark');
      for (const d of e.outputs ?? []) add(taskId, 'write', d, 'spark');
      const details = obj(e.run.facets?.spark_applicationDetails);
      const key = appLevel ? info.runId : (info.parent ?? info.runId);
      if (details || appLevel) {
        const app = spark.get(key) ?? { taskId, olRunId: key };
        if (details) {
          if (typeof details.applicationId === 'string') app.appId ??= details.applicationId;
          if (typeof details.appName === 'string') app.appName ??= details.appName;
          if (typeof details.uiWebUrl === 'string') app.uiUrl ??= details.uiWebUrl;
        }
        if (appLevel && !app.appName) app.appName = info.job.name;
        spark.set(key, app);
      }
    }
  }

  // what a Spark job wrote to a topic: the topic's growth while its task ran
  for (const { task, facet } of tasks) {
    // (a topic not in it did not grow: the task wrote nothing to it)
    const grown = obj(facet.endOffsets) as Record<string, { start?: Record<string, number>; end?: Record<string, number> }> | undefined;
    if (!grown) continue;
    for (const ds of datasets.values()) {
      if (ds.taskId !== task.taskId || ds.kind !== 'kafka' || ds.role !== 'write' || ds.partitions) continue;
      const g = grown[ds.name];
      const ps = g ? ranges(g.start, g.end) : [];
      if (ps) Object.assign(ds, { partitions: ps, count: countOf(ps), rangeSource: 'end offsets' as const });
    }
  }

  // a topic read with no measure: what an earlier task of this run wrote to it
  const rank = (taskId: string) => {
    const i = order.indexOf(taskId);
    return i < 0 ? order.length : i;
  };
  const all = [...datasets.values()];
  for (const ds of all) {
    if (ds.kind !== 'kafka' || ds.role !== 'read' || ds.partitions) continue;
    const writer = all
      .filter((w) => w.kind === 'kafka' && w.role === 'write' && w.name === ds.name && w.partitions && w.taskId !== ds.taskId && rank(w.taskId) < rank(ds.taskId))
      .sort((a, b) => rank(b.taskId) - rank(a.taskId))[0];
    if (writer) Object.assign(ds, { partitions: writer.partitions, count: writer.count, rangeSource: 'upstream' as const, rangeTask: writer.taskId });
  }

  return {
    tasks: tasks.map((t) => t.task),
    datasets: all.sort((a, b) => rank(a.taskId) - rank(b.taskId) || a.taskId.localeCompare(b.taskId) || (a.role === b.role ? 0 : a.role === 'read' ? -1 : 1) || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.label.localeCompare(b.label)),
    spark: [...spark.values()],
  };
}

/**
 * Every event of one Airflow run, in the order they happened: its tasks' (the provider's and the stack's
 * listener's), the Spark applications and actions under them, and the DAG run's own (the tasks' parent
 * run). What Export Lineage writes: OpenLineage's own JSON, for Marquez, DataHub or any consumer.
 */
export function runEvents(events: OLEvent[] | LineageIndex, dagId: string, runId: string): OLEvent[] {
  const { index, tasks } = runTasks(events, dagId, runId);
  const runs = new Set<RunInfo>();
  const add = (r: RunInfo | undefined, depth: number) => {
    if (!r || runs.has(r) || depth > 3) return;
    runs.add(r);
    for (const c of index.children.get(r.runId) ?? []) add(c, depth + 1);
  };
  for (const t of tasks) {
    add(t.info, 0);
    // the DAG run: the provider names it as each task's parent
    const dagRun = t.info.parent ? index.runs.get(t.info.parent) : undefined;
    if (dagRun && !runs.has(dagRun)) runs.add(dagRun);
  }
  return [...runs].flatMap((r) => r.events).sort((a, b) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0));
}
