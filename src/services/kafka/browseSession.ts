/**
 * One message-browser read of a topic: plans start offsets, reads into a MessageStore with a
 * TopicReader (Fetch requests, no consumer group: nothing committed, nothing left behind), and
 * stops at the planned ends or keeps tailing.
 *
 * Transactions: under read committed (the default) records of aborted transactions are never
 * shown and the end is the last stable offset; under read uncommitted every record is shown, marked
 * while its transaction is open and once it is aborted. Transaction markers are never messages; the
 * status counts them, so a topic whose last offsets are markers still reads to Done.
 * A batch that could not be decompressed becomes one error row (partition, offsets, reason).
 */
import type { UndecodableBatch } from './codecs';
import type { KafkaLog, KafkaService } from './kafkaClient';
import { MessageFlags, type MessageStore } from './messageStore';
import { planBrowse, type BrowseRequest, type PartitionPlan } from './offsets';
import { TopicReader, type IsolationLevel, type PartitionFetch, type PreparedConnection } from './topicReader';

export type BrowseState = 'planning' | 'reading' | 'live' | 'done' | 'reconnecting' | 'stopped' | 'error';

export interface BrowseStatus {
  state: BrowseState;
  /** messages stored by this session */
  received: number;
  /** next offset to read per partition */
  next: Record<number, number>;
  error?: string;
  /** transaction markers passed (never messages) */
  markers: number;
  /** records of aborted transactions: hidden (read committed) or marked (read uncommitted) */
  aborted: number;
  /** batches that could not be decompressed (each one error row) */
  undecodable: UndecodableBatch[];
  /** offsets deleted by retention before they were read */
  skipped: number;
}

export interface BrowseSessionOptions {
  service: KafkaService;
  topic: string;
  request: BrowseRequest;
  store: MessageStore;
  /** default read_committed */
  isolation?: IsolationLevel;
  /** called after each fetch is appended, with the seqs appended */
  onMessages?: (firstSeq: number, endSeq: number) => void;
  /** called when stored messages changed (a transaction's outcome marked them) */
  onChanged?: () => void;
  onStatus?: (s: BrowseStatus) => void;
  log?: KafkaLog;
  /** ms between reconnect attempts after the broker went away (default 1000) */
  reconnectDelayMs?: number;
  /** a connection opened ahead for this topic (adopted when the isolation level matches) */
  prepared?: PreparedConnection;
}

export class BrowseSession {
  private plans: PartitionPlan[] = [];
  private reader?: TopicReader;
  private readonly done = new Set<number>();
  private readonly lastEnd = new Map<number, number>();
  private state: BrowseState = 'planning';
  private error?: string;
  private received = 0;
  private markers = 0;
  private aborted = 0;
  private skipped = 0;
  private readonly undecodable: UndecodableBatch[] = [];
  /** read uncommitted: seqs of records whose transaction is still open, by producer id */
  private readonly openTxn = new Map<string, number[]>();
  private stopped = false;

  constructor(private readonly opts: BrowseSessionOptions) {}

  get isolation(): IsolationLevel {
    return this.opts.isolation ?? 'read_committed';
  }

  get status(): BrowseStatus {
    const next: Record<number, number> = {};
    for (const p of this.plans) next[p.partition] = this.reader?.nextOffset(p.partition) ?? p.start;
    return {
      state: this.state,
      received: this.received,
      next,
      error: this.error,
      markers: this.markers,
      aborted: this.aborted,
      undecodable: [...this.undecodable],
      skipped: this.skipped,
    };
  }

  get partitionPlans(): readonly PartitionPlan[] {
    return this.plans;
  }

  private setState(s: BrowseState, error?: string): void {
    this.state = s;
    this.error = error;
    this.opts.onStatus?.(this.status);
  }

  /** Plans the offsets (throws ValidationError / KafkaUnreachableError) and starts reading. */
  async start(): Promise<void> {
    const { service, topic, request } = this.opts;
    const wm = await service.watermarks(topic);
    if (wm.length === 0) throw new Error(`Topic "${topic}" does not exist. Refresh the Topics view.`);
    const reader = new TopicReader({
      kafka: service.kafka,
      topic,
      isolation: this.isolation,
      log: this.opts.log,
      reconnectDelayMs: this.opts.reconnectDelayMs,
      prepared: this.opts.prepared,
      onFetch: (f) => this.onFetch(f),
      onState: (st, message) => this.onReaderState(st, message),
      onSkipped: (p, from, to) => {
        this.skipped += to - from;
        this.opts.log?.warn(`browse ${topic}: partition ${p} offsets ${from}–${to - 1} were deleted (retention) before they were read`);
      },
    });
    this.reader = reader;
    // the end as this isolation level sees it: the last stable offset under read committed
    const ends = await reader.endOffsets(wm.map((w) => w.partition));
    const marks = wm.map((w) => ({ ...w, high: ends.get(w.partition) ?? w.high }));
    this.plans = await planBrowse(request, marks, {
      offsetsForTimestamp: (ts) => service.offsetsForTimestamp(topic, ts),
      groupOffsets: (g) => service.groupOffsets(g, topic),
    });
    for (const p of this.plans) {
      reader.seek(p.partition, p.start);
      this.lastEnd.set(p.partition, marks.find((w) => w.partition === p.partition)?.high ?? p.start);
    }
    for (const p of this.plans) if (p.end !== undefined && p.start >= p.end) this.finish(p.partition);
    if (this.allDone()) {
      this.setState('done');
      await this.reader.stop();
      return;
    }
    this.reader.start();
    this.setState(request.follow && this.isCaughtUp() ? 'live' : 'reading');
  }

  private finish(partition: number): void {
    this.done.add(partition);
    this.reader?.finish(partition);
  }

  private allDone(): boolean {
    return this.plans.every((p) => this.done.has(p.partition));
  }

  private isCaughtUp(): boolean {
    return this.plans.every((p) => this.done.has(p.partition) || (this.reader?.nextOffset(p.partition) ?? p.start) >= (this.lastEnd.get(p.partition) ?? 0));
  }

  private onReaderState(st: 'reading' | 'reconnecting' | 'error', message?: string): void {
    if (this.stopped) return;
    if (st === 'reconnecting') this.setState('reconnecting', `Lost the connection to Kafka at ${this.opts.service.bootstrap}; retrying… (${message ?? ''})`);
    else if (st === 'error') this.setState('error', message);
    else this.setState(this.opts.request.follow && this.isCaughtUp() ? 'live' : 'reading');
  }

  private onFetch(f: PartitionFetch): void {
    if (this.stopped) return;
    const p = f.partition;
    const plan = this.plans.find((x) => x.partition === p);
    if (!plan || this.done.has(p)) return;
    const store = this.opts.store;
    const first = store.endSeq;
    let changed = false;
    for (const it of f.items) {
      const off = it.kind === 'record' ? it.record.offset : it.kind === 'undecodable' ? it.batch.firstOffset : it.offset;
      if (plan.end !== undefined && off >= plan.end) break;
      if (it.kind === 'control') {
        this.markers++;
        changed = this.endTransaction(it.producerId, it.commit) || changed;
        continue;
      }
      if (it.kind === 'aborted') {
        this.aborted++;
        continue;
      }
      if (it.kind === 'undecodable') {
        this.undecodable.push(it.batch);
        this.appendErrorRow(p, it.batch.firstOffset, 0, undecodableText(p, it.batch));
        continue;
      }
      const r = it.record;
      if (plan.untilTimestamp !== undefined && r.timestamp > plan.untilTimestamp) {
        // a window ending in the future: stop this partition at the first message after it
        if (plan.end === undefined) {
          this.finish(p);
          break;
        }
        continue;
      }
      const open = r.transactional && this.isolation === 'read_uncommitted';
      try {
        const seq = store.append({
          partition: p,
          offset: r.offset,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers.length ? r.headers : undefined,
          flags: (r.transactional ? MessageFlags.TRANSACTIONAL : 0) | (open ? MessageFlags.OPEN_TRANSACTION : 0),
        });
        if (open) {
          const list = this.openTxn.get(r.producerId) ?? [];
          list.push(seq);
          this.openTxn.set(r.producerId, list);
        }
        this.received++;
      } catch (e) {
        // one message that cannot be kept never stops the read: it becomes an error row
        this.appendErrorRow(p, r.offset, r.timestamp, `Partition ${p} offset ${r.offset}: this message could not be kept (${(e as Error).message}).`);
      }
    }
    const end = this.isolation === 'read_committed' ? f.lastStableOffset : f.highWatermark;
    if (end >= 0) this.lastEnd.set(p, end);
    if (plan.end !== undefined && f.next >= plan.end) this.finish(p);
    if (store.endSeq > first) this.opts.onMessages?.(first, store.endSeq);
    if (changed) this.opts.onChanged?.();
    if (this.allDone()) {
      this.setState('done');
      void this.reader?.stop();
    } else if (this.state === 'reading' && this.opts.request.follow && this.isCaughtUp()) {
      this.setState('live');
    }
  }

  /** Read uncommitted: a marker ends a producer's transaction; its records were open until now. */
  private endTransaction(producerId: string, commit: boolean): boolean {
    const seqs = this.openTxn.get(producerId);
    if (!seqs) return false;
    this.openTxn.delete(producerId);
    const store = this.opts.store;
    for (const s of seqs) {
      const f = store.flags(s) & ~MessageFlags.OPEN_TRANSACTION;
      store.setFlags(s, commit ? f : f | MessageFlags.ABORTED);
    }
    if (!commit) this.aborted += seqs.length;
    return true;
  }

  private appendErrorRow(partition: number, offset: number, timestamp: number, text: string): void {
    this.opts.store.append({ partition, offset, timestamp, key: null, value: Buffer.from(text), flags: MessageFlags.ERROR_ROW });
  }

  /** Stops reading. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reader?.stop();
    if (this.state !== 'done') this.setState('stopped');
  }
}

export function undecodableText(partition: number, b: UndecodableBatch): string {
  const range = b.lastOffset > b.firstOffset ? `offsets ${b.firstOffset}–${b.lastOffset}` : `offset ${b.firstOffset}`;
  return `Partition ${partition} ${range}: ${b.codec}-compressed batch could not be decompressed: ${b.reason}. The other messages are shown.`;
}
