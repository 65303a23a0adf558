/**
 * A stored message as one table row: the shape the shared virtual table (media/shared/messageTable)
 * draws, whichever panel pages it (the message browser, the output viewer). Previews only: the full
 * bytes stay in the store.
 */
import type { RowData, RowMark } from '../../protocol/messageBrowser';
import { preview } from './messageFormat';
import { MessageFlags, type MessageStore } from './messageStore';

export function rowOf(store: MessageStore, seq: number): RowData {
  const k = preview(store.key(seq), 80);
  const v = preview(store.value(seq));
  return {
    seq,
    mark: markOf(store.flags(seq)),
    partition: store.partition(seq),
    offset: store.offset(seq),
    timestamp: store.timestamp(seq),
    key: k?.text ?? null,
    keyBinary: k?.binary ?? false,
    value: v?.text ?? null,
    valueBinary: v?.binary ?? false,
    valueTruncated: v?.truncated ?? false,
    valueSize: v?.size ?? 0,
    headerCount: store.headerCount(seq),
  };
}

export function markOf(flags: number): RowMark | undefined {
  if (flags & MessageFlags.ERROR_ROW) return 'error';
  if (flags & MessageFlags.ABORTED) return 'aborted';
  if (flags & MessageFlags.OPEN_TRANSACTION) return 'open-transaction';
  return undefined;
}
