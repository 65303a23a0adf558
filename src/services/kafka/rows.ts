/**
 * A stored message as one table row: the shape the shared virtual table (media/shared/messageTable)
 * draws, whichever panel pages it (the message browser, the output viewer). Previews only: the full
 * bytes stay in the store.
 */
import { preview } from './messageFormat';
import { MessageFlags, type MessageStore } from './messageStore';

/** Where a message sits and its key: shared by a table row and the message browser's detail pane. */
export interface MessageMeta {
  seq: number;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  keyBinary: boolean;
}

/** What a row is beyond its bytes: a transaction's state, or an error standing for unreadable data. */
export type RowMark = 'aborted' | 'open-transaction' | 'error';

/** A stored message as a table row (the webviews' protocols send these as they are). */
export interface MessageRow extends MessageMeta {
  mark?: RowMark;
  value: string | null;
  valueBinary: boolean;
  valueTruncated: boolean;
  valueSize: number;
  headerCount: number;
  /** cells of the extra columns a panel names (the output viewer's JSON fields), in that order */
  fields?: string[];
}

export function rowOf(store: MessageStore, seq: number): MessageRow {
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
