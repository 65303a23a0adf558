/**
 * Reads one offset range of a topic (the messages a DAG run wrote) into a host-side MessageStore,
 * then stops. The same groupless reader as the message browser (TopicReader): every codec,
 * transactions read committed, nothing left on the broker. The output viewer pages the store
 * through the shared virtual table, so a run that wrote 100,000 messages costs the webview only the
 * rows in view. It reads with the Kafka service's client (ctx.connections). No vscode import.
 */
import type { KafkaService } from '../kafka/kafkaClient';
import { MessageStore } from '../kafka/messageStore';
import { rowOf, type MessageRow } from '../kafka/rows';
import { TopicReader } from '../kafka/topicReader';
import type { OutputRange, OutputRecord } from './streamingRun';
import { toOutputRecord } from './streamingRun';

/** How many of a run's messages the output viewer holds by default. */
export const OUTPUT_MAX_MESSAGES = 100_000;
/** Field columns are taken from this many messages, at most this many columns. */
const COLUMN_SAMPLE = 1000;
const MAX_COLUMNS = 12;
/** Values larger than this are not parsed for field cells (the value column still previews them). */
const FIELD_PARSE_LIMIT = 64 * 1024;
const FIELD_CHARS = 200;

export interface ReadRangeOptions {
  /** the Kafka service of the connection shown (its client; nothing else is opened) */
  service: KafkaService;
  timeoutMs?: number;
  /** stop after this many records */
  max?: number;
}

/** The messages of one range, held in a store, in partition then offset order. */
export class OutputMessages {
  private cachedColumns?: string[];

  constructor(
    readonly topic: string,
    readonly store: MessageStore,
    /** store seqs in partition, offset order */
    private readonly order: number[],
    /** what the user should know about what is held (capped, dropped, undecodable batches) */
    readonly note?: string,
  ) {}

  get count(): number {
    return this.order.length;
  }

  /** The top-level fields of the JSON object values (from the first messages, first seen first). */
  columns(): string[] {
    if (this.cachedColumns) return this.cachedColumns;
    const cols = new Set<string>();
    for (const seq of this.order.slice(0, COLUMN_SAMPLE)) {
      for (const k of Object.keys(objectOf(this.store.value(seq)) ?? {})) {
        if (cols.size >= MAX_COLUMNS) break;
        cols.add(k);
      }
    }
    return (this.cachedColumns = [...cols]);
  }

  /** Rows [start, start+count) for the table, with a cell per field column. */
  page(start: number, count: number): MessageRow[] {
    const columns = this.columns();
    const out: MessageRow[] = [];
    for (let i = Math.max(0, start); i < Math.min(this.order.length, start + count); i++) {
      const seq = this.order[i];
      const row = rowOf(this.store, seq);
      if (columns.length) {
        const obj = objectOf(this.store.value(seq));
        row.fields = columns.map((c) => cellText(obj?.[c]));
      }
      out.push(row);
    }
    return out;
  }

  /** Every held message as a record with its parsed fields (tests, export). */
  records(): OutputRecord[] {
    return this.order.map((seq) => toOutputRecord(this.store.partition(seq), String(this.store.offset(seq)), this.store.key(seq), this.store.value(seq)));
  }
}

export function emptyOutput(topic: string): OutputMessages {
  return new OutputMessages(topic, new MessageStore(1), []);
}

export async function readOutputRange(range: OutputRange, o: ReadRangeOptions): Promise<OutputMessages> {
  const wanted = [...range.end.entries()].filter(([p, end]) => end > (range.start.get(p) ?? 0));
  const spanned = wanted.reduce((n, [p, end]) => n + end - (range.start.get(p) ?? 0), 0);
  if (!wanted.length) return emptyOutput(range.topic);
  const max = Math.max(1, o.max ?? OUTPUT_MAX_MESSAGES);
  const store = new MessageStore(Math.min(max, spanned));
  const kafka = o.service.kafka;
  const bootstrap = o.service.bootstrap;
  const timeoutMs = o.timeoutMs ?? 20_000;
  let failure: string | undefined;
  const undecodable: string[] = [];
  const unkept: string[] = [];
  const finished = new Set<number>();
  /** a record of the range was left out at the limit */
  let skipped = false;
  const finish = (p: number) => {
    finished.add(p);
    reader.finish(p);
  };
  const reader = new TopicReader({
    kafka,
    topic: range.topic,
    isolation: 'read_committed',
    start: new Map(wanted.map(([p]) => [p, range.start.get(p) ?? 0])),
    onFetch: (f) => {
      const end = range.end.get(f.partition) ?? 0;
      for (const it of f.items) {
        if (it.kind === 'undecodable') undecodable.push(`partition ${f.partition} offsets ${it.batch.firstOffset}–${it.batch.lastOffset} (${it.batch.reason})`);
        if (it.kind !== 'record' || it.record.offset >= end) continue;
        if (store.size >= max) {
          skipped = true;
          continue;
        }
        const r = it.record;
        try {
          store.append({ partition: f.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers.length ? r.headers : undefined });
        } catch (e) {
          // one message that cannot be kept never stops the read: the note names it
          unkept.push(`partition ${f.partition} offset ${r.offset} (${(e as Error).message})`);
        }
      }
      if (f.next >= end) finish(f.partition);
      if (store.size >= max) for (const [p] of wanted) if (!finished.has(p)) reader.finish(p);
    },
    onState: (st, message) => {
      if (st === 'error') failure = message;
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    reader.start();
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([reader.whenDone().then(() => 'done' as const), timedOut]);
    if (outcome === 'timeout') throw new Error(`Timed out after ${timeoutMs / 1000}s reading ${range.topic} at ${bootstrap}. Check Kafka is running (Stack view).`);
    if (failure) throw new Error(`Reading ${range.topic} at ${bootstrap} failed: ${failure}`);
  } finally {
    if (timer) clearTimeout(timer);
    await reader.stop();
  }
  const order: number[] = [];
  for (let s = store.firstSeq; s < store.endSeq; s++) order.push(s);
  order.sort((a, b) => store.partition(a) - store.partition(b) || store.offset(a) - store.offset(b));
  const notes: string[] = [];
  const capped = skipped || (store.size >= max && wanted.some(([p]) => !finished.has(p)));
  if (capped) notes.push(`Showing the first ${store.size.toLocaleString('en-US')} messages; the run's range spans ${spanned.toLocaleString('en-US')} offsets.`);
  if (store.evicted) notes.push(`The first ${store.evicted.toLocaleString('en-US')} messages were dropped to stay within ${Math.round(store.maxBytes / 1024 / 1024)} MiB.`);
  if (unkept.length) notes.push(`${unkept.length} message${unkept.length === 1 ? '' : 's'} could not be kept: ${unkept.slice(0, 3).join('; ')}.`);
  if (undecodable.length) notes.push(`Could not decompress ${undecodable.length} batch${undecodable.length === 1 ? '' : 'es'}: ${undecodable.slice(0, 3).join('; ')}.`);
  return new OutputMessages(range.topic, store, order, notes.join(' ') || undefined);
}

function objectOf(value: Buffer | null): Record<string, unknown> | undefined {
  if (!value || value.length > FIELD_PARSE_LIMIT) return undefined;
  const head = value[0];
  if (head !== 0x7b /* { */ && head !== 0x20 && head !== 0x0a) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function cellText(v: unknown): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > FIELD_CHARS ? `${s.slice(0, FIELD_CHARS)}…` : s;
}
