/**
 * Reads one offset range of a topic (the messages a DAG run wrote) with kafkajs, then stops.
 * No vscode import; kafkajs is loaded lazily so activation stays light.
 */
import type { OutputRange, OutputRecord } from './streamingRun';
import { toOutputRecord } from './streamingRun';

export interface ReadRangeOptions {
  bootstrap: string;
  timeoutMs?: number;
  /** stop after this many records */
  max?: number;
}

export async function readOutputRange(range: OutputRange, o: ReadRangeOptions): Promise<OutputRecord[]> {
  const wanted = [...range.end.entries()].filter(([p, end]) => end > (range.start.get(p) ?? 0));
  if (!wanted.length) return [];
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'datapipeline-output-viewer',
    brokers: o.bootstrap.split(',').map((s) => s.trim()).filter(Boolean),
    connectionTimeout: 3000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const groupId = `datapipeline-browse-output-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  const records: OutputRecord[] = [];
  const remaining = new Map(wanted.map(([p]) => [p, true]));
  const max = o.max ?? 10_000;
  const timeoutMs = o.timeoutMs ?? 20_000;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: range.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Timed out after ${timeoutMs / 1000}s reading ${range.topic} at ${o.bootstrap}. Check Kafka is running (Stack view).`)),
        timeoutMs,
      );
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = range.end.get(partition);
            const begin = range.start.get(partition) ?? 0;
            const off = Number(message.offset);
            if (end === undefined || !remaining.has(partition)) return;
            if (off >= begin && off < end && records.length < max) records.push(toOutputRecord(partition, message.offset, message.key, message.value));
            if (off >= end - 1) remaining.delete(partition);
            if (remaining.size === 0 || records.length >= max) finish();
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [p] of wanted) consumer.seek({ topic: range.topic, partition: p, offset: String(range.start.get(p) ?? 0) });
      });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
  return records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}
