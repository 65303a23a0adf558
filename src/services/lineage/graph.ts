/**
 * The lineage graph of a project: topics, tables and files; the Airflow tasks and Spark applications
 * that read and wrote them; the edges drawn from the last runs of each DAG (OpenLineage events, through
 * runLineage). Laid out left to right in layers (a node one step right of everything it reads). Pure:
 * the webview only draws what this computes, and the benchmark times it with the page.
 */
import type { OLEvent } from './openlineage';
import { indexEvents, runLineage, type DatasetKind, type LineageIndex } from './runLineage';

export type GraphNodeKind = DatasetKind | 'task' | 'spark';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  label: string;
  /** the second line: the DAG of a task, the namespace of a dataset, the task of a Spark job */
  detail?: string;
  /** what a click opens */
  topic?: string;
  dagId?: string;
  taskId?: string;
  appId?: string;
  /** the newest run it took part in (a task: to open its run view) */
  lastRunId?: string;
  /** layout: layer (column) and row in it */
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** the runs it was seen in ("dagId\u0000runId") */
  runs: string[];
}

export interface GraphRun {
  key: string;
  dagId: string;
  runId: string;
  /** the newest event of the run (ISO) */
  time: string;
}

export interface LineageGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  runs: GraphRun[];
  /** layers (columns) and the tallest one's rows */
  width: number;
  height: number;
}

/** The Spark application's name without the run tag the stack's policy adds (" [dp:…]"), and the listener's sanitized form of it. */
export function sparkJobName(name: string): string {
  return name.replace(/\s*\[dp:[^\]]*\]\s*$/, '').replace(/_dp_.*$/, '');
}

/**
 * The graph of the last `runsPerDag` runs of every DAG in these events (newest by event time).
 * Edges and nodes are the union over those runs; each edge knows the runs it was seen in.
 */
export function lineageGraph(events: OLEvent[] | LineageIndex, o: { runsPerDag?: number } = {}): LineageGraph {
  const index = Array.isArray(events) ? indexEvents(events) : events;
  const perDag = o.runsPerDag ?? 20;
  // the runs, newest first per DAG
  const runs: GraphRun[] = [];
  for (const [key, tasks] of index.airflowRuns) {
    const [dagId, runId] = key.split('\u0000');
    let time = '';
    for (const t of tasks.values()) for (const e of t.info.events) if (e.eventTime > time) time = e.eventTime;
    runs.push({ key, dagId, runId, time });
  }
  runs.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  const kept: GraphRun[] = [];
  const count = new Map<string, number>();
  for (const r of runs) {
    const n = count.get(r.dagId) ?? 0;
    if (n >= perDag) continue;
    count.set(r.dagId, n + 1);
    kept.push(r);
  }

  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const node = (n: Omit<GraphNode, 'x' | 'y'>) => {
    const have = nodes.get(n.id);
    if (have) return have;
    const made = { ...n, x: 0, y: 0 };
    nodes.set(n.id, made);
    return made;
  };
  const edge = (from: string, to: string, run: string) => {
    const k = `${from}\u0000${to}`;
    const e = edges.get(k);
    if (!e) edges.set(k, { from, to, runs: [run] });
    else if (!e.runs.includes(run)) e.runs.push(run);
  };

  // oldest first, so a node's lastRunId ends as its newest run
  for (const r of [...kept].reverse()) {
    const l = runLineage(index, r.dagId, r.runId);
    for (const t of l.tasks) {
      node({ id: `task:${r.dagId}.${t.taskId}`, kind: 'task', label: t.taskId, detail: r.dagId, dagId: r.dagId, taskId: t.taskId }).lastRunId = r.runId;
    }
    const sparkOf = new Map<string, string>();
    for (const s of l.spark) {
      const name = sparkJobName(s.appName ?? 'spark');
      const id = `spark:${r.dagId}.${s.taskId}:${name}`;
      const n = node({ id, kind: 'spark', label: name, detail: `started by ${s.taskId}`, dagId: r.dagId, taskId: s.taskId });
      if (s.appId) n.appId = s.appId;
      n.lastRunId = r.runId;
      sparkOf.set(s.taskId, id);
      edge(`task:${r.dagId}.${s.taskId}`, id, r.key);
    }
    for (const d of l.datasets) {
      const id = d.kind === 'kafka' ? `kafka:${d.name}` : `${d.kind}:${d.namespace}/${d.name}`;
      node({ id, kind: d.kind, label: d.label, detail: d.kind === 'kafka' ? 'Kafka topic' : d.namespace, topic: d.kind === 'kafka' ? d.name : undefined });
      // a Spark job's datasets hang off its application; a task's own off the task
      const job = d.via.includes('spark') && sparkOf.has(d.taskId) ? sparkOf.get(d.taskId)! : `task:${r.dagId}.${d.taskId}`;
      if (d.role === 'read') edge(id, job, r.key);
      else edge(job, id, r.key);
    }
  }
  // a task that read and wrote nothing (a report, a sensor) has no place in the data's path
  const linked = new Set([...edges.values()].flatMap((e) => [e.from, e.to]));
  const shown = [...nodes.values()].filter((n) => linked.has(n.id));
  const { width, height } = layout(shown, [...edges.values()]);
  return { nodes: shown, edges: [...edges.values()], runs: kept, width, height };
}

/**
 * Layers left to right: a node's layer is one more than the deepest node it is reached from (a cycle,
 * a topic a task both reads and writes, is cut where it closes). Rows in a layer follow the mean row of
 * what feeds them (one sweep), so edges mostly run straight.
 */
function layout(nodes: GraphNode[], edges: GraphEdge[]): { width: number; height: number } {
  const incoming = new Map<string, string[]>();
  for (const n of nodes) incoming.set(n.id, []);
  for (const e of edges) incoming.get(e.to)?.push(e.from);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle: cut here
    visiting.add(id);
    let d = 0;
    for (const from of incoming.get(id) ?? []) d = Math.max(d, depth(from) + 1);
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  // iterative enough for real graphs: depth recursion is bounded by the longest path
  for (const n of nodes) n.x = depth(n.id);
  const columns = new Map<number, GraphNode[]>();
  for (const n of nodes) {
    let c = columns.get(n.x);
    if (!c) columns.set(n.x, (c = []));
    c.push(n);
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let height = 0;
  for (const x of [...columns.keys()].sort((a, b) => a - b)) {
    const col = columns.get(x)!;
    const weight = (n: GraphNode) => {
      const from = (incoming.get(n.id) ?? []).map((f) => byId.get(f)!).filter((f) => f.x < x);
      return from.length ? from.reduce((s, f) => s + f.y, 0) / from.length : Number.MAX_SAFE_INTEGER;
    };
    col.sort((a, b) => weight(a) - weight(b) || (a.detail ?? '').localeCompare(b.detail ?? '') || a.label.localeCompare(b.label));
    col.forEach((n, i) => (n.y = i));
    height = Math.max(height, col.length);
  }
  return { width: columns.size ? Math.max(...columns.keys()) + 1 : 0, height };
}

/** The node and edge ids one run ("dagId\u0000runId", a GraphRun's key) touched: the page's highlight when a run is picked. */
export function runPath(g: LineageGraph, key: string): { nodes: Set<string>; edges: Set<string> } {
  const nodes = new Set<string>();
  const edges = new Set<string>();
  for (const e of g.edges) {
    if (!e.runs.includes(key)) continue;
    edges.add(`${e.from}\u0000${e.to}`);
    nodes.add(e.from);
    nodes.add(e.to);
  }
  return { nodes, edges };
}
