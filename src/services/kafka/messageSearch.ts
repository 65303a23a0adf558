/**
 * Search over the buffered messages: substring (case-sensitive or not) or regex, over key, value
 * and/or headers, plus partition and time-range filters. Whole-store scans search the arena
 * chunks directly (Buffer.indexOf / one string per ASCII chunk) instead of decoding message by
 * message, which is what keeps a search over a million messages in the low hundreds of ms.
 */
import type { MessageStore } from './messageStore';

export interface SearchFields {
  key: boolean;
  value: boolean;
  headers: boolean;
}

export interface MessageFilter {
  /** empty = no text filter */
  query?: string;
  regex?: boolean;
  caseSensitive?: boolean;
  fields?: SearchFields;
  /** undefined = all partitions */
  partitions?: number[];
  /** inclusive bounds in epoch ms */
  timeFrom?: number;
  timeTo?: number;
}

export const ALL_FIELDS: SearchFields = { key: true, value: true, headers: true };

export class FilterError extends Error {}

/** A compiled filter. `test(seq)` checks one message; `scan()` returns every live matching seq, oldest first. */
export class CompiledFilter {
  readonly isEmpty: boolean;
  private readonly fields: SearchFields;
  private readonly needle?: Buffer;
  private readonly lowerNeedle?: string;
  private readonly re?: RegExp;
  /** the same pattern with the g flag, for whole-chunk scans (only for context-free patterns) */
  private readonly chunkRe?: RegExp;
  private readonly partitions?: Set<number>;
  /** has a text query over at least one field (what the search worker is for) */
  readonly hasText: boolean;

  constructor(readonly spec: MessageFilter) {
    const q = spec.query ?? '';
    this.fields = spec.fields ?? ALL_FIELDS;
    this.hasText = q.length > 0 && (this.fields.key || this.fields.value || this.fields.headers);
    if (this.hasText) {
      if (spec.regex) {
        try {
          this.re = new RegExp(q, spec.caseSensitive ? '' : 'i');
        } catch (e) {
          throw new FilterError(`Invalid regular expression: ${(e as Error).message}. Fix the pattern or turn off regex.`);
        }
        // anchors, lookarounds and word boundaries depend on the bytes around a field: those
        // patterns are tested message by message
        if (!/[\^$]|\(\?|\\[bB]/.test(q)) this.chunkRe = new RegExp(q, spec.caseSensitive ? 'g' : 'gi');
      } else if (spec.caseSensitive) {
        this.needle = Buffer.from(q, 'utf8');
      } else {
        this.lowerNeedle = q.toLowerCase();
        // a case-insensitive literal regex over a chunk is ~4x faster than lowercasing the chunk
        this.chunkRe = new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      }
    }
    if (spec.partitions) this.partitions = new Set(spec.partitions);
    this.isEmpty = !this.hasText && !this.partitions && spec.timeFrom === undefined && spec.timeTo === undefined;
  }

  private passesMeta(store: MessageStore, seq: number): boolean {
    if (this.partitions && !this.partitions.has(store.partition(seq))) return false;
    const t = store.timestamp(seq);
    if (this.spec.timeFrom !== undefined && t < this.spec.timeFrom) return false;
    if (this.spec.timeTo !== undefined && t > this.spec.timeTo) return false;
    return true;
  }

  /** Does the message match, text and metadata? */
  test(store: MessageStore, seq: number): boolean {
    if (!this.passesMeta(store, seq)) return false;
    if (!this.hasText) return true;
    for (const field of this.fieldBuffers(store, seq)) {
      if (this.needle) {
        if (field.indexOf(this.needle) >= 0) return true;
      } else {
        const s = field.toString('utf8');
        if (this.re ? this.re.test(s) : s.toLowerCase().includes(this.lowerNeedle!)) return true;
      }
    }
    return false;
  }

  private fieldBuffers(store: MessageStore, seq: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.fields.key) {
      const k = store.key(seq);
      if (k) out.push(k);
    }
    if (this.fields.value) {
      const v = store.value(seq);
      if (v) out.push(v);
    }
    if (this.fields.headers) {
      for (const h of store.headers(seq)) {
        out.push(Buffer.from(h.key, 'utf8'));
        if (h.value) out.push(h.value);
      }
    }
    return out;
  }

  /** The live matching seqs in [from, to) (default: all), ascending. */
  scan(store: MessageStore, from = store.firstSeq, to = store.endSeq): number[] {
    const out: number[] = [];
    from = Math.max(from, store.firstSeq);
    to = Math.min(to, store.endSeq);
    if (!this.hasText || to - from <= 64) {
      // a few new messages (live tail): testing each is cheaper than decoding their chunk
      for (let s = from; s < to; s++) if (this.test(store, s)) out.push(s);
      return out;
    }
    // headers are length-prefixed inside the arena; a byte scan could match across prefixes, so
    // header-only searches take the exact per-message path.
    const chunkScanOk = !this.fields.headers || this.fields.key || this.fields.value;
    for (const whole of store.liveChunks()) {
      if (whole.lastSeq < from || whole.firstSeq >= to) continue;
      const lastSeq = Math.min(whole.lastSeq, to - 1);
      const c = { ...whole, firstSeq: Math.max(whole.firstSeq, from), lastSeq, used: lastSeq < whole.lastSeq ? store.pos(lastSeq + 1) : whole.used };
      if (this.needle && chunkScanOk) {
        this.scanBytes(store, c, out);
      } else if (this.lowerNeedle !== undefined && c.ascii && chunkScanOk) {
        this.scanLowerAscii(store, c, out);
      } else if (this.re && this.chunkRe && c.ascii) {
        this.scanRegexChunk(store, c, out);
      } else if (this.re && c.ascii) {
        this.scanRegexAscii(store, c, out);
      } else {
        for (let s = c.firstSeq; s <= c.lastSeq; s++) if (this.test(store, s)) out.push(s);
      }
    }
    return out;
  }

  /** Largest seq in [lo, hi] whose start position is <= bytePos. */
  private seqAt(store: MessageStore, lo: number, hi: number, bytePos: number): number {
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (store.pos(mid) <= bytePos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Is a hit [at, at+len) fully inside a searched field of `seq`? Header hits are re-checked exactly. */
  private hitInField(store: MessageStore, seq: number, at: number, len: number): boolean | 'recheck' {
    const l = store.layout(seq);
    const kEnd = l.pos + l.keyLen;
    const vEnd = kEnd + l.valueLen;
    const end = at + len;
    if (this.fields.key && at >= l.pos && end <= kEnd) return true;
    if (this.fields.value && at >= kEnd && end <= vEnd) return true;
    if (this.fields.headers && at >= vEnd && end <= vEnd + l.headersLen) return 'recheck';
    return false;
  }

  private collect(
    store: MessageStore,
    c: { firstSeq: number; lastSeq: number; used: number },
    out: number[],
    find: (from: number) => { at: number; len: number } | undefined,
  ): void {
    let from = store.pos(c.firstSeq);
    while (from < c.used) {
      const hit = find(from);
      if (!hit) break;
      const seq = this.seqAt(store, c.firstSeq, c.lastSeq, hit.at);
      const where = this.hitInField(store, seq, hit.at, hit.len);
      if (where === false) {
        from = hit.at + 1;
        continue;
      }
      // this message is decided now (a header hit is re-tested exactly); one hit per message is enough
      if (where === true ? this.passesMeta(store, seq) : this.test(store, seq)) out.push(seq);
      from = seq < c.lastSeq ? store.pos(seq + 1) : c.used;
    }
  }

  private scanBytes(store: MessageStore, c: { buf: Buffer; used: number; firstSeq: number; lastSeq: number }, out: number[]): void {
    const needle = this.needle!;
    const view = c.buf.subarray(0, c.used);
    this.collect(store, c, out, (from) => {
      const at = view.indexOf(needle, from);
      return at < 0 ? undefined : { at, len: needle.length };
    });
  }

  private scanLowerAscii(store: MessageStore, c: { buf: Buffer; used: number; firstSeq: number; lastSeq: number }, out: number[]): void {
    const text = c.buf.toString('latin1', 0, c.used);
    const re = this.chunkRe!;
    this.collect(store, c, out, (from) => {
      re.lastIndex = from;
      const m = re.exec(text);
      return m ? { at: m.index, len: m[0].length } : undefined;
    });
  }

  /**
   * ASCII chunk, context-free pattern: one global scan finds candidate messages, each is tested
   * exactly, and the scan resumes at the next message (a match that spans messages is not taken).
   */
  private scanRegexChunk(store: MessageStore, c: { buf: Buffer; used: number; firstSeq: number; lastSeq: number }, out: number[]): void {
    const text = c.buf.toString('latin1', 0, c.used);
    const re = this.chunkRe!;
    let from = store.pos(c.firstSeq);
    while (from < c.used) {
      re.lastIndex = from;
      const m = re.exec(text);
      if (!m) break;
      const seq = this.seqAt(store, c.firstSeq, c.lastSeq, m.index);
      if (this.test(store, seq)) out.push(seq);
      from = seq < c.lastSeq ? store.pos(seq + 1) : c.used;
    }
  }

  /** ASCII chunk: one string per chunk, fields tested as cheap substrings (no per-message decode). */
  private scanRegexAscii(store: MessageStore, c: { buf: Buffer; used: number; firstSeq: number; lastSeq: number }, out: number[]): void {
    const text = c.buf.toString("latin1", 0, c.used);
    const re = this.re!;
    for (let s = c.firstSeq; s <= c.lastSeq; s++) {
      if (!this.passesMeta(store, s)) continue;
      const l = store.layout(s);
      const kEnd = l.pos + l.keyLen;
      let hit =
        (this.fields.key && store.keyLength(s) >= 0 && re.test(text.substring(l.pos, kEnd))) ||
        (this.fields.value && store.valueLength(s) >= 0 && re.test(text.substring(kEnd, kEnd + l.valueLen)));
      if (!hit && this.fields.headers && l.headersLen > 0) {
        hit = store.headers(s).some((h) => re.test(h.key) || (h.value !== null && re.test(h.value.toString('utf8'))));
      }
      if (hit) out.push(s);
    }
  }
}

/** Compute match ranges in a piece of text, for highlighting (shared logic with the webview). */
export function matchRanges(text: string, filter: MessageFilter, max = 100): Array<[number, number]> {
  const q = filter.query ?? '';
  if (!q) return [];
  const out: Array<[number, number]> = [];
  if (filter.regex) {
    let re: RegExp;
    try {
      re = new RegExp(q, filter.caseSensitive ? 'g' : 'gi');
    } catch {
      return [];
    }
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) && out.length < max) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      out.push([m.index, m.index + m[0].length]);
    }
    return out;
  }
  const hay = filter.caseSensitive ? text : text.toLowerCase();
  const needle = filter.caseSensitive ? q : q.toLowerCase();
  let i = hay.indexOf(needle);
  while (i >= 0 && out.length < max) {
    out.push([i, i + needle.length]);
    i = hay.indexOf(needle, i + needle.length);
  }
  return out;
}
