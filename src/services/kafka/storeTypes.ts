/**
 * The message browser buffer's plain types and limits (MessageStore in messageStore.ts): what a
 * message is on the way in and out, its flags, and the memory a search worker's replica shares.
 */
export interface MessageHeader {
  key: string;
  value: Buffer | null;
}

export interface IncomingMessage {
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: MessageHeader[];
  /** MessageFlags */
  flags?: number;
}

/** What the browser knows about a message beyond its bytes (bits of `flags`). */
export const MessageFlags = {
  /** written in a transaction */
  TRANSACTIONAL: 1,
  /** read uncommitted: its transaction has not ended yet */
  OPEN_TRANSACTION: 2,
  /** read uncommitted: its transaction was aborted */
  ABORTED: 4,
  /** not a message: a row standing for something that could not be read (the value says what) */
  ERROR_ROW: 8,
} as const;

export interface StoredMessage extends IncomingMessage {
  seq: number;
  headers: MessageHeader[];
}

export const DEFAULT_CAPACITY = 100_000;
export const MAX_CAPACITY = 1_000_000;
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
export const MIN_MAX_BYTES = 16 * 1024 * 1024;
export const CHUNK_SIZE = 4 * 1024 * 1024;

export interface Chunk {
  buf: Buffer;
  used: number;
  firstSeq: number;
  lastSeq: number;
  /** every byte < 0x80: byte offsets equal string offsets, so whole-chunk string search is exact.
   * Computed once when the chunk is sealed (undefined while it is being filled). */
  ascii?: boolean;
  sealed: boolean;
}

export function clampCapacity(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n)) return DEFAULT_CAPACITY;
  return Math.max(1, Math.min(MAX_CAPACITY, Math.floor(n)));
}

/** Memory shared with a search worker: the column arrays (fixed for the store's life). */
export interface SharedStoreColumns {
  capacity: number;
  columns: Record<ColumnName, SharedArrayBuffer>;
}

/** What a replica needs to read the live messages at one moment. */
export interface StoreSnapshot {
  head: number;
  tail: number;
  firstChunkId: number;
  chunks: Array<{ buf: SharedArrayBuffer; length: number; used: number; firstSeq: number; lastSeq: number; ascii?: boolean }>;
}

export type ColumnName = 'partition' | 'offset' | 'timestamp' | 'chunk' | 'pos' | 'keyLen' | 'valueLen' | 'headersLen' | 'headerCount' | 'flags';

export const EMPTY_CHUNK: Chunk = { buf: Buffer.alloc(0), used: 0, firstSeq: 0, lastSeq: -1, sealed: true, ascii: true };

export function clampMaxBytes(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n)) return DEFAULT_MAX_BYTES;
  return Math.max(MIN_MAX_BYTES, Math.floor(n));
}

/** Which limit made the buffer drop its oldest messages. */
export type EvictionCause = 'count' | 'bytes';

