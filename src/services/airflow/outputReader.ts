/**
 * Reads one offset range of a topic (the messages a DAG run wrote), then stops. The same groupless
 * reader as the message browser (TopicReader): every codec, transactions read committed, nothing
 * left on the broker. No vscode import; kafkajs is loaded lazily so activation stays light.
 */
import { registerCodecs } from '../kafka/codecs';
import { TopicReader } from '../kafka/topicReader';
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
  registerCodecs();
  const kafka = new Kafka({
    clientId: 'datapipeline-output-viewer',
    brokers: o.bootstrap.split(',').map((s) => s.trim()).filter(Boolean),
    connectionTimeout: 3000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const records: OutputRecord[] = [];
  const max = o.max ?? 10_000;
  const timeoutMs = o.timeoutMs ?? 20_000;
  let failure: string | undefined;
  const reader = new TopicReader({
    kafka,
    topic: range.topic,
    isolation: 'read_committed',
    start: new Map(wanted.map(([p]) => [p, range.start.get(p) ?? 0])),
    onFetch: (f) => {
      const end = range.end.get(f.partition) ?? 0;
      for (const it of f.items) {
        if (it.kind !== 'record' || it.record.offset >= end || records.length >= max) continue;
        records.push(toOutputRecord(f.partition, String(it.record.offset), it.record.key, it.record.value));
      }
      if (f.next >= end || records.length >= max) reader.finish(f.partition);
      if (records.length >= max) for (const [p] of wanted) reader.finish(p);
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
    if (outcome === 'timeout') throw new Error(`Timed out after ${timeoutMs / 1000}s reading ${range.topic} at ${o.bootstrap}. Check Kafka is running (Stack view).`);
    if (failure) throw new Error(`Reading ${range.topic} at ${o.bootstrap} failed: ${failure}`);
  } finally {
    if (timer) clearTimeout(timer);
    await reader.stop();
  }
  return records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}
