/** What the Kafka service gives and takes: summaries of topics and groups, its options, its read-only refusal. */
import type { Watermark } from './offsets';
import type { KafkaSecurity } from './security';

export interface KafkaLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface TopicSummary {
  name: string;
  partitions: number;
  /** sum of (end − start) offsets: messages currently retained (undefined: a partition has no leader to ask) */
  messageCount: number | undefined;
  internal: boolean;
  /** the most replicas any partition has */
  replicationFactor: number;
  /** partitions with fewer in-sync replicas than replicas */
  underReplicated: number;
  /** partitions without a leader (every replica's broker is down) */
  offline: number;
  /** each partition's start and end offsets (empty when they could not be read) */
  watermarks: Watermark[];
}

export interface PartitionSummary extends Watermark {
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface GroupPartitionLag {
  topic: string;
  partition: number;
  committed: number;
  high: number;
  lag: number;
}

export interface GroupSummary {
  groupId: string;
  state: string;
  members: number;
  protocolType: string;
  topics: string[];
  lag: GroupPartitionLag[];
  totalLag: number;
}

export interface KafkaServiceOptions {
  bootstrap: string;
  clientId?: string;
  log?: KafkaLog;
  /** ms before a connection attempt fails (default 3000) */
  connectionTimeout?: number;
  /** TLS / SASL of a secured cluster (absent: PLAINTEXT) */
  security?: KafkaSecurity;
  /** a read-only connection: every write (topics, records, groups) is refused here too, housekeeping included */
  readOnly?: boolean;
}

/** A write asked of a read-only connection's Kafka service. */
export class ReadOnlyKafkaError extends Error {
  constructor(action: string) {
    super(`This Kafka connection is read-only: ${action} was refused and nothing was sent.`);
    this.name = 'ReadOnlyKafkaError';
  }
}
