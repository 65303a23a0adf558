/**
 * The parts of kafkajs' internals DataPipeline uses, in one place. kafkajs' public API reads topics
 * only through a consumer group and cannot send requests it does not know; the message browser
 * needs both: a read without any consumer group (nothing left behind, control records and the
 * broker's aborted-transaction list visible) and ConsumerGroupDescribe for Kafka 4 groups.
 * kafkajs is pinned (2.2.4, no release since 2023), so these shapes are stable; each is checked
 * when first used and fails with a message that names what is missing.
 */
import type { Kafka } from 'kafkajs';

export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

export interface RawRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord: boolean;
  batchContext: { firstOffset: string; producerId: string; inTransaction: boolean; isControlBatch: boolean; lastOffsetDelta: number };
}

export interface FetchPartitionResponse {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  abortedTransactions: Array<{ producerId: string; firstOffset: string }>;
  messages: RawRecord[];
}

export interface FetchResponse {
  responses: Array<{ topicName: string; partitions: FetchPartitionResponse[] }>;
}

export interface ProtocolRequest {
  request: { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<{ buffer: Buffer }> | { buffer: Buffer } };
  response: { decode(payload: Buffer): Promise<unknown>; parse(decoded: unknown): Promise<unknown> };
}

export interface InternalBroker {
  nodeId: number;
  fetch(req: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<FetchResponse>;
  connectionPool: { send(req: ProtocolRequest): Promise<unknown> };
  /** apiKey → supported versions, once connected */
  versions?: Record<number, { minVersion: number; maxVersion: number }>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findBroker(req: { nodeId: string | number }): Promise<InternalBroker>;
  findGroupCoordinator(req: { groupId: string }): Promise<InternalBroker>;
  findControllerBroker(): Promise<InternalBroker>;
  fetchTopicsOffset(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning?: boolean; fromTimestamp?: number }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/** A kafkajs Cluster of its own (brokers, auth and retry from `kafka`), never joining a group. */
export function createCluster(kafka: Kafka, opts: { isolationLevel?: number } = {}): InternalCluster {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = sym ? (kafka as unknown as Record<symbol, unknown>)[sym] : undefined;
  if (typeof create !== 'function') {
    throw new Error('This kafkajs has no internal createCluster: DataPipeline needs kafkajs 2.2.x (npm ci installs it).');
  }
  return (create as (o: object) => InternalCluster)({
    allowAutoTopicCreation: false,
    metadataMaxAge: 60_000,
    maxInFlightRequests: null,
    instrumentationEmitter: null,
    isolationLevel: opts.isolationLevel ?? READ_COMMITTED,
  });
}

/** kafkajs' error classes carry a `type` (the broker's error name) and `retriable`. */
export function kafkaErrorType(e: unknown): string {
  return String((e as { type?: string })?.type ?? '');
}

export function isConnectionError(e: unknown): boolean {
  const name = String((e as Error)?.name ?? '');
  const msg = String((e as Error)?.message ?? '');
  return (
    /Connection|NumberOfRetriesExceeded|BrokerNotFound|NoBrokerAvailable|RequestTimeout|KafkaJSNonRetriableError/.test(name) ||
    /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Closed connection|Connection error|socket hang up|not connected/i.test(msg)
  );
}
