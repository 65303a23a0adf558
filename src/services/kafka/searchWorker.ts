/**
 * The search worker: runs the user's filter (substring or regular expression) over the message
 * browser's buffer in a worker thread, reading the store's shared memory through a replica.
 * A pattern that backtracks for seconds only ever blocks this thread; the host terminates it
 * (searchRunner.ts) and the extension host stays responsive.
 */
import { parentPort } from 'node:worker_threads';
import { CompiledFilter, FilterError, matchRanges, type MessageFilter } from './messageSearch';
import { MessageStore, type SharedStoreColumns, type StoreSnapshot } from './messageStore';

export type ToSearchWorker =
  | { type: 'columns'; shared: SharedStoreColumns }
  | { type: 'scan'; id: number; spec: MessageFilter; snap: StoreSnapshot; from: number; to: number }
  | { type: 'ranges'; id: number; spec: MessageFilter; texts: string[]; max: number };

export type FromSearchWorker =
  | { type: 'scan'; id: number; seqs: Float64Array; ms: number }
  | { type: 'ranges'; id: number; ranges: Array<Array<[number, number]>> }
  | { type: 'error'; id: number; message: string; filterError: boolean };

let replica: MessageStore | undefined;
let compiled: { key: string; filter: CompiledFilter } | undefined;

function filterFor(spec: MessageFilter): CompiledFilter {
  const key = JSON.stringify(spec);
  if (compiled?.key !== key) compiled = { key, filter: new CompiledFilter(spec) };
  return compiled.filter;
}

function handle(m: ToSearchWorker): FromSearchWorker | undefined {
  switch (m.type) {
    case 'columns':
      replica = MessageStore.replica(m.shared);
      return undefined;
    case 'scan': {
      if (!replica) throw new Error('search worker: no store');
      const t0 = performance.now();
      replica.sync(m.snap);
      const seqs = Float64Array.from(filterFor(m.spec).scan(replica, m.from, m.to));
      return { type: 'scan', id: m.id, seqs, ms: performance.now() - t0 };
    }
    case 'ranges':
      return { type: 'ranges', id: m.id, ranges: m.texts.map((t) => matchRanges(t, m.spec, m.max)) };
  }
}

parentPort?.on('message', (m: ToSearchWorker) => {
  try {
    const out = handle(m);
    if (!out) return;
    parentPort!.postMessage(out, out.type === 'scan' ? [out.seqs.buffer as ArrayBuffer] : []);
  } catch (e) {
    if ('id' in m) parentPort!.postMessage({ type: 'error', id: m.id, message: (e as Error).message, filterError: e instanceof FilterError } satisfies FromSearchWorker);
  }
});
