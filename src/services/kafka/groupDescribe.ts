/**
 * ConsumerGroupDescribe (API key 69, KIP-848): describes consumer groups of Kafka 4's new consumer
 * protocol (`group.protocol=consumer`), which the classic DescribeGroups API reports as "Dead"
 * with no members. kafkajs does not implement it, so the request is encoded here (a flexible
 * version: compact strings and arrays, tagged fields) and sent on kafkajs' own connection to the
 * group's coordinator, which brings its authentication along. Chosen over a second Kafka client
 * (the well-kept ones are native librdkafka addons, which break across VS Code's Node ABIs) and over
 * Kafka's own group tool (needs Java and Kafka's jars on the user's machine, and no remote cluster
 * would be reachable with the extension's settings).
 */
import type { Kafka } from 'kafkajs';
import { createCluster, type InternalBroker, type InternalCluster } from './kafkaInternals';

export const CONSUMER_GROUP_DESCRIBE = 69;

export interface DescribedMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  subscribedTopics: string[];
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface DescribedGroup {
  groupId: string;
  errorCode: number;
  errorMessage: string | null;
  state: string;
  groupEpoch: number;
  assignor: string;
  members: DescribedMember[];
}

// ---------------------------------------------------------------------------------------------
// Wire format (pure: unit-tested)

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function compactString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([uvarint(b.length + 1), b]);
}

/**
 * The request body, preceded by the empty tagged fields of request header v2 (kafkajs writes
 * header v1: apiKey, apiVersion, correlationId, clientId; v2 adds the tagged fields).
 */
export function encodeConsumerGroupDescribe(groupIds: string[]): Buffer {
  return Buffer.concat([
    Buffer.from([0]), // header v2 tagged fields
    uvarint(groupIds.length + 1),
    ...groupIds.map(compactString),
    Buffer.from([0]), // include_authorized_operations = false
    Buffer.from([0]), // tagged fields
  ]);
}

class Reader {
  private p = 0;
  constructor(private readonly b: Buffer) {}
  int8(): number {
    return this.b.readInt8(this.p++);
  }
  int16(): number {
    const v = this.b.readInt16BE(this.p);
    this.p += 2;
    return v;
  }
  int32(): number {
    const v = this.b.readInt32BE(this.p);
    this.p += 4;
    return v;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.p >= this.b.length) throw new Error('ConsumerGroupDescribe response cut off');
      const byte = this.b[this.p++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  }
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new Error('ConsumerGroupDescribe response: null where a string is required');
    return s;
  }
  nullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    const s = this.b.toString('utf8', this.p, this.p + n - 1);
    this.p += n - 1;
    return s;
  }
  skip(n: number): void {
    this.p += n;
  }
  array<T>(item: () => T): T[] {
    const n = this.uvarint();
    if (n === 0) return [];
    return Array.from({ length: n - 1 }, item);
  }
  taggedFields(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint(); // tag
      this.skip(this.uvarint());
    }
  }
}

/** Decodes a v0 response; `payload` starts after the correlation id (response header v1's tagged fields first). */
export function decodeConsumerGroupDescribe(payload: Buffer): DescribedGroup[] {
  const r = new Reader(payload);
  r.taggedFields(); // response header v1
  r.int32(); // throttle time
  const assignment = () => {
    const tps = r.array(() => {
      r.skip(16); // topic id (uuid)
      const topic = r.string();
      const partitions = r.array(() => r.int32());
      r.taggedFields();
      return { topic, partitions };
    });
    r.taggedFields();
    return tps;
  };
  const groups = r.array((): DescribedGroup => {
    const errorCode = r.int16();
    const errorMessage = r.nullableString();
    const groupId = r.string();
    const state = r.string();
    const groupEpoch = r.int32();
    r.int32(); // assignment epoch
    const assignor = r.string();
    const members = r.array((): DescribedMember => {
      const memberId = r.string();
      r.nullableString(); // instance id
      r.nullableString(); // rack id
      const memberEpoch = r.int32();
      const clientId = r.string();
      const clientHost = r.string();
      const subscribedTopics = r.array(() => r.string());
      r.nullableString(); // subscribed topic regex
      const current = assignment();
      assignment(); // target assignment
      r.taggedFields();
      return { memberId, clientId, clientHost, memberEpoch, subscribedTopics, assignment: current };
    });
    r.int32(); // authorized operations
    r.taggedFields();
    return { groupId, errorCode, errorMessage, state, groupEpoch, assignor, members };
  });
  r.taggedFields();
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Sending it

async function send(broker: InternalBroker, groupIds: string[]): Promise<DescribedGroup[]> {
  const body = encodeConsumerGroupDescribe(groupIds);
  return (await broker.connectionPool.send({
    request: {
      apiKey: CONSUMER_GROUP_DESCRIBE,
      apiVersion: 0,
      apiName: 'ConsumerGroupDescribe',
      // kafkajs' request writer takes anything shaped like its Encoder
      encode: async () => ({ buf: body, buffer: body }) as unknown as { buffer: Buffer },
    },
    response: {
      decode: async (payload: Buffer) => decodeConsumerGroupDescribe(payload),
      parse: async (groups: unknown) => groups,
    },
  })) as DescribedGroup[];
}

/**
 * Describes groups with ConsumerGroupDescribe, each at its coordinator. Returns only the groups the
 * broker knows as consumer-protocol groups; none when the broker predates the API (Kafka < 3.7).
 */
export async function describeConsumerProtocolGroups(kafka: Kafka, groupIds: string[]): Promise<DescribedGroup[]> {
  if (groupIds.length === 0) return [];
  let cluster: InternalCluster | undefined;
  try {
    cluster = createCluster(kafka);
    await cluster.connect();
    const out: DescribedGroup[] = [];
    for (const id of groupIds) {
      const coordinator = await cluster.findGroupCoordinator({ groupId: id });
      if (coordinator.versions && !coordinator.versions[CONSUMER_GROUP_DESCRIBE]) return [];
      for (const g of await send(coordinator, [id])) if (g.errorCode === 0) out.push(g);
    }
    return out;
  } finally {
    await cluster?.disconnect().catch(() => undefined);
  }
}
