import * as assert from 'node:assert/strict';
import { LastRuns } from '../../src/services/airflow/lastRuns';
import type { AirflowDagRun } from '../../src/services/airflow/types';
import { ManualClock } from '../lib/manualClock';

const run = (runId: string, state: string): AirflowDagRun => ({ dagId: 'etl', runId, state, startDate: '2026-12-06T10:00:00Z', endDate: state === 'running' ? undefined : '2026-12-06T10:00:34Z' }) as AirflowDagRun;

describe('the DAG CodeLens\u2019s last runs', () => {
  it('reads a DAG\u2019s last run when its lens shows and keeps it 10 s', async () => {
    const clock = new ManualClock();
    let reads = 0;
    const lastRuns = new LastRuns({ read: async () => (reads++, run('r1', 'success')), onChange: () => undefined, clock });
    assert.equal((await lastRuns.get('etl'))?.runId, 'r1');
    await clock.advance(9_999);
    await lastRuns.get('etl');
    assert.equal(reads, 1, 'a lens redrawn within 10 s reads nothing');
    await clock.advance(1);
    await lastRuns.get('etl');
    assert.equal(reads, 2);
  });

  it('a view change redraws the lenses only when a shown DAG\u2019s last run changed; checks asked for during one run once more after it', async () => {
    let current = run('r1', 'running');
    let changes = 0;
    let reads = 0;
    let gate: (() => void) | undefined;
    const lastRuns = new LastRuns({
      read: async () => {
        reads++;
        if (gate) await new Promise<void>((r) => (gate = r));
        return current;
      },
      onChange: () => changes++,
      clock: new ManualClock(),
    });
    await lastRuns.get('etl');
    await lastRuns.check();
    assert.equal(changes, 0, 'the same run in the same state: no redraw');
    current = run('r1', 'success');
    await lastRuns.check();
    assert.equal(changes, 1);
    // a burst of view changes while a check reads: one more check after it, not one per change
    gate = () => undefined;
    const first = lastRuns.check();
    for (let i = 0; i < 5; i++) void lastRuns.check();
    const before = reads;
    const release = gate;
    gate = undefined;
    release();
    await first;
    assert.equal(reads - before, 1, 'one more read for the five checks asked for meanwhile');
    lastRuns.clear();
    await lastRuns.check();
    assert.equal(reads - before, 1, 'nothing to check after clear');
  });
});
