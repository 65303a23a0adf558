/**
 * A filtered, ordered window onto a MessageStore: the index the webview pages through.
 * With no filter it is the identity over live seqs (no per-message memory); with a filter it keeps
 * the matching seqs, updated incrementally as messages arrive and pruned as the ring evicts.
 */
import { CompiledFilter, type MessageFilter } from './messageSearch';
import type { MessageStore } from './messageStore';

export interface Histogram {
  from: number;
  to: number;
  /** width of one bin in ms */
  binMs: number;
  counts: number[];
}

export class MessageView {
  private filter: CompiledFilter = new CompiledFilter({});
  /** matching seqs ascending; undefined = every live message */
  private matches?: number[];
  /** index of the first match that may still be live */
  private matchHead = 0;
  newestFirst = false;
  /** bumps whenever the set of rows changes in a way a visible page must re-fetch */
  version = 0;

  constructor(private readonly store: MessageStore) {}

  get filterSpec(): MessageFilter {
    return this.filter.spec;
  }

  /** Throws FilterError for an invalid regex. Returns the scan time in ms. */
  setFilter(spec: MessageFilter): number {
    const t0 = performance.now();
    const f = new CompiledFilter(spec);
    this.filter = f;
    this.matches = f.isEmpty ? undefined : f.scan(this.store);
    this.matchHead = 0;
    this.version++;
    return performance.now() - t0;
  }

  /** Call after each store.append. */
  onAppend(seq: number): void {
    if (this.matches && this.filter.test(this.store, seq)) this.matches.push(seq);
    this.version++;
  }

  /** Call after appending seqs [first, end). */
  onAppendRange(first: number, end: number): void {
    if (this.matches) for (let s = first; s < end; s++) if (this.filter.test(this.store, s)) this.matches.push(s);
    this.version++;
  }

  /** Call after store.clear(). */
  onClear(): void {
    if (this.matches) this.matches = [];
    this.matchHead = 0;
    this.version++;
  }

  private prune(): void {
    const m = this.matches;
    if (!m) return;
    const first = this.store.firstSeq;
    while (this.matchHead < m.length && m[this.matchHead] < first) this.matchHead++;
    if (this.matchHead > 4096 && this.matchHead > m.length / 2) {
      this.matches = m.slice(this.matchHead);
      this.matchHead = 0;
    }
  }

  get count(): number {
    if (!this.matches) return this.store.size;
    this.prune();
    return this.matches.length - this.matchHead;
  }

  /** The seq shown at row `i` (0 = first row in the current order). */
  seqAt(i: number): number {
    const n = this.count;
    const j = this.newestFirst ? n - 1 - i : i;
    return this.matches ? this.matches[this.matchHead + j] : this.store.firstSeq + j;
  }

  page(start: number, count: number): number[] {
    const n = this.count;
    const out: number[] = [];
    for (let i = Math.max(0, start); i < Math.min(n, start + count); i++) out.push(this.seqAt(i));
    return out;
  }

  /** Every seq in the view, oldest first (for export). */
  *seqs(): Generator<number> {
    const n = this.count;
    for (let j = 0; j < n; j++) yield this.matches ? this.matches[this.matchHead + j] : this.store.firstSeq + j;
  }

  /** Index of the row holding `seq` in the current order, or -1. */
  indexOf(seq: number): number {
    const n = this.count;
    let j: number;
    if (!this.matches) j = seq - this.store.firstSeq;
    else {
      let lo = this.matchHead;
      let hi = this.matches.length - 1;
      j = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (this.matches[mid] === seq) {
          j = mid - this.matchHead;
          break;
        }
        if (this.matches[mid] < seq) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    if (j < 0 || j >= n) return -1;
    return this.newestFirst ? n - 1 - j : j;
  }

  histogram(bins = 80): Histogram | undefined {
    const n = this.count;
    if (n === 0) return undefined;
    // plain loops (no generator): this runs over up to a million rows while messages stream in
    const m = this.matches;
    const first = this.store.firstSeq;
    const base = m ? this.matchHead : 0;
    const seqAt = (j: number) => (m ? m[base + j] : first + j);
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const t = this.store.timestamp(seqAt(j));
      if (t < min) min = t;
      if (t > max) max = t;
    }
    const span = Math.max(1, max - min + 1);
    const binMs = Math.ceil(span / bins);
    const counts = new Array<number>(bins).fill(0);
    for (let j = 0; j < n; j++) counts[Math.min(bins - 1, Math.floor((this.store.timestamp(seqAt(j)) - min) / binMs))]++;
    return { from: min, to: min + binMs * bins - 1, binMs, counts };
  }
}
