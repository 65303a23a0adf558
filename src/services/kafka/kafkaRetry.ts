/** How the Kafka service talks to kafkajs and the broker: its log, batches of copies, and asking again while a broker settles. */
import { logLevel, type logCreator } from 'kafkajs';
import type { KafkaLog } from './kafkaTypes';

/**
 * The sends of `copies` copies of `messages`, made one at a time as they are sent (1,000 records ×
 * 1,000,000 copies is 10⁹ sends: never all in memory): at most 10,000 messages and ~512 KB each (or
 * one message), since a record batch over the broker's max.message.bytes (1 MB by default) would
 * be refused as a whole.
 */
export function* copyBatches<M extends { key?: string | Buffer | null; value: string | Buffer | null }>(messages: readonly M[], copies: number, maxBytes = 512 * 1024, maxCount = 10_000): Generator<M[]> {
  const total = messages.length * copies;
  const size = (m: M) => (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
  let batch: M[] = [];
  let bytes = 0;
  for (let i = 0; i < total; i++) {
    const m = messages[i % messages.length];
    if (batch.length && (batch.length >= maxCount || bytes + size(m) > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(m);
    bytes += size(m);
  }
  if (batch.length) yield batch;
}

/** The Kafka protocol error (e.g. UNKNOWN_TOPIC_OR_PARTITION) behind an error, also when kafkajs wrapped it in its retries. */
export function protocolType(e: unknown): string | undefined {
  for (let c = e as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined, i = 0; c && i < 5; c = (c.cause ?? c.originalError) as typeof c, i++) {
    if (typeof c.type === 'string') return c.type;
  }
  return undefined;
}

/**
 * Runs fn again while a broker that is still settling answers with a transient error (leaders being
 * elected, a group coordinator loading __consumer_offsets), backing off up to 1 s, for up to
 * timeoutMs; any other error, or one that lasts longer, is thrown.
 */
export async function whileSettling<T>(fn: () => Promise<T>, transient: (e: unknown) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await fn();
    } catch (e) {
      if (!transient(e) || Date.now() + wait > deadline) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * A broker that has just started answers group requests with COORDINATOR_LOAD_IN_PROGRESS for a few
 * seconds while it reads __consumer_offsets: asked again (up to ~15 s) instead of shown as an error.
 */
export function whileCoordinatorLoads<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  return whileSettling(fn, (e) => ['COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE'].includes(protocolType(e) ?? ''), timeoutMs);
}

/** kafkajs's log into ours: its errors as warnings, its warnings as debug lines. */
export function kafkaLogCreator(log?: KafkaLog): logCreator {
  return () => ({ level, log: entry }) => {
    if (!log) return;
    const text = `[kafkajs ${entry.logger ?? ''}] ${entry.message}`;
    if (level === logLevel.ERROR) log.warn(text);
    else if (level === logLevel.WARN) log.debug(text);
  };
}
