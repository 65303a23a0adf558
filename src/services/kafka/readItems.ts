/**
 * A fetch response's records as the reader's items, in offset order (pure): data records, transaction
 * markers, records of aborted transactions and undecodable batches (see topicReader.ts).
 */
import { parseUndecodable } from './codecs';
import type { RawRecord } from './kafkaInternals';
import type { ReadItem } from './topicReader';

/** The control record type of an abort marker (a commit is 1). */
const ABORT = 0;

/** Records at or after `from`, in offset order, as ReadItems (see the file comment). */
export function classify(messages: RawRecord[], from: number, abortedList: Array<{ producerId: string; firstOffset: string }>): ReadItem[] {
  const items: ReadItem[] = [];
  const aborted = [...(abortedList ?? [])].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  const inAborted = new Set<string>();
  let last = from - 1;
  for (const m of messages) {
    const offset = Number(m.offset);
    const ctx = m.batchContext;
    while (aborted.length && offset >= Number(aborted[0].firstOffset)) inAborted.add(aborted.shift()!.producerId);
    if (offset <= last) continue; // before the fetch offset (a compressed batch starts earlier), or a placeholder repeat
    const undecodable = parseUndecodable(m.headers);
    if (undecodable) {
      items.push({ kind: 'undecodable', batch: undecodable });
      last = undecodable.lastOffset;
      continue;
    }
    last = offset;
    if (m.isControlRecord || ctx.isControlBatch) {
      const type = m.key && m.key.length >= 4 ? m.key.readInt16BE(2) : -1;
      if (type === ABORT) inAborted.delete(ctx.producerId);
      items.push({ kind: 'control', offset, producerId: ctx.producerId, commit: type !== ABORT });
      continue;
    }
    if (ctx.inTransaction && inAborted.has(ctx.producerId)) {
      items.push({ kind: 'aborted', offset });
      continue;
    }
    items.push({
      kind: 'record',
      record: {
        offset,
        timestamp: Number(m.timestamp),
        key: m.key,
        value: m.value,
        headers: headerList(m.headers),
        transactional: ctx.inTransaction,
        producerId: ctx.producerId,
      },
    });
  }
  return items;
}

export function itemEnd(it: ReadItem): number {
  switch (it.kind) {
    case 'record':
      return it.record.offset + 1;
    case 'undecodable':
      return it.batch.lastOffset + 1;
    default:
      return it.offset + 1;
  }
}

/** kafkajs' header object (repeated keys become arrays) as an ordered list, repeats kept. */
export function headerList(h: Record<string, unknown> | undefined): Array<{ key: string; value: Buffer | null }> {
  const out: Array<{ key: string; value: Buffer | null }> = [];
  if (!h) return out;
  for (const key in h) {
    const v = h[key];
    const vals = Array.isArray(v) ? v : [v];
    for (const x of vals) out.push({ key, value: x === undefined || x === null ? null : Buffer.isBuffer(x) ? x : Buffer.from(String(x)) });
  }
  return out;
}
