/**
 * The host side of the search worker (searchWorker.ts): sends a filter and a snapshot of the
 * buffer, gets the matching seqs back. Every request has a time limit; when one is exceeded
 * (a regular expression that backtracks catastrophically) the worker is terminated, the request
 * fails with SearchTimeoutError, and the next request starts a fresh worker. `cancel()` does the
 * same for a search the user replaced. Requests are answered in the order they were sent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FilterError, type MessageFilter } from './messageSearch';
import type { MessageStore } from './messageStore';
import type { FromSearchWorker, ToSearchWorker } from './searchWorker';

export class SearchTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(
      `The search was stopped after ${Math.round(limitMs / 1000)} s: the pattern takes too long on these messages (a regular expression with nested repetition such as (a+)+ backtracks exponentially). Simplify the pattern, or search for plain text.`,
    );
    this.name = 'SearchTimeoutError';
  }
}

export class SearchCancelledError extends Error {
  constructor() {
    super('The search was replaced by a newer one.');
    this.name = 'SearchCancelledError';
  }
}

interface Pending {
  resolve(m: FromSearchWorker): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Where the worker script is: beside the bundle (dist/searchWorker.js), or the TypeScript source under tsx. */
function workerFor(): Worker {
  const bundled = path.join(__dirname, 'searchWorker.js');
  if (fs.existsSync(bundled)) return new Worker(bundled);
  const source = path.join(__dirname, 'searchWorker.ts');
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { eval: true });
}

/** below this many messages a scan is not split across workers (a worker's share would be too small) */
const MIN_SHARE = 100_000;

export interface SearchRunnerOptions {
  /**
   * Workers a large scan is split across (default 1). The message browser uses one per core, at
   * most 4: on 2 cores a search of 1,000,000 messages took half as long.
   */
  workers?: number;
}

export class SearchRunner {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;
  /** the other workers of a split scan (each a SearchRunner of one worker) */
  private readonly helpers: SearchRunner[];

  constructor(
    private readonly store: MessageStore,
    opts: SearchRunnerOptions = {},
  ) {
    this.helpers = Array.from({ length: Math.max(0, (opts.workers ?? 1) - 1) }, () => new SearchRunner(store));
  }

  /** Starts the worker(s) now, so the first search does not wait for them. */
  warm(): void {
    if (this.disposed) return;
    this.ensureWorker();
    for (const h of this.helpers) h.warm();
  }

  /**
   * Matching seqs in [from, to), ascending. A large range is split in equal parts across the
   * workers; the parts are joined in order. Rejects with FilterError, SearchTimeoutError or
   * SearchCancelledError (when one part fails, the others are stopped).
   */
  async scan(spec: MessageFilter, from: number, to: number, limitMs: number): Promise<{ seqs: Float64Array; ms: number }> {
    const parts = Math.min(1 + this.helpers.length, Math.floor((to - from) / MIN_SHARE));
    if (parts <= 1) return this.scanOne(spec, from, to, limitMs);
    const snap = this.store.snapshot();
    const step = Math.ceil((to - from) / parts);
    const runners = [this as SearchRunner, ...this.helpers].slice(0, parts);
    try {
      const results = await Promise.all(runners.map((r, i) => r.scanOne(spec, from + i * step, Math.min(to, from + (i + 1) * step), limitMs, snap)));
      const seqs = new Float64Array(results.reduce((n, r) => n + r.seqs.length, 0));
      let at = 0;
      for (const r of results) {
        seqs.set(r.seqs, at);
        at += r.seqs.length;
      }
      return { seqs, ms: Math.max(...results.map((r) => r.ms)) };
    } catch (e) {
      for (const r of runners) r.cancelOwn();
      throw e;
    }
  }

  private async scanOne(spec: MessageFilter, from: number, to: number, limitMs: number, snap = this.store.snapshot()): Promise<{ seqs: Float64Array; ms: number }> {
    const r = await this.request((id) => ({ type: 'scan', id, spec, snap, from, to }), limitMs);
    if (r.type !== 'scan') throw new Error('search worker: unexpected answer');
    return { seqs: r.seqs, ms: r.ms };
  }

  /** Highlight ranges of each text (at most `max` per text). */
  async ranges(spec: MessageFilter, texts: string[], max: number, limitMs: number): Promise<Array<Array<[number, number]>>> {
    const r = await this.request((id) => ({ type: 'ranges', id, spec, texts, max }), limitMs);
    if (r.type !== 'ranges') throw new Error('search worker: unexpected answer');
    return r.ranges;
  }

  /** Stops whatever is running; pending requests reject with SearchCancelledError. */
  cancel(): void {
    this.cancelOwn();
    for (const h of this.helpers) h.cancelOwn();
  }

  private cancelOwn(): void {
    if (this.pending.size) this.stopWorker(new SearchCancelledError());
  }

  get busy(): boolean {
    return this.pending.size > 0 || this.helpers.some((h) => h.busy);
  }

  dispose(): void {
    this.disposed = true;
    this.stopWorker(new SearchCancelledError());
    for (const h of this.helpers) h.dispose();
  }

  private request(make: (id: number) => ToSearchWorker, limitMs: number): Promise<FromSearchWorker> {
    if (this.disposed) return Promise.reject(new SearchCancelledError());
    const w = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<FromSearchWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        const mine = this.pending.get(id);
        this.pending.delete(id);
        this.stopWorker(new SearchCancelledError());
        mine?.reject(new SearchTimeoutError(limitMs));
      }, limitMs);
      this.pending.set(id, { resolve, reject, timer });
      w.postMessage(make(id));
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = workerFor();
    w.unref();
    w.on('message', (m: FromSearchWorker) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.type === 'error') p.reject(m.filterError ? new FilterError(m.message) : new Error(`Search failed: ${m.message}`));
      else p.resolve(m);
    });
    const fail = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(e);
      }
      this.pending.clear();
    };
    w.on('error', (e) => fail(new Error(`Search failed: ${e.message}`)));
    w.on('exit', (code) => fail(new Error(`The search worker ended (code ${code}).`)));
    w.postMessage({ type: 'columns', shared: this.store.sharedColumns() } satisfies ToSearchWorker);
    this.worker = w;
    return w;
  }

  private stopWorker(reason: Error): void {
    const w = this.worker;
    this.worker = undefined;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.pending.clear();
    void w?.terminate();
  }
}
