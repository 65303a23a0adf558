/**
 * Turning stored bytes into what people read: previews (truncated, single line), full text,
 * hex dumps for bytes that are not UTF-8, and export rows. Pure functions, no vscode.
 */
import { isUtf8 } from 'node:buffer';
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

export interface ExportRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  /** "utf8" or "base64" (for bytes that are not UTF-8) */
  keyEncoding: 'utf8' | 'base64';
  valueEncoding: 'utf8' | 'base64';
  headers: Record<string, string | null>;
}

function text(buf: Buffer | null): { s: string | null; enc: 'utf8' | 'base64' } {
  if (!buf) return { s: null, enc: 'utf8' };
  return isUtf8(buf) ? { s: buf.toString('utf8'), enc: 'utf8' } : { s: buf.toString('base64'), enc: 'base64' };
}

export function exportRecord(store: MessageStore, seq: number): ExportRecord {
  const k = text(store.key(seq));
  const v = text(store.value(seq));
  const headers: Record<string, string | null> = {};
  for (const h of store.headers(seq)) headers[h.key] = h.value ? text(h.value).s : null;
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

export function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  // leading =,+,-,@ would run as formulas in spreadsheet apps
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_HEADER = 'partition,offset,timestamp,iso_time,key,value,headers';

export function csvRow(r: ExportRecord): string {
  return [
    r.partition,
    r.offset,
    r.timestamp,
    new Date(r.timestamp).toISOString(),
    r.key,
    r.value,
    Object.keys(r.headers).length ? JSON.stringify(r.headers) : '',
  ]
    .map((f) => csvField(f as string | number | null))
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
