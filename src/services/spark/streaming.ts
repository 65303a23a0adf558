/**
 * Structured Streaming queries and their lag. Spark's Kafka source commits no consumer-group
 * offsets, so no Kafka tool shows how far behind a streaming query is; its checkpoint does: the
 * offsets of the latest committed micro-batch (offsets/<n> with commits/<n>) are where it will read
 * next, and lag = the topic's end offset − that, per partition. The stack's streaming job also
 * appends each micro-batch's progress (rows/s, batch duration, application id) to
 * <checkpoint>/datapipeline-progress.jsonl. Files only: no `vscode` import, no network.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PROGRESS_FILE = 'datapipeline-progress.jsonl';

export interface StreamingQuery {
  /** the checkpoint folder (the query's identity across restarts) */
  checkpoint: string;
  /** query id (the checkpoint's metadata) */
  id?: string;
  /** queryName, when the job set one */
  name?: string;
  /** the application that last reported progress */
  appId?: string;
  /** the latest micro-batch committed */
  batchId?: number;
  /** topic -> partition -> next offset the query reads (after its latest committed batch) */
  offsets: Map<string, Map<number, number>>;
  /** from the latest progress record */
  inputRowsPerSecond?: number;
  processedRowsPerSecond?: number;
  batchDurationMs?: number;
  /** epoch ms of the latest progress record */
  progressAt?: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** where the query reads next */
  offset: number;
  /** the partition's end */
  end: number;
  lag: number;
}

/** Kafka source offsets as checkpoints and progress records write them: {"topic": {"0": 12, …}}. */
export function parseSourceOffsets(v: unknown, into = new Map<string, Map<number, number>>()): Map<string, Map<number, number>> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return into;
  for (const [topic, parts] of Object.entries(v as Record<string, unknown>)) {
    if (!parts || typeof parts !== 'object' || Array.isArray(parts)) continue;
    const m = into.get(topic) ?? new Map<number, number>();
    for (const [p, o] of Object.entries(parts as Record<string, unknown>)) {
      const partition = Number(p);
      if (Number.isInteger(partition) && typeof o === 'number' && Number.isFinite(o) && o >= 0) m.set(partition, o);
    }
    if (m.size) into.set(topic, m);
  }
  return into;
}

/**
 * A checkpoint's offsets file: "v1", the batch's metadata JSON, then one JSON line per source
 * (a Kafka source's is {"topic": {"partition": offset}}; other sources are skipped).
 */
export function parseOffsetsFile(text: string): Map<string, Map<number, number>> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const out = new Map<string, Map<number, number>>();
  for (const line of lines.slice(2)) {
    try {
      parseSourceOffsets(JSON.parse(line), out);
    } catch {
      // a source that is not Kafka (or "-" for none)
    }
  }
  return out;
}

function latestBatch(dir: string): number | undefined {
  try {
    const ids = fs.readdirSync(dir).filter((f) => /^\d+$/.test(f)).map(Number);
    return ids.length ? Math.max(...ids) : undefined;
  } catch {
    return undefined;
  }
}

/** The last line of the progress file, parsed (undefined when there is none or it is not JSON). */
function lastProgress(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i]) as unknown;
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // a line being written: the one before is the latest whole one
    }
  }
  return undefined;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** One checkpoint folder as a query (undefined when it is not a streaming checkpoint). */
export function readCheckpoint(dir: string): StreamingQuery | undefined {
  if (!fs.existsSync(path.join(dir, 'offsets'))) return undefined;
  const q: StreamingQuery = { checkpoint: dir, offsets: new Map() };
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata'), 'utf8').split('\n')[0]) as { id?: unknown };
    if (typeof meta.id === 'string') q.id = meta.id;
  } catch {
    // no metadata yet
  }
  // the latest batch both planned (offsets/) and committed (commits/): its end is where reading resumes
  const committed = latestBatch(path.join(dir, 'commits'));
  if (committed !== undefined) {
    q.batchId = committed;
    try {
      q.offsets = parseOffsetsFile(fs.readFileSync(path.join(dir, 'offsets', String(committed)), 'utf8'));
    } catch {
      // compacted away or being written: the progress record below may still say
    }
  }
  const p = lastProgress(path.join(dir, PROGRESS_FILE));
  if (p) {
    if (typeof p.appId === 'string') q.appId = p.appId;
    if (typeof p.name === 'string' && p.name) q.name = p.name;
    if (!q.id && typeof p.id === 'string') q.id = p.id;
    q.inputRowsPerSecond = num(p.inputRowsPerSecond);
    q.processedRowsPerSecond = num(p.processedRowsPerSecond);
    q.batchDurationMs = num(num(p.batchDuration) ?? (p.durationMs as Record<string, unknown> | undefined)?.triggerExecution);
    const at = typeof p.timestamp === 'string' ? Date.parse(p.timestamp) : NaN;
    if (!Number.isNaN(at)) q.progressAt = at;
    const batch = num(p.batchId);
    // a progress record newer than the checkpoint read above (a batch committed since) wins
    if (batch !== undefined && (q.batchId === undefined || batch >= q.batchId) && Array.isArray(p.sources)) {
      const reached = new Map<string, Map<number, number>>();
      for (const s of p.sources as Array<Record<string, unknown>>) parseSourceOffsets(s.endOffset, reached);
      if (reached.size) {
        q.offsets = reached;
        q.batchId = batch;
      }
    }
  }
  return q;
}

/** Every streaming checkpoint one level below each root (the stack's DATAPIPELINE_CHECKPOINT_DIR). */
export function findStreamingQueries(roots: string[]): StreamingQuery[] {
  const out: StreamingQuery[] = [];
  for (const root of roots) {
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const q = readCheckpoint(path.join(root, n));
      if (q) out.push(q);
    }
  }
  return out;
}

/** Lag per partition of one topic the query reads: end − next offset (0 when caught up); partitions it has not read yet lag by all they hold. */
export function queryLag(q: StreamingQuery, topic: string, ends: Array<{ partition: number; low: number; high: number }>): PartitionLag[] {
  const at = q.offsets.get(topic);
  if (!at) return [];
  return ends
    .map((w) => {
      const offset = at.get(w.partition) ?? w.low;
      return { topic, partition: w.partition, offset, end: w.high, lag: Math.max(0, w.high - offset) };
    })
    .sort((a, b) => a.partition - b.partition);
}

export function totalLag(lags: PartitionLag[]): number {
  return lags.reduce((n, l) => n + l.lag, 0);
}

/** "adults · 120 rows/s in · 118 processed · batch 450 ms" for a tree row. */
export function describeQuery(q: StreamingQuery): string {
  const parts: string[] = [];
  const rate = (n: number | undefined) => (n === undefined ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
  if (q.inputRowsPerSecond !== undefined || q.processedRowsPerSecond !== undefined) {
    parts.push(`${rate(q.inputRowsPerSecond)} rows/s in`, `${rate(q.processedRowsPerSecond)} processed`);
  }
  if (q.batchDurationMs !== undefined) parts.push(`batch ${Math.round(q.batchDurationMs)} ms`);
  if (q.batchId !== undefined) parts.push(`batch #${q.batchId}`);
  return parts.join(' · ');
}
