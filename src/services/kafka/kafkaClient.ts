/**
 * kafkajs admin/producer wrapper for the Topics view and commands. Validates before sending,
 * turns kafkajs errors into messages that say what to do, and never imports vscode.
 */
import { AssignerProtocol, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { isInternalTopic } from './topicFilter';
import { KAFKAJS_COMPRESSION, registerCodecs, type CodecName } from './codecs';
import { describeConsumerProtocolGroups } from './groupDescribe';
import { TopicReader } from './topicReader';
import { lag as lagOf, type Watermark } from './offsets';
import { validateCreateTopic, type ProduceRecord, ValidationError, topicNameError } from './validation';
import { describeKafkaConnectFailure, KafkaUnreachableError, type KafkaSecurity } from './security';
import { ReadOnlyKafkaError, type GroupPartitionLag, type GroupSummary, type KafkaLog, type KafkaServiceOptions, type PartitionSummary, type TopicSummary } from './kafkaTypes';
import { copyBatches, kafkaLogCreator, protocolType, whileCoordinatorLoads, whileSettling } from './kafkaRetry';

// the error lives beside the diagnosis (no kafkajs there, so views can test for it without loading kafkajs)
export { KafkaUnreachableError };
export * from './kafkaTypes';
export { copyBatches, protocolType, whileCoordinatorLoads } from './kafkaRetry';

/** Group ids used by the message browser; hidden from the Consumer Groups list and cleaned up. */
export const BROWSE_GROUP_PREFIX = 'datapipeline-browse-';

/** The broker's consumer group ids, sorted; the message browser's own groups only when asked. */
async function sortedGroupIds(a: Admin, includeBrowse: boolean): Promise<string[]> {
  return (await whileCoordinatorLoads(() => a.listGroups())).groups
    .map((g) => g.groupId)
    .filter((g) => includeBrowse || !g.startsWith(BROWSE_GROUP_PREFIX))
    .sort();
}

export class KafkaService {
  readonly kafka: Kafka;
  readonly bootstrap: string;
  private admin?: Promise<Admin>;
  private producer?: Promise<Producer>;
  private readonly log?: KafkaLog;
  readonly security?: KafkaSecurity;

  constructor(private readonly opts: KafkaServiceOptions) {
    registerCodecs();
    this.bootstrap = opts.bootstrap;
    this.log = opts.log;
    this.security = opts.security;
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'datapipeline-vscode',
      brokers: opts.bootstrap.split(',').map((s) => s.trim()).filter(Boolean),
      ssl: opts.security?.ssl,
      sasl: opts.security?.sasl,
      // a TLS handshake (and a SASL exchange) takes longer than a plain connect to a broker far away
      connectionTimeout: opts.connectionTimeout ?? (opts.security?.ssl || opts.security?.sasl ? 10_000 : 3000),
      authenticationTimeout: 10_000,
      requestTimeout: 30000,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(opts.log),
    });
  }

  /** `retried` is true on the second try, with a fresh admin (after a topic vanished under the first). */
  private async withAdmin<T>(fn: (a: Admin, retried: boolean) => Promise<T>): Promise<T> {
    try {
      return await this.withAdminOnce((a) => fn(a, false));
    } catch (e) {
      // kafkajs refreshes metadata for every topic this admin has touched; one deleted meanwhile
      // (by another client) fails every later call. A fresh admin forgets it: retry once.
      if (protocolType(e) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
      const stale = this.admin;
      this.admin = undefined;
      void stale?.then((a) => a.disconnect()).catch(() => undefined);
      return this.withAdminOnce((a) => fn(a, true));
    }
  }

  private async withAdminOnce<T>(fn: (a: Admin) => Promise<T>): Promise<T> {
    if (!this.admin) {
      const a = this.kafka.admin();
      this.admin = a.connect().then(() => a);
      this.admin.catch(() => (this.admin = undefined));
    }
    let admin: Admin;
    try {
      admin = await this.admin;
    } catch (e) {
      this.admin = undefined;
      throw await this.unreachable(e);
    }
    try {
      return await fn(admin);
    } catch (e) {
      const name = (e as Error).name ?? '';
      // retries that ended on a broker's answer (a topic being deleted, ...) are that answer, not a lost connection
      const answered = name === 'KafkaJSNumberOfRetriesExceeded' && protocolType(e) !== undefined;
      if (!answered && /Connection|NumberOfRetriesExceeded|BrokerNotFound|NoBrokerAvailable/.test(name)) {
        // drop the connection so the next call reconnects (the broker may have restarted)
        this.admin = undefined;
        admin.disconnect().catch(() => undefined);
        throw await this.unreachable(e);
      }
      throw e;
    }
  }

  /** The error for a failed connect, saying what failed (a certificate is looked at to name it). */
  async unreachable(e: unknown): Promise<KafkaUnreachableError> {
    if (e instanceof KafkaUnreachableError) return e;
    return new KafkaUnreachableError(this.bootstrap, e, await describeKafkaConnectFailure(e, this.bootstrap, this.security));
  }

  async ping(): Promise<void> {
    await this.withAdmin((a) => a.describeCluster());
  }

  async brokerCount(): Promise<number> {
    return this.withAdmin(async (a) => (await a.describeCluster()).brokers.length);
  }

  async topicNames(): Promise<string[]> {
    return this.withAdmin((a) => a.listTopics());
  }

  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<TopicSummary[]> {
    return this.withAdmin(async (a, retried) => {
      const names = (await a.listTopics()).filter((n) => opts.includeInternal || !isInternalTopic(n)).sort();
      // one metadata request for every topic's replicas (a cluster with a broker down shows it here)
      const meta = new Map(names.length ? (await a.fetchTopicMetadata({ topics: names }).catch(() => ({ topics: [] }))).topics.map((t) => [t.name, t.partitions]) : []);
      const topics = await Promise.all(
        names.map(async (name): Promise<TopicSummary | undefined> => {
          const parts = meta.get(name) ?? [];
          const replication = {
            replicationFactor: Math.max(0, ...parts.map((p) => p.replicas.length)),
            underReplicated: parts.filter((p) => p.isr.length < p.replicas.length).length,
            offline: parts.filter((p) => p.leader < 0).length,
          };
          let offs: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
          try {
            offs = await a.fetchTopicOffsets(name);
          } catch (e) {
            // kafkajs asks about every topic this admin has touched, so one deleted elsewhere fails the
            // call for all: the first time, a fresh admin tries again (withAdmin); then a topic still
            // unknown was listed a moment ago and deleted since, and is left out
            if (retried && protocolType(e) === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
            // a partition without a leader has no offsets to give: the topic is listed, its count unknown
            if (replication.offline > 0) return { name, partitions: parts.length, messageCount: undefined, internal: isInternalTopic(name), ...replication, watermarks: [] };
            throw e;
          }
          const messageCount = offs.reduce((s, o) => s + (Number(o.high) - Number(o.low)), 0);
          const watermarks = offs.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((a, b) => a.partition - b.partition);
          return { name, partitions: offs.length, messageCount, internal: isInternalTopic(name), ...replication, watermarks };
        }),
      );
      return topics.filter((t): t is TopicSummary => t !== undefined);
    });
  }

  async watermarks(topic: string): Promise<Watermark[]> {
    return this.withAdmin(async (a) => {
      // right after a broker (re)start leaders are still being elected: retry for up to ~5 s
      const wm = await whileSettling(
        () => a.fetchTopicOffsets(topic),
        (e) => /not the leader|LEADER_NOT_AVAILABLE|leader is not available/i.test(String((e as Error).message)),
        5_000,
      );
      return wm.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((x, y) => x.partition - y.partition);
    });
  }

  /**
   * The timestamps of the topic's first and last retained messages (the oldest first record and
   * the newest last record over its partitions), undefined when it holds none. Reads one record
   * at each end of each partition, without a consumer group.
   */
  async timeRange(topic: string): Promise<{ first: number; last: number } | undefined> {
    const wm = (await this.watermarks(topic)).filter((w) => w.high > w.low);
    if (!wm.length) return undefined;
    const stamps: number[] = [];
    const ends = [...wm.map((w) => ({ p: w.partition, at: w.low })), ...wm.map((w) => ({ p: w.partition, at: w.high - 1 }))];
    for (const end of ends) {
      const one = new TopicReader({
        kafka: this.kafka,
        topic,
        isolation: 'read_uncommitted',
        start: new Map([[end.p, end.at]]),
        onFetch: (f) => {
          const r = f.items.find((i) => i.kind === 'record');
          if (r && r.kind === 'record') stamps.push(r.record.timestamp);
          one.finish(f.partition);
        },
      });
      one.start();
      await Promise.race([one.whenDone(), new Promise((r) => setTimeout(r, 5000))]);
      await one.stop();
    }
    return stamps.length ? { first: Math.min(...stamps), last: Math.max(...stamps) } : undefined;
  }

  async describeTopic(topic: string): Promise<PartitionSummary[]> {
    return this.withAdmin(async (a) => {
      const md = await a.fetchTopicMetadata({ topics: [topic] });
      const parts = md.topics[0]?.partitions ?? [];
      // a partition without a leader has no offsets to give: its row says so (-1) instead of the topic failing
      const offs = await a.fetchTopicOffsets(topic).catch((e: unknown) => {
        if (parts.some((p) => p.leader < 0)) return [];
        throw e;
      });
      return parts
        .map((p) => {
          const o = offs.find((x) => x.partition === p.partitionId);
          return {
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
            low: Number(o?.low ?? -1),
            high: Number(o?.high ?? -1),
          };
        })
        .sort((x, y) => x.partition - y.partition);
    });
  }

  async offsetsForTimestamp(topic: string, ts: number): Promise<Map<number, number>> {
    return this.withAdmin(async (a) => new Map((await a.fetchTopicOffsetsByTimestamp(topic, ts)).map((o) => [o.partition, Number(o.offset)])));
  }

  /** A group's committed offsets for one topic, read with the admin API (never joins the group). */
  async groupOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    return this.withAdmin(async (a) => {
      const res = await whileCoordinatorLoads(() => a.fetchOffsets({ groupId, topics: [topic] }));
      return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    });
  }

  /** Consumer group ids only (one request; browse groups hidden). */
  async groupIds(): Promise<string[]> {
    return this.withAdmin((a) => sortedGroupIds(a, false));
  }

  async listGroups(opts: { includeBrowse?: boolean } = {}): Promise<GroupSummary[]> {
    return this.withAdmin(async (a) => {
      const ids = await sortedGroupIds(a, opts.includeBrowse ?? false);
      if (ids.length === 0) return [];
      const described = (await whileCoordinatorLoads(() => a.describeGroups(ids))).groups;
      // Kafka 4's consumer protocol (KIP-848): DescribeGroups reports such a group as Dead with no
      // members; ConsumerGroupDescribe knows its real state and members.
      const maybeNew = described.filter((g) => g.state === 'Dead' && g.members.length === 0).map((g) => g.groupId);
      const modern = new Map((await describeConsumerProtocolGroups(this.kafka, maybeNew).catch(() => [])).map((g) => [g.groupId, g]));
      const highCache = new Map<string, Map<number, number>>();
      const lowCache = new Map<string, Map<number, number>>();
      const out: GroupSummary[] = [];
      for (const g of described) {
        const topics = new Set<string>();
        const m848 = modern.get(g.groupId);
        for (const m of m848?.members ?? []) for (const t of [...m.subscribedTopics, ...m.assignment.map((x) => x.topic)]) topics.add(t);
        for (const m of g.members) {
          try {
            const asg = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
            for (const t of Object.keys(asg?.assignment ?? {})) topics.add(t);
          } catch {
            // non-consumer protocol (e.g. connect): no topic assignment to show
          }
        }
        const lag: GroupPartitionLag[] = [];
        const committed = await whileCoordinatorLoads(() => a.fetchOffsets({ groupId: g.groupId }));
        for (const t of committed) {
          if (t.partitions.every((p) => Number(p.offset) < 0)) continue;
          topics.add(t.topic);
          if (!highCache.has(t.topic)) {
            try {
              const offs = await a.fetchTopicOffsets(t.topic);
              highCache.set(t.topic, new Map(offs.map((o) => [o.partition, Number(o.high)])));
              lowCache.set(t.topic, new Map(offs.map((o) => [o.partition, Number(o.low)])));
            } catch {
              continue; // topic deleted since the commit
            }
          }
          for (const p of t.partitions) {
            const high = highCache.get(t.topic)!.get(p.partition) ?? 0;
            const low = lowCache.get(t.topic)!.get(p.partition) ?? 0;
            const c = Number(p.offset);
            lag.push({ topic: t.topic, partition: p.partition, committed: c, high, lag: lagOf(high, c, low) });
          }
        }
        out.push({
          groupId: g.groupId,
          state: m848?.state ?? g.state,
          members: m848 ? m848.members.length : g.members.length,
          protocolType: m848 ? 'consumer (KIP-848)' : g.protocolType,
          topics: [...topics].sort(),
          lag: lag.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition),
          totalLag: lag.reduce((s, l) => s + l.lag, 0),
        });
      }
      return out;
    });
  }

  async createTopic(req: {
    topic: string;
    numPartitions: string | number;
    replicationFactor?: string | number;
    configs?: Record<string, string>;
  }): Promise<void> {
    this.assertWritable(`creating topic "${req.topic}"`);
    const brokers = await this.brokerCount();
    const v = validateCreateTopic(req, brokers);
    let asked = false;
    await this.withAdmin(async (a) => {
      const exists = (await a.listTopics()).includes(v.topic);
      // a retry after our own create (in a cluster, a broker's metadata can lag the controller's for a
      // moment: "does not host this topic-partition") finds the topic made: it only waits for its leaders
      if (exists && !asked) throw new ValidationError(`Topic "${v.topic}" already exists. Pick another name.`);
      asked = true;
      const created = exists || await a.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: v.topic,
            numPartitions: v.numPartitions,
            replicationFactor: v.replicationFactor,
            configEntries: Object.entries(v.configs).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      // false: kafkajs retried its own request (a cluster's controller answered late) and found the topic
      // made by the first try; it did not exist just before, so it is ours
      if (!created) this.log?.debug(`createTopics(${v.topic}) answered "exists" on kafkajs' retry of our own request`);
      // leaders can be elected a moment after createTopics returns: wait until offsets answer
      for (let i = 0; i < 50; i++) {
        try {
          await a.fetchTopicOffsets(v.topic);
          return;
        } catch (e) {
          if (!/leader|does not host|UNKNOWN_TOPIC/i.test(String((e as Error).message))) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    });
  }

  async deleteTopic(topic: string): Promise<void> {
    const err = topicNameError(topic);
    if (err) throw new ValidationError(err);
    this.assertWritable(`deleting topic "${topic}"`);
    await this.withAdmin((a) => a.deleteTopics({ topics: [topic], timeout: 10000 }));
    // the producer keeps asking metadata for every topic it ever sent to; a deleted one fails its sends
    this.resetProducer();
  }

  private resetProducer(): void {
    const p = this.producer;
    this.producer = undefined;
    void p?.then((x) => x.disconnect()).catch(() => undefined);
  }

  private assertWritable(action: string): void {
    if (this.opts.readOnly) throw new ReadOnlyKafkaError(action);
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    this.assertWritable(`deleting consumer group(s) ${groupIds.join(', ')}`);
    await this.withAdmin((a) => a.deleteGroups(groupIds).then(() => undefined));
  }

  /** Browse groups left behind by a crashed window (empty, our prefix). Returns the ids deleted. */
  async cleanupStaleBrowseGroups(): Promise<string[]> {
    // read-only means no write at all, housekeeping included
    if (this.opts.readOnly) return [];
    return this.withAdmin(async (a) => {
      const ids = (await whileCoordinatorLoads(() => a.listGroups())).groups.map((g) => g.groupId).filter((g) => g.startsWith(BROWSE_GROUP_PREFIX));
      if (ids.length === 0) return [];
      const empty = (await whileCoordinatorLoads(() => a.describeGroups(ids))).groups.filter((g) => g.state === 'Empty' || g.state === 'Dead').map((g) => g.groupId);
      if (empty.length) await a.deleteGroups(empty).catch(() => undefined);
      return empty;
    });
  }

  private async getProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
      this.producer = p.connect().then(() => p);
      this.producer.catch(() => (this.producer = undefined));
    }
    try {
      return await this.producer;
    } catch (e) {
      this.producer = undefined;
      throw await this.unreachable(e);
    }
  }

  /**
   * Send records (each `copies` times). Values are strings or Buffers. Returns the number sent.
   * Partition numbers are checked against the topic before anything is sent.
   */
  async produce(
    topic: string,
    records: Array<Omit<ProduceRecord, 'value' | 'key' | 'headers'> & { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, string | Buffer | Array<string | Buffer>> }>,
    copies = 1,
    opts: { compression?: CodecName } = {},
  ): Promise<number> {
    this.assertWritable(`producing to "${topic}"`);
    const compression = KAFKAJS_COMPRESSION[opts.compression ?? 'none'];
    if (compression === undefined) throw new ValidationError(`Unknown compression "${opts.compression}": use none, gzip, snappy, lz4 or zstd.`);
    const err = topicNameError(topic);
    if (err) throw new ValidationError(err);
    if (!Number.isInteger(copies) || copies < 1 || copies > 1_000_000)
      throw new ValidationError(`Copies must be a whole number from 1 to 1000000; got ${copies}.`);
    const wm = await this.watermarks(topic).catch((e) => {
      if (/does not host this topic-partition|UNKNOWN_TOPIC/i.test(String((e as Error).message)))
        throw new ValidationError(`Topic "${topic}" does not exist. Create it first.`);
      throw e;
    });
    if (wm.length === 0) throw new ValidationError(`Topic "${topic}" does not exist. Create it first.`);
    for (const r of records) {
      if (r.partition !== undefined && (r.partition < 0 || r.partition >= wm.length))
        throw new ValidationError(`Partition ${r.partition} does not exist; "${topic}" has partitions 0–${wm.length - 1}.`);
    }
    const producer = await this.getProducer();
    let sent = 0;
    let p = producer;
    for (const messages of copyBatches(records.map((r) => ({ key: r.key ?? null, value: r.value, headers: r.headers, partition: r.partition })), copies)) {
      try {
        await p.send({ topic, messages, acks: -1, compression });
      } catch (e) {
        // a topic deleted elsewhere poisons the producer's metadata: start a fresh producer once
        if (!/does not host this topic-partition|UNKNOWN_TOPIC/i.test(`${(e as Error).message} ${String((e as { cause?: Error }).cause?.message)}`)) throw e;
        this.resetProducer();
        p = await this.getProducer();
        await p.send({ topic, messages, acks: -1, compression });
      }
      sent += messages.length;
    }
    return sent;
  }

  async dispose(): Promise<void> {
    const a = this.admin;
    const p = this.producer;
    this.admin = undefined;
    this.producer = undefined;
    await Promise.all([a?.then((x) => x.disconnect()).catch(() => undefined), p?.then((x) => x.disconnect()).catch(() => undefined)]);
  }
}
