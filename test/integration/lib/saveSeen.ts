/**
 * Save → seen against a real stack's Airflow (both backends, both Airflows): a new DAG file, a task
 * added to it, a syntax error and its fix, each seen through the REST API within 3 s of the write,
 * the way the extension waits for it (awaitParse). Returns the figures for the caller's log.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AirflowClient } from '../../../src/services/airflow/client';
import { awaitParse, isDagFile, type ParseOutcome } from '../../../src/services/airflow/parseWatch';
import { until } from '../../lib/until';

export const SAVE_SEEN_LIMIT_MS = 3000;

function dagSource(dagId: string, tasks: string[]): string {
  return [
    'from datetime import datetime',
    'from airflow import DAG',
    'from airflow.operators.empty import EmptyOperator',
    '',
    `with DAG(dag_id=${JSON.stringify(dagId)}, start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["datapipeline-test"]):`,
    ...tasks.map((t) => `    ${t} = EmptyOperator(task_id=${JSON.stringify(t)})`),
    '',
  ].join('\n');
}

export interface SaveSeenFigures {
  newFileMs: number;
  changedTaskMs: number;
  syntaxErrorMs: number;
  fixedMs: number;
}

/**
 * Writes, changes, breaks and fixes one DAG file in `dagsDir` (the host folder the stack's Airflow
 * reads); each time, the REST API must show the change within SAVE_SEEN_LIMIT_MS of the write, and
 * awaitParse (what the extension waits on) must say what Airflow made of it. Removes the file after.
 */
export async function exerciseSaveSeen(client: AirflowClient, dagsDir: string, tag: string): Promise<SaveSeenFigures> {
  const dagId = `dp_save_seen_${tag}`;
  const rel = `${dagId}.py`;
  const file = path.join(dagsDir, rel);
  // Airflow 3 names the file relative to its bundle (the DAGs folder), Airflow 2 by its path
  const errorOf = async () => (await client.listImportErrors()).find((e) => isDagFile(e.filename, rel));
  const tasks = async () => (await client.listTasks(dagId)).sort().join(',');
  /** writes, then measures until the REST API shows it (checked every 100 ms); awaitParse watches the same save */
  const save = async (text: string, seen: () => Promise<boolean>, what: string): Promise<{ ms: number; outcome: ParseOutcome }> => {
    fs.writeFileSync(file, text);
    const savedAt = Date.now();
    const [outcome, ms] = await Promise.all([
      awaitParse(client, { relPath: rel, savedAt, timeoutMs: 20_000, intervalMs: 100 }),
      until(what, async () => ((await seen()) ? Date.now() - savedAt : undefined), { timeoutMs: 30_000, intervalMs: 100, ignoreErrors: true }),
    ]);
    return { ms, outcome };
  };
  try {
    const created = await save(dagSource(dagId, ['first']), async () => (await tasks()) === 'first', 'the new DAG and its task');
    assert.equal(created.outcome.kind, 'parsed', `new file: ${JSON.stringify(created.outcome)}`);
    assert.deepEqual(created.outcome.kind === 'parsed' && created.outcome.dags.map((d) => d.dagId), [dagId]);

    const changed = await save(dagSource(dagId, ['first', 'second']), async () => (await tasks()) === 'first,second', 'the added task');
    assert.equal(changed.outcome.kind, 'parsed', `changed file: ${JSON.stringify(changed.outcome)}`);

    const broken = await save(`${dagSource(dagId, ['first'])}\ndef broken(:\n    pass\n`, async () => /SyntaxError|invalid syntax/.test((await errorOf())?.stackTrace ?? ''), 'the syntax error');
    assert.equal(broken.outcome.kind, 'importError', `broken file: ${JSON.stringify(broken.outcome)}`);

    const fixed = await save(dagSource(dagId, ['first', 'third']), async () => !(await errorOf()) && (await tasks()) === 'first,third', 'the fix: no import error, the new task');
    assert.equal(fixed.outcome.kind, 'parsed', `fixed file: ${JSON.stringify(fixed.outcome)}`);

    const figures = { newFileMs: created.ms, changedTaskMs: changed.ms, syntaxErrorMs: broken.ms, fixedMs: fixed.ms };
    for (const [what, ms] of Object.entries(figures)) assert.ok(ms <= SAVE_SEEN_LIMIT_MS, `${what}: the REST API showed it ${ms} ms after the save (goal ≤ ${SAVE_SEEN_LIMIT_MS} ms); all: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    fs.rmSync(file, { force: true });
  }
}
