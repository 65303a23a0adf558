/**
 * Turning stored bytes into what people read: previews (truncated, single line), full text,
 * hex dumps for bytes that are not UTF-8, and export rows and files. No vscode.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { existsSync as fsExistsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { MessageStore } from './messageStore';

export const PREVIEW_CHARS = 200;
/** The detail pane shows hex for at most this many bytes; export gives the rest. */
export const HEX_DUMP_LIMIT = 256 * 1024;

export interface TextPreview {
  text: string;
  /** true when the bytes are not valid UTF-8: `text` is a hex preview */
  binary: boolean;
  truncated: boolean;
  size: number;
}

/** Is this buffer valid UTF-8 text, all of it? */
export function looksUtf8(buf: Buffer): boolean {
  // the whole value (node's native check runs at GB/s): a bad byte deep inside a large value
  // makes it binary, shown as hex, not as text with U+FFFD in it
  return isUtf8(buf);
}

export function preview(buf: Buffer | null, maxChars = PREVIEW_CHARS): TextPreview | null {
  if (!buf) return null;
  if (!looksUtf8(buf)) {
    const n = Math.min(buf.length, Math.ceil(maxChars / 3));
    const hex = Array.from(buf.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return { text: hex, binary: true, truncated: n < buf.length, size: buf.length };
  }
  // decode a bounded prefix only: a 10 MB value must not be decoded for one table cell
  const limit = Math.min(buf.length, maxChars * 4);
  const prefix = buf.toString('utf8', 0, limit);
  let text = prefix.slice(0, maxChars);
  const truncated = buf.length > limit || prefix.length > maxChars;
  // the byte cut may split a multi-byte character
  if (buf.length > limit && text.length === prefix.length) text = text.replace(/\uFFFD$/, '');
  return { text: text.replace(/[\r\n\t]+/g, ' '), binary: false, truncated, size: buf.length };
}

/** Classic 16-bytes-per-line hex dump with an ASCII column. */
export function hexDump(buf: Buffer, limit = HEX_DUMP_LIMIT): { text: string; truncated: boolean } {
  const n = Math.min(buf.length, limit);
  const lines: string[] = [];
  for (let off = 0; off < n; off += 16) {
    const row = buf.subarray(off, Math.min(off + 16, n));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return { text: lines.join('\n'), truncated: n < buf.length };
}

export type TextEncoding = 'utf8' | 'base64';

export interface ExportHeader {
  key: string;
  /** null: a header without a value */
  value: string | null;
  /** "base64" for a value that is not UTF-8 */
  encoding: TextEncoding;
}

export interface ExportRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  /** "utf8" or "base64" (for bytes that are not UTF-8) */
  keyEncoding: TextEncoding;
  valueEncoding: TextEncoding;
  /** in the record's order; a key may appear more than once, as Kafka allows */
  headers: ExportHeader[];
}

function text(buf: Buffer | null): { s: string | null; enc: TextEncoding } {
  if (!buf) return { s: null, enc: 'utf8' };
  return isUtf8(buf) ? { s: buf.toString('utf8'), enc: 'utf8' } : { s: buf.toString('base64'), enc: 'base64' };
}

export function exportRecord(store: MessageStore, seq: number): ExportRecord {
  const k = text(store.key(seq));
  const v = text(store.value(seq));
  const headers = store.headers(seq).map((h) => {
    const t = text(h.value);
    return { key: h.key, value: t.s, encoding: t.enc };
  });
  return {
    partition: store.partition(seq),
    offset: store.offset(seq),
    timestamp: store.timestamp(seq),
    key: k.s,
    value: v.s,
    keyEncoding: k.enc,
    valueEncoding: v.enc,
    headers,
  };
}

/** ISO 8601 for a Kafka timestamp; '' for none (-1) or one a JavaScript Date cannot hold (beyond ±8.64e15 ms). */
export function isoTime(ts: number): string {
  return Number.isFinite(ts) && ts >= 0 && ts <= 8.64e15 ? new Date(ts).toISOString() : '';
}

/**
 * One CSV field. null is an empty field and an empty string is `""`, so the two stay apart (the
 * convention of PostgreSQL's COPY and pandas' `keep_default_na`); the encoding columns say "null" too.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  if (s === '') return '""';
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A number as a spreadsheet reads one: left as it is (-42, +1, 1.5e3). */
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** What this suffix on an encoding says: the value had a ' put in front (drop its first character to read it back). */
export const GUARDED_SUFFIX = '-guarded';

/**
 * A key or value as its CSV cell and encoding: text a spreadsheet would run as a formula (starting
 * with =, +, -, @, a tab or a carriage return, and not a plain number) gets a ' in front, which
 * spreadsheets show as text, and its encoding says so ("utf8-guarded"), so the file still says
 * exactly what the value was: drop the first character of a guarded cell (README: Export).
 */
export function csvCell(value: string | null, encoding: string): { cell: string | null; encoding: string } {
  if (value === null) return { cell: null, encoding: 'null' };
  if (/^[=+\-@\t\r]/.test(value) && !PLAIN_NUMBER.test(value)) return { cell: `'${value}`, encoding: `${encoding}${GUARDED_SUFFIX}` };
  return { cell: value, encoding };
}

export const CSV_HEADER = 'partition,offset,timestamp,iso_time,key_encoding,key,value_encoding,value,headers';

export function csvRow(r: ExportRecord): string {
  const key = csvCell(r.key, r.keyEncoding);
  const value = csvCell(r.value, r.valueEncoding);
  return [r.partition, r.offset, r.timestamp, isoTime(r.timestamp) || null, key.encoding, key.cell, value.encoding, value.cell, r.headers.length ? JSON.stringify(r.headers) : null]
    .map((f) => csvField(f))
    .join(',');
}

/** Write the given messages as a JSON array or CSV through `write` (which may apply backpressure). */
export async function exportMessages(
  store: MessageStore,
  seqs: Iterable<number>,
  format: 'json' | 'csv',
  write: (chunk: string) => Promise<void> | void,
): Promise<number> {
  let n = 0;
  let batch = format === 'json' ? '[\n' : CSV_HEADER + '\n';
  for (const seq of seqs) {
    if (!store.has(seq)) continue;
    const r = exportRecord(store, seq);
    if (format === 'json') batch += (n > 0 ? ',\n' : '') + JSON.stringify(r);
    else batch += csvRow(r) + '\n';
    n++;
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  batch += format === 'json' ? '\n]\n' : '';
  await write(batch);
  return n;
}

/** An export that could not be completed; the file it was meant for was not written. */
export class ExportError extends Error {}

/**
 * Exports to `file` without ever leaving half a file: the rows go to a temporary file beside it,
 * which replaces `file` only once everything is written and flushed. On an error (disk full, file
 * too large, permission) the temporary file is removed, `file` is as it was, and the error says
 * how far it got.
 */
export async function exportToFile(store: MessageStore, seqs: Iterable<number>, format: 'json' | 'csv', file: string): Promise<number> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  let written = 0;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    const h = handle;
    const n = await exportMessages(store, seqs, format, async (chunk) => {
      const buf = Buffer.from(chunk, 'utf8');
      // a write may take only part of the buffer (at a size limit, on a full disk): go on until all is written or it fails
      for (let off = 0; off < buf.length; ) {
        const { bytesWritten } = await h.write(buf, off, buf.length - off);
        if (bytesWritten === 0) throw new Error('the disk took no more bytes');
        off += bytesWritten;
        written += bytesWritten;
      }
    });
    await h.sync();
    await h.close();
    handle = undefined;
    await fs.rename(tmp, file);
    return n;
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const reason = (e as NodeJS.ErrnoException).code === 'EFBIG' ? 'the file grew larger than this system allows' : (e as Error).message;
    throw new ExportError(
      `Export to ${file} failed after ${(written / 1e6).toFixed(1)} MB: ${reason}. Nothing was written there${fsExistsSync(file) ? ' (the file that was there is unchanged)' : ''}; the partial copy was removed.`,
    );
  }
}
