/**
 * A filtered, ordered window onto a MessageStore: the index the webview pages through.
 * With no filter it is the identity over live seqs (no per-message memory); with a filter it keeps
 * the matching seqs, updated incrementally as messages arrive and pruned as the ring evicts.
 *
 * With a SearchRunner, text filters run in the search worker (`applyFilter`): the user's pattern
 * never runs on this thread, a pattern that takes longer than the limit stops with a clear error,
 * and a newer filter cancels the one still running. New messages are tested there too, in order.
 */
import { CompiledFilter, type MessageFilter } from './messageSearch';
import type { MessageStore } from './messageStore';
import { SearchCancelledError, SearchTimeoutError, type SearchRunner } from './searchRunner';

/** How long one search may run in the worker before it is stopped. */
export const SEARCH_LIMIT_MS = 10_000;

export interface FilterOutcome {
  /** time the scan took */
  ms: number;
  count: number;
  /** the search was stopped (too slow): the view shows no rows until the filter changes */
  error?: string;
  /** a newer filter replaced this one before it finished */
  cancelled?: boolean;
}

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

  /** bumps on every new filter: answers for an older one are dropped */
  private generation = 0;
  /** a text filter is being scanned in the worker; the rows shown are still the previous filter's */
  searching = false;
  /** why the current filter shows nothing (it was stopped) */
  failure?: string;
  /** incremental tests of new messages, in arrival order */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MessageStore,
    private readonly runner?: SearchRunner,
    private readonly opts: { limitMs?: number; onChange?: () => void } = {},
  ) {}

  get filterSpec(): MessageFilter {
    return this.filter.spec;
  }

  /** Filters on this thread (no worker). Throws FilterError for an invalid regex. Returns the scan time in ms. */
  setFilter(spec: MessageFilter): number {
    this.generation++;
    this.runner?.cancel();
    const t0 = performance.now();
    this.use(new CompiledFilter(spec));
    this.matches = this.filter.isEmpty ? undefined : this.filter.scan(this.store);
    return performance.now() - t0;
  }

  /**
   * Filters in the search worker when there is text to search (on this thread otherwise).
   * Throws FilterError for an invalid pattern (compiling one is safe; running it is not).
   */
  async applyFilter(spec: MessageFilter): Promise<FilterOutcome> {
    const f = new CompiledFilter(spec);
    if (!this.runner || !f.hasText) {
      const ms = this.setFilter(spec);
      return { ms, count: this.count };
    }
    const gen = ++this.generation;
    this.runner.cancel();
    this.chain = Promise.resolve();
    this.searching = true;
    const limitMs = this.opts.limitMs ?? SEARCH_LIMIT_MS;
    const to = this.store.endSeq;
    try {
      const { seqs, ms } = await this.runner.scan(spec, this.store.firstSeq, to, limitMs);
      if (gen !== this.generation) return { ms, count: this.count, cancelled: true };
      this.use(f);
      this.matches = Array.from(seqs);
      // messages that arrived while the scan ran
      if (this.store.endSeq > to) this.testRange(to, this.store.endSeq);
      return { ms, count: this.count };
    } catch (e) {
      if (gen !== this.generation || e instanceof SearchCancelledError) return { ms: 0, count: this.count, cancelled: true };
      if (!(e instanceof SearchTimeoutError)) {
        this.searching = false;
        throw e;
      }
      this.use(f);
      this.matches = [];
      this.failure = e.message;
      return { ms: limitMs, count: 0, error: e.message };
    }
  }

  private use(f: CompiledFilter): void {
    this.filter = f;
    this.matchHead = 0;
    this.searching = false;
    this.failure = undefined;
    this.version++;
  }

  /** Call after appending seqs [first, end). */
  onAppendRange(first: number, end: number): void {
    this.version++;
    // while a scan runs, what arrives is tested once it is done; a stopped filter tests nothing
    if (!this.matches || this.searching || this.failure) return;
    if (this.runner && this.filter.hasText) this.testRange(first, end);
    else for (let s = first; s < end; s++) if (this.filter.test(this.store, s)) this.matches.push(s);
  }

  /** Tests new messages in the worker; their matches join the view in arrival order. */
  private testRange(first: number, end: number): void {
    const gen = this.generation;
    const spec = this.filter.spec;
    const limitMs = this.opts.limitMs ?? SEARCH_LIMIT_MS;
    this.chain = this.chain
      .then(async () => {
        if (gen !== this.generation) return;
        const { seqs } = await this.runner!.scan(spec, first, end, limitMs);
        if (gen !== this.generation || !this.matches) return;
        for (const s of seqs) this.matches.push(s);
        this.version++;
        this.opts.onChange?.();
      })
      .catch((e) => {
        if (gen !== this.generation || !(e instanceof SearchTimeoutError)) return;
        this.matches = [];
        this.failure = e.message;
        this.version++;
        this.opts.onChange?.();
      });
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
