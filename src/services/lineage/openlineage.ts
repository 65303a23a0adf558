/**
 * OpenLineage run events as the stack's receiver keeps them (stack/lineage/receiver.py), and a reader
 * of its feed that asks only for what is new. The events are OpenLineage's own JSON (a standard:
 * Airflow's provider and the Spark listener write them, Marquez and DataHub read them); this module
 * types the fields the extension reads and leaves the rest as it came. No `vscode` import.
 */
export interface OLDataset {
  namespace: string;
  name: string;
  facets?: Record<string, unknown>;
}

export interface OLEvent {
  eventType?: string;
  eventTime: string;
  producer: string;
  schemaURL?: string;
  run: { runId: string; facets?: Record<string, unknown> };
  job: { namespace: string; name: string; facets?: Record<string, unknown> };
  inputs?: OLDataset[];
  outputs?: OLDataset[];
}

export interface LineagePage {
  events: Array<{ seq: number; event: OLEvent }>;
  /** the sequence number to ask after next time */
  next: number;
  /** events the receiver dropped to stay in its budget (oldest first), since it started */
  dropped: number;
}

/** An event as far as the extension relies on it (the receiver checks the same on the way in). */
export function isEvent(x: unknown): x is OLEvent {
  if (!x || typeof x !== 'object') return false;
  const e = x as Partial<OLEvent>;
  return (
    typeof e.eventTime === 'string' &&
    !!e.run && typeof e.run === 'object' && typeof e.run.runId === 'string' && !!e.run.runId &&
    !!e.job && typeof e.job === 'object' && typeof e.job.namespace === 'string' && typeof e.job.name === 'string'
  );
}

/** The run facets the extension reads (runLineage.ts); the rest stays in the receiver (Export reads it there). */
const KEPT_RUN_FACETS = ['parent', 'spark_applicationDetails', 'datapipeline_kafka'];

/**
 * An event as the views need it: its run, job, the datasets' names and three run facets. A Spark
 * event's schema, properties and environment facets make up most of its size and no view reads them.
 */
export function compactEvent(e: OLEvent): OLEvent {
  const facets: Record<string, unknown> = {};
  for (const k of KEPT_RUN_FACETS) if (e.run.facets?.[k] !== undefined) facets[k] = e.run.facets[k];
  const names = (ds: OLDataset[] | undefined) => (Array.isArray(ds) ? ds.filter((d) => d && typeof d === 'object').map((d) => ({ namespace: d.namespace, name: d.name })) : undefined);
  return {
    eventType: e.eventType,
    eventTime: e.eventTime,
    producer: e.producer,
    run: { runId: e.run.runId, facets },
    job: { namespace: e.job.namespace, name: e.job.name },
    inputs: names(e.inputs),
    outputs: names(e.outputs),
  };
}

/**
 * The receiver's events, kept in memory as they are read (compacted: compactEvent): each call asks only for the events after
 * the last one seen (GET /api/v1/lineage?after=N), so a run view refreshed every few seconds reads
 * each event once. `maxEvents` bounds what is kept (the oldest go first), as the receiver's budget does;
 * `full` keeps the events as they came (Export), else only what the views read.
 */
export class LineageFeed {
  private events: OLEvent[] = [];
  private next = 0;
  private reading: Promise<OLEvent[]> | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly o: { maxEvents?: number; timeoutMs?: number; pageSize?: number; full?: boolean } = {},
  ) {}

  /** Every event kept so far, after reading what is new (one read at a time; callers meanwhile share it). */
  read(): Promise<OLEvent[]> {
    this.reading ??= this.readNew().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readNew(): Promise<OLEvent[]> {
    const pageSize = this.o.pageSize ?? 1000;
    for (;;) {
      const page = await readPage(this.baseUrl, this.next, pageSize, this.o.timeoutMs);
      // a receiver that restarted with fewer events than we saw: read it again from the start
      if (page.events.length === 0 && page.next < this.next) {
        this.events = [];
        this.next = 0;
        continue;
      }
      for (const { event } of page.events) if (isEvent(event)) this.events.push(this.o.full ? event : compactEvent(event));
      this.next = page.next;
      const max = this.o.maxEvents ?? 30_000;
      if (this.events.length > max) this.events.splice(0, this.events.length - max);
      if (page.events.length < pageSize) return this.events;
    }
  }
}

/** One page of the receiver's events after sequence number `after`. */
export async function readPage(baseUrl: string, after: number, limit = 1000, timeoutMs = 10_000): Promise<LineagePage> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/lineage?after=${after}&limit=${limit}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (e) {
    throw new Error(`The OpenLineage receiver at ${baseUrl} did not answer (${(e as Error).message}): is the stack's Airflow running? (the receiver starts with it)`);
  }
  if (!res.ok) throw new Error(`The OpenLineage receiver at ${baseUrl} answered ${res.status} ${res.statusText}.`);
  const body = (await res.json()) as Partial<LineagePage>;
  if (!body || !Array.isArray(body.events) || typeof body.next !== 'number') throw new Error(`The OpenLineage receiver at ${baseUrl} sent no event list.`);
  return { events: body.events, next: body.next, dropped: typeof body.dropped === 'number' ? body.dropped : 0 };
}
