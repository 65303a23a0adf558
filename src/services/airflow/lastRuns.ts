/**
 * The last run of each DAG a CodeLens shows ("last run: success in 34s"): read when a lens shows and
 * kept 10 s; re-read for every DAG shown when the DAGs view changes, saying when one of them changed
 * (a redraw under the pointer loses the click, so lenses redraw only then). Checks coalesce: one asked
 * for while one runs makes one more after it. No `vscode` import (unit-tested with a ManualClock).
 */
import type { AirflowDagRun } from './types';
import { systemClock, type Clock } from '../util/clock';

export interface LastRunsOptions {
  /** the DAG's newest run, or undefined (no run, or Airflow not answering: never a password prompt) */
  read(dagId: string): Promise<AirflowDagRun | undefined>;
  /** a shown DAG's last run changed */
  onChange(): void;
  clock?: Clock;
  /** how long a read is kept (default 10 s) */
  maxAgeMs?: number;
}

const runKey = (r?: AirflowDagRun) => (r ? `${r.runId} ${r.state} ${r.endDate ?? ''}` : '');

export class LastRuns {
  private readonly cache = new Map<string, { at: number; run?: AirflowDagRun }>();
  private readonly clock: Clock;
  private checking?: Promise<void>;
  private again = false;

  constructor(private readonly o: LastRunsOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** The DAG's last run, read again when the one kept is older than maxAgeMs. */
  async get(dagId: string): Promise<AirflowDagRun | undefined> {
    const hit = this.cache.get(dagId);
    if (hit && this.clock.now() - hit.at < (this.o.maxAgeMs ?? 10_000)) return hit.run;
    const run = await this.o.read(dagId);
    this.cache.set(dagId, { at: this.clock.now(), run });
    return run;
  }

  /** Re-reads every DAG shown; `onChange` once when any last run differs. Resolves when done. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        let changed = false;
        for (const [dagId, hit] of [...this.cache]) {
          const run = await this.o.read(dagId);
          if (runKey(run) !== runKey(hit.run)) changed = true;
          this.cache.set(dagId, { at: this.clock.now(), run });
        }
        if (changed) this.o.onChange();
      } while (this.again);
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Forgets every run (another connection). */
  clear(): void {
    this.cache.clear();
  }
}
