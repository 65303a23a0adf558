/**
 * Reads partitions of one topic by Fetch requests to their leaders, without a consumer group:
 * nothing is committed, nothing is left on the broker, and there is no rebalance to wait for.
 * Used by the message browser (BrowseSession) and the output viewer (readOutputRange).
 *
 * Each fetched record is classified in offset order:
 *   record        a data record (under read uncommitted: whether it is in a transaction, by whom)
 *   control       a transaction marker (commit/abort); never shown as a message
 *   aborted       a record of an aborted transaction, hidden under read committed (the broker's
 *                 aborted-transaction list says which)
 *   undecodable   a batch that could not be decompressed: partition, offset range, reason
 * The next offset of a partition moves past all four, so the end offset of a topic with
 * transactions is reached even though its markers are never messages.
 *
 * Faults: a lost connection or a broker restart is retried (status "reconnecting") and reading
 * resumes at the next offset of each partition: no gap, no duplicate. Leader changes refresh the
 * metadata. Offsets deleted by retention are skipped to the partition's start and reported.
 */
import type { Kafka } from 'kafkajs';
import { UndecodableBatchError, type UndecodableBatch } from './codecs';
import { createCluster, isConnectionError, kafkaErrorType, READ_COMMITTED, READ_UNCOMMITTED, type InternalCluster } from './kafkaInternals';
import { classify, itemEnd } from './readItems';

export { headerList } from './readItems';

export type IsolationLevel = 'read_committed' | 'read_uncommitted';

export interface ReadRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  /** written inside a transaction (read uncommitted: its outcome may still be unknown) */
  transactional: boolean;
  producerId: string;
}

export type ReadItem =
  | { kind: 'record'; record: ReadRecord }
  | { kind: 'control'; offset: number; producerId: string; commit: boolean }
  | { kind: 'aborted'; offset: number }
  | { kind: 'undecodable'; batch: UndecodableBatch };

export interface PartitionFetch {
  partition: number;
  items: ReadItem[];
  /** next offset to read, after these items */
  next: number;
  highWatermark: number;
  lastStableOffset: number;
}

export interface TopicReaderOptions {
  kafka: Kafka;
  topic: string;
  isolation: IsolationLevel;
  /** first offset to read per partition (or seek() before start()) */
  start?: Map<number, number>;
  /** called for every partition of every fetch response, after `next` moved past the items */
  onFetch(f: PartitionFetch): void;
  /** the reader's own state: reading, reconnecting (with the reason), or a fatal error */
  onState?(state: 'reading' | 'reconnecting' | 'error', message?: string): void;
  /** offsets between `from` and `to` were deleted (retention) before they were read */
  onSkipped?(partition: number, from: number, to: number): void;
  log?: { debug(m: string): void; info(m: string): void; warn(m: string): void };
  /** ms a fetch waits for new data (live tail); default 250 */
  maxWaitMs?: number;
  /** ms between reconnect attempts; default 1000 */
  reconnectDelayMs?: number;
  maxBytes?: number;
  maxBytesPerPartition?: number;
  /**
   * Bytes per partition of the first fetch (default 32 KiB, a screenful of rows); each following
   * fetch asks for twice as much, up to maxBytesPerPartition. A first fetch of 4 MiB per partition
   * took 300-580 ms to arrive and decode on a 1M-message topic, and nothing showed before it; with
   * 64 KiB the first rows came 36-122 ms after the read started. (The broker still returns a whole
   * first batch when it is bigger, so a 10 MB message is read as before.)
   */
  firstFetchBytes?: number;
  /** a connection opened ahead for this topic (PreparedConnection): adopted if its isolation level matches */
  prepared?: PreparedConnection;
}

/**
 * A reader's connection opened ahead, e.g. while a panel loads: the cluster connected, the topic's
 * metadata read and its partition leaders connected. The next reader of the same topic and
 * isolation level adopts it (`take`) and starts with its first fetch; otherwise `dispose` closes it.
 */
export class PreparedConnection {
  private pending?: Promise<InternalCluster>;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    readonly isolation: IsolationLevel = 'read_committed',
  ) {
    const c = createCluster(kafka, { isolationLevel: levelOf(isolation) });
    this.pending = (async () => {
      try {
        await c.connect();
        await c.addTargetTopic(topic);
        const leaders = new Set(c.findTopicPartitionMetadata(topic).map((p) => p.leader));
        await Promise.all([...leaders].map((nodeId) => c.findBroker({ nodeId })));
        return c;
      } catch (e) {
        await c.disconnect().catch(() => undefined);
        throw e;
      }
    })();
    this.pending.catch(() => undefined);
  }

  /** The connection, once, for a reader of `topic` at `isolation` (undefined when it does not fit or was taken). */
  take(topic: string, isolation: IsolationLevel): Promise<InternalCluster> | undefined {
    if (!this.pending || topic !== this.topic || isolation !== this.isolation) return undefined;
    const p = this.pending;
    this.pending = undefined;
    return p;
  }

  /** Closes the connection if no reader took it. */
  dispose(): void {
    const p = this.pending;
    this.pending = undefined;
    void p?.then((c) => c.disconnect()).catch(() => undefined);
  }
}

function levelOf(isolation: IsolationLevel | undefined): number {
  return isolation === 'read_uncommitted' ? READ_UNCOMMITTED : READ_COMMITTED;
}

export class TopicReader {
  /** next offset not yet handed to onFetch, per partition */
  private readonly next = new Map<number, number>();
  /** next offset to request (ahead of `next` while a prefetch is in flight) */
  private readonly fetchPos = new Map<number, number>();
  private readonly finished = new Set<number>();
  private cluster?: InternalCluster;
  private stopped = false;
  private loop?: Promise<void>;
  /** a fetch in flight (the prefetch may still be running when the loop ends) */
  private inflight?: Promise<unknown>;
  private wake?: () => void;
  private reconnecting = false;

  constructor(private readonly o: TopicReaderOptions) {
    for (const [p, off] of o.start ?? []) this.seek(p, off);
  }

  /** Sets where a partition is read from (before start(); a partition not sought is not read). */
  seek(partition: number, offset: number): void {
    this.next.set(partition, offset);
    this.fetchPos.set(partition, offset);
  }

  get isolationLevel(): number {
    return levelOf(this.o.isolation);
  }

  nextOffset(partition: number): number | undefined {
    return this.next.get(partition);
  }

  /** Stops reading a partition (its end was reached). */
  finish(partition: number): void {
    this.finished.add(partition);
  }

  private active(): number[] {
    return [...this.next.keys()].filter((p) => !this.finished.has(p)).sort((a, b) => a - b);
  }

  /** End offsets per partition as this reader's isolation level sees them (LSO under read committed). */
  async endOffsets(partitions: number[]): Promise<Map<number, number>> {
    const cluster = await this.connected();
    const res = await cluster.fetchTopicsOffset([{ topic: this.o.topic, partitions: partitions.map((partition) => ({ partition })), fromBeginning: false }]);
    return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  private async connected(): Promise<InternalCluster> {
    const ahead = this.cluster ? undefined : this.o.prepared?.take(this.o.topic, this.o.isolation);
    if (ahead) {
      const c = await ahead.catch(() => undefined);
      if (c && !this.cluster && !this.stopped) this.cluster = c;
      else if (c) await c.disconnect().catch(() => undefined);
    }
    if (!this.cluster) {
      const c = createCluster(this.o.kafka, { isolationLevel: this.isolationLevel });
      this.cluster = c;
      try {
        await c.connect();
        await c.addTargetTopic(this.o.topic);
      } catch (e) {
        this.cluster = undefined;
        await c.disconnect().catch(() => undefined);
        throw e;
      }
    }
    return this.cluster;
  }

  /** Starts the fetch loop (returns at once; failures reach onState). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves when the loop has ended (all partitions finished, stopped, or a fatal error). */
  whenDone(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    // a prefetch still running would connect to a broker after the disconnect below
    await this.inflight?.catch(() => undefined);
    const c = this.cluster;
    this.cluster = undefined;
    await c?.disconnect().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let unknownTopic = 0;
    /** the next fetch, sent before the last one's records are handed over (the broker works meanwhile) */
    let prefetch: Promise<PartitionFetch[]> | undefined;
    while (!this.stopped) {
      const partitions = this.active();
      if (partitions.length === 0) return;
      try {
        const cluster = await this.connected();
        const fetched = await (prefetch ?? this.fetchOnce(cluster, partitions));
        prefetch = undefined;
        unknownTopic = 0;
        if (this.reconnecting) {
          this.reconnecting = false;
          this.o.log?.info(`read ${this.o.topic}: reconnected, resuming at ${JSON.stringify(Object.fromEntries(this.next))}`);
          this.o.onState?.('reading');
        }
        if (this.stopped) return;
        const more = this.active();
        if (more.length) {
          prefetch = this.fetchOnce(cluster, more);
          prefetch.catch(() => undefined); // its failure is handled when it is awaited
        }
        for (const f of fetched) {
          if (this.finished.has(f.partition)) continue;
          this.next.set(f.partition, f.next);
          this.o.onFetch(f);
        }
      } catch (e) {
        prefetch = undefined;
        // what was fetched ahead and not handed over is fetched again
        for (const [p, off] of this.next) this.fetchPos.set(p, off);
        if (this.stopped) return;
        const type = kafkaErrorType(e);
        if ((e as Error).name === 'KafkaJSOffsetOutOfRange') {
          await this.skipToStart((e as { partition?: number }).partition);
          continue;
        }
        if (e instanceof UndecodableBatchError) {
          await this.isolateUndecodable(partitions);
          continue;
        }
        if (type === 'UNKNOWN_TOPIC_OR_PARTITION' && ++unknownTopic > 20) {
          this.o.onState?.('error', `Topic "${this.o.topic}" no longer exists (deleted while it was being read).`);
          return;
        }
        if (/NOT_LEADER|LEADER_NOT_AVAILABLE|UNKNOWN_TOPIC_OR_PARTITION|FENCED_LEADER_EPOCH|UNKNOWN_LEADER_EPOCH|NOT_COORDINATOR|REPLICA_NOT_AVAILABLE|KAFKA_STORAGE_ERROR/.test(type)) {
          this.o.log?.debug(`read ${this.o.topic}: ${type}; refreshing metadata`);
          await this.cluster?.refreshMetadata().catch(() => undefined);
          await this.sleep(200);
          continue;
        }
        if (isConnectionError(e) || (e as { retriable?: boolean }).retriable) {
          if (!this.reconnecting) {
            this.reconnecting = true;
            this.o.log?.warn(`read ${this.o.topic}: ${(e as Error).message}; reconnecting`);
            this.o.onState?.('reconnecting', (e as Error).message);
          }
          // a broker restart leaves dead sockets in the cluster: start from a fresh one
          const c = this.cluster;
          this.cluster = undefined;
          await c?.disconnect().catch(() => undefined);
          await this.sleep(this.o.reconnectDelayMs ?? 1000);
          continue;
        }
        this.o.onState?.('error', (e as Error).message ?? String(e));
        return;
      }
    }
  }

  /** One fetch from each leader of `partitions`; moves each partition's next offset past what it returned. */
  private fetchOnce(cluster: InternalCluster, partitions: number[]): Promise<PartitionFetch[]> {
    const p = this.fetchLeaders(cluster, partitions);
    this.inflight = p;
    return p;
  }

  private async fetchLeaders(cluster: InternalCluster, partitions: number[]): Promise<PartitionFetch[]> {
    await cluster.refreshMetadataIfNecessary();
    if (this.stopped) return [];
    const byLeader = cluster.findLeaderForPartitions(this.o.topic, partitions);
    const leaders = Object.keys(byLeader);
    if (leaders.length === 0) throw Object.assign(new Error(`No leader for ${this.o.topic} partitions ${partitions.join(', ')}`), { type: 'LEADER_NOT_AVAILABLE' });
    const all = await Promise.all(
      leaders.map(async (nodeId) => {
        const broker = await cluster.findBroker({ nodeId });
        return this.fetchFrom(broker, byLeader[nodeId]);
      }),
    );
    return all.flat();
  }

  /** the per-partition size of the next fetch: small first (rows show soon), doubling to the limit */
  private fetchBytes = 0;

  private async fetchFrom(broker: Awaited<ReturnType<InternalCluster['findBroker']>>, partitions: number[]): Promise<PartitionFetch[]> {
    const limit = this.o.maxBytesPerPartition ?? 4 * 1024 * 1024;
    const perPartition = (this.fetchBytes = Math.min(limit, this.fetchBytes ? this.fetchBytes * 2 : (this.o.firstFetchBytes ?? 32 * 1024)));
    const res = await broker.fetch({
      replicaId: -1,
      isolationLevel: this.isolationLevel,
      maxWaitTime: this.o.maxWaitMs ?? 250,
      minBytes: 1,
      maxBytes: this.o.maxBytes ?? 16 * 1024 * 1024,
      topics: [
        {
          topic: this.o.topic,
          partitions: partitions.map((partition) => ({ partition, fetchOffset: String(this.fetchPos.get(partition) ?? 0), maxBytes: perPartition })),
        },
      ],
    });
    const out: PartitionFetch[] = [];
    if (this.stopped) return out;
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const from = this.fetchPos.get(p.partition);
        if (this.finished.has(p.partition) || from === undefined) continue;
        const items = classify(p.messages, from, p.abortedTransactions);
        let next = from;
        for (const it of items) next = Math.max(next, itemEnd(it));
        this.fetchPos.set(p.partition, next);
        out.push({ partition: p.partition, items, next, highWatermark: Number(p.highWatermark), lastStableOffset: Number(p.lastStableOffset) });
      }
    }
    return out;
  }

  /** OFFSET_OUT_OF_RANGE: the data was deleted (retention) or the offset is past the end. */
  private async skipToStart(partition: number | undefined): Promise<void> {
    const cluster = await this.connected();
    const parts = partition === undefined ? this.active() : [partition];
    const low = await cluster.fetchTopicsOffset([{ topic: this.o.topic, partitions: parts.map((p) => ({ partition: p })), fromBeginning: true }]);
    const high = await this.endOffsets(parts);
    for (const { partition: p, offset } of low[0]?.partitions ?? []) {
      const cur = this.next.get(p) ?? 0;
      const lo = Number(offset);
      const hi = high.get(p) ?? lo;
      if (cur < lo) {
        this.o.onSkipped?.(p, cur, lo);
        this.seek(p, lo);
      } else if (cur > hi) this.seek(p, hi);
    }
  }

  /**
   * A batch failed to decompress and its header could not be read back: fetch each partition on
   * its own to find which one holds it; that partition stops with an undecodable item, the others go on.
   */
  private async isolateUndecodable(partitions: number[]): Promise<void> {
    const cluster = await this.connected();
    for (const p of partitions) {
      try {
        for (const f of await this.fetchOnce(cluster, [p])) {
          this.next.set(f.partition, f.next);
          this.o.onFetch(f);
        }
      } catch (err) {
        if (!(err instanceof UndecodableBatchError)) throw err;
        const at = this.next.get(p) ?? 0;
        this.finish(p);
        this.o.onFetch({
          partition: p,
          items: [{ kind: 'undecodable', batch: { codec: err.codec, firstOffset: at, lastOffset: at, records: 0, reason: `${err.reason} (reading of this partition stopped here)` } }],
          next: at,
          highWatermark: at,
          lastStableOffset: at,
        });
      }
    }
  }
}
