/**
 * One message-browser read of a topic: plans start offsets, consumes into a MessageStore, and
 * leaves nothing behind. kafkajs always joins a consumer group, so each session uses a unique
 * group id (BROWSE_GROUP_PREFIX), never commits, and deletes the group when it stops.
 *
 * Broker restarts: kafkajs' own restart would rejoin with no committed offsets and jump to the
 * reset position, so restarts are handled here: the consumer is rebuilt and seeks every partition
 * to the next offset it has not stored yet; offsets below that are dropped (no gap, no duplicate).
 */
import * as crypto from 'node:crypto';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { BROWSE_GROUP_PREFIX, type KafkaLog, type KafkaService } from './kafkaClient';
import type { MessageStore } from './messageStore';
import { planBrowse, type BrowseRequest, type PartitionPlan } from './offsets';

/** kept short (the broker's minimum is 6 s) so a member lost in a broker restart expires soon */
const SESSION_TIMEOUT_MS = 10_000;

export type BrowseState = 'planning' | 'reading' | 'live' | 'done' | 'reconnecting' | 'stopped' | 'error';

export interface BrowseStatus {
  state: BrowseState;
  /** messages stored by this session */
  received: number;
  /** next offset to read per partition */
  next: Record<number, number>;
  error?: string;
}

export interface BrowseSessionOptions {
  service: KafkaService;
  topic: string;
  request: BrowseRequest;
  store: MessageStore;
  /** called after each batch is appended, with the seqs appended */
  onMessages?: (firstSeq: number, endSeq: number) => void;
  onStatus?: (s: BrowseStatus) => void;
  log?: KafkaLog;
  /** ms between reconnect attempts after the broker went away (default 1000) */
  reconnectDelayMs?: number;
}

export class BrowseSession {
  private readonly baseGroupId = `${BROWSE_GROUP_PREFIX}${crypto.randomBytes(6).toString('hex')}`;
  /** the consumer group of the current consumer */
  groupId = this.baseGroupId;
  private consumer?: Consumer;
  private plans: PartitionPlan[] = [];
  private readonly next = new Map<number, number>();
  private readonly done = new Set<number>();
  /** end offsets when the read started: reaching them on every partition means "caught up" */
  private caughtUpAt = new Map<number, number>();
  private state: BrowseState = 'planning';
  private error?: string;
  private received = 0;
  private stopped = false;
  private generation = 0;
  /** every group a consumer of this session joined; all are deleted on stop */
  private readonly groupsUsed = new Set<string>();
  private reconnecting = false;
  private crashedWhileReconnecting = false;

  constructor(private readonly opts: BrowseSessionOptions) {}

  get status(): BrowseStatus {
    return { state: this.state, received: this.received, next: Object.fromEntries(this.next), error: this.error };
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
    this.plans = await planBrowse(request, wm, {
      offsetsForTimestamp: (ts) => service.offsetsForTimestamp(topic, ts),
      groupOffsets: (g) => service.groupOffsets(g, topic),
    });
    for (const p of this.plans) {
      this.next.set(p.partition, p.start);
      if (p.end !== undefined && p.start >= p.end) this.done.add(p.partition);
    }
    this.caughtUpAt = new Map(wm.map((w) => [w.partition, w.high]));
    if (this.allDone()) {
      this.setState('done');
      return;
    }
    await this.runConsumer();
  }

  private allDone(): boolean {
    return this.plans.every((p) => this.done.has(p.partition));
  }

  private isCaughtUp(): boolean {
    return this.plans.every((p) => this.done.has(p.partition) || (this.next.get(p.partition) ?? 0) >= (this.caughtUpAt.get(p.partition) ?? 0));
  }

  private async runConsumer(): Promise<void> {
    const gen = ++this.generation;
    // After a broker restart the coordinator still lists the lost member until its session times
    // out, and a rejoin would wait for it: each rebuilt consumer gets a fresh group instead.
    this.groupId = gen === 1 ? this.baseGroupId : `${this.baseGroupId}-r${gen}`;
    const consumer = this.opts.service.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 1_000,
      // moderate fetches keep the extension host responsive (rows reach the webview while a big
      // topic streams in); a single larger message is still returned whole (KIP-74)
      maxBytes: 16 * 1024 * 1024,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2000, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    this.groupsUsed.add(this.groupId);
    consumer.on(consumer.events.CRASH, (e) => {
      if (gen !== this.generation || this.stopped) return;
      this.opts.log?.warn(`browse ${this.opts.topic}: consumer stopped (${e.payload.error?.message}); reconnecting`);
      // a crash while a reconnect is finishing (e.g. "coordinator is loading") needs another round
      if (this.reconnecting) this.crashedWhileReconnecting = true;
      else void this.reconnect();
    });
    // kafkajs applies seeks after each (re)join; re-seek on every join so a rebalance never resets
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (gen !== this.generation) return;
      this.seekAll(consumer);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: (b) => this.onBatch(b, gen),
      });
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      throw e;
    }
    this.seekAll(consumer);
    this.pauseFinished(consumer);
    this.setState(this.opts.request.follow && this.isCaughtUp() ? 'live' : 'reading');
  }

  private seekAll(consumer: Consumer): void {
    for (const p of this.plans) {
      if (this.done.has(p.partition)) continue;
      try {
        consumer.seek({ topic: this.opts.topic, partition: p.partition, offset: String(this.next.get(p.partition) ?? p.start) });
      } catch {
        // the consumer crashed while starting (e.g. the group coordinator is not ready yet): the
        // crash handler rebuilds it and seeks again; offsets below `next` are dropped meanwhile
        return;
      }
    }
    this.pauseFinished(consumer);
  }

  /** Partitions not chosen, or finished, are paused so the consumer does not fetch them. */
  private pauseFinished(consumer: Consumer): void {
    const chosen = new Set(this.plans.map((p) => p.partition));
    const paused = [...this.done];
    const total = this.caughtUpAt.size;
    for (let p = 0; p < total; p++) if (!chosen.has(p)) paused.push(p);
    if (paused.length) {
      try {
        consumer.pause([{ topic: this.opts.topic, partitions: paused }]);
      } catch {
        // not running (crashed): the next consumer pauses them
      }
    }
  }

  private async onBatch({ batch, isRunning, isStale }: EachBatchPayload, gen: number): Promise<void> {
    if (gen !== this.generation || this.stopped) return;
    const p = batch.partition;
    const plan = this.plans.find((x) => x.partition === p);
    if (!plan || this.done.has(p)) return;
    const store = this.opts.store;
    const first = store.endSeq;
    let next = this.next.get(p) ?? plan.start;
    if (!isRunning() || isStale()) return;
    for (const m of batch.messages) {
      const off = Number(m.offset);
      if (off < next) continue; // already stored before a reconnect
      if (plan.end !== undefined && off >= plan.end) {
        this.done.add(p);
        break;
      }
      const ts = Number(m.timestamp);
      if (plan.untilTimestamp !== undefined && ts > plan.untilTimestamp) {
        if (plan.end === undefined) {
          // a window ending in the future: stop this partition at the first message after it
          this.done.add(p);
          break;
        }
        next = off + 1;
        continue;
      }
      store.append({
        partition: p,
        offset: off,
        timestamp: ts,
        key: m.key,
        value: m.value,
        headers: m.headers ? headerList(m.headers) : undefined,
      });
      this.received++;
      next = off + 1;
    }
    this.next.set(p, next);
    if (plan.end !== undefined && next >= plan.end) this.done.add(p);
    const hw = Number(batch.highWatermark);
    if (hw > (this.caughtUpAt.get(p) ?? 0) && !this.opts.request.follow) this.caughtUpAt.set(p, hw);
    if (store.endSeq > first) this.opts.onMessages?.(first, store.endSeq);
    if (this.done.has(p) && this.consumer) this.pauseFinished(this.consumer);
    if (this.allDone()) {
      this.setState('done');
      void this.closeConsumer();
    } else if (this.state === 'reading' && this.opts.request.follow && this.isCaughtUp()) {
      this.setState('live');
    }
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.setState('reconnecting', `Lost the connection to Kafka at ${this.opts.service.bootstrap}; retrying…`);
    try {
      const old = this.consumer;
      this.consumer = undefined;
      this.generation++;
      await old?.disconnect().catch(() => undefined);
      const delay = this.opts.reconnectDelayMs ?? 1000;
      while (!this.stopped) {
        try {
          await this.opts.service.ping();
          await this.runConsumer();
          this.opts.log?.info(`browse ${this.opts.topic}: reconnected, resuming at ${JSON.stringify(Object.fromEntries(this.next))}`);
          return;
        } catch (e) {
          this.opts.log?.debug(`browse ${this.opts.topic}: reconnect failed: ${(e as Error).message}`);
          const c = this.consumer as Consumer | undefined;
          this.consumer = undefined;
          this.generation++;
          await c?.disconnect().catch(() => undefined);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      this.reconnecting = false;
      if (this.crashedWhileReconnecting && !this.stopped) {
        this.crashedWhileReconnecting = false;
        void this.reconnect();
      }
    }
  }

  private async closeConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    this.generation++;
    if (c) await c.disconnect().catch(() => undefined);
    await this.deleteGroup();
  }

  private async deleteGroup(): Promise<void> {
    // a group whose member was lost in a broker restart is not empty until its session times out
    const deadline = Date.now() + SESSION_TIMEOUT_MS + 5_000;
    for (const id of [...this.groupsUsed]) {
      for (;;) {
        try {
          await this.opts.service.deleteGroups([id]);
          this.groupsUsed.delete(id);
          break;
        } catch (e) {
          const msg = String((e as Error).message) + String((e as { groups?: Array<{ error?: Error }> }).groups?.map((g) => g.error?.message) ?? '');
          if (/not.?found|does not exist|GROUP_ID_NOT_FOUND/i.test(msg)) {
            this.groupsUsed.delete(id);
            break;
          }
          if (/not empty|NON_EMPTY/i.test(msg) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          this.opts.log?.warn(`could not delete browse group ${id}: ${msg}. It is removed the next time the browser starts.`);
          break;
        }
      }
    }
  }

  /** Stops reading, disconnects and deletes the consumer group. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.closeConsumer();
    if (this.state !== 'done') this.setState('stopped');
  }
}

function headerList(h: Record<string, unknown>): Array<{ key: string; value: Buffer | null }> | undefined {
  let any = false;
  for (const _k in h) {
    any = true;
    break;
  }
  if (!any) return undefined;
  const out: Array<{ key: string; value: Buffer | null }> = [];
  for (const [key, v] of Object.entries(h)) {
    const vals = Array.isArray(v) ? v : [v];
    for (const x of vals) out.push({ key, value: x === undefined || x === null ? null : Buffer.isBuffer(x) ? x : Buffer.from(String(x)) });
  }
  return out;
}
