/**
 * Run one task now and Test DAG against a real stack's Airflow (both backends, both Airflows): a
 * task's output and its XComs, a failing task's traceback pointing at the DAG file on this machine
 * and the line that raised, a whole DAG in one process with XComs passed between its tasks, a task
 * stopped mid-run leaving no process behind.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AirflowClient } from '../../../src/services/airflow/client';
import { runTask, type TaskRunOutcome } from '../../../src/services/airflow/taskRun';
import type { StackBackend } from '../../../src/services/stack/types';
import { until } from '../../lib/until';

/** The file's lines: the line that raises is found by its text, not counted by hand. */
function taskRunDags(tag: string): string {
  return `from datetime import datetime
from airflow import DAG
from airflow.operators.python import PythonOperator


def produce():
    print("producing 3 records")
    return {"n": 3, "who": "datapipeline"}


def consume(ti):
    got = ti.xcom_pull(task_ids="produce")
    print(f"consumed {got['n']} records")
    ti.xcom_push(key="doubled", value=got["n"] * 2)
    return got["n"] * 2


def boom():
    raise ValueError("deliberately failing for DataPipeline's test")


def wait_forever():
    import pathlib
    import time

    beat = pathlib.Path(__file__).with_suffix(".beat")
    beat.write_text(repr(time.time()))
    print("waiting until stopped", flush=True)
    while True:
        beat.write_text(repr(time.time()))
        time.sleep(0.2)


with DAG(dag_id="dp_run_ok_${tag}", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="produce", python_callable=produce) >> PythonOperator(task_id="consume", python_callable=consume)

with DAG(dag_id="dp_run_boom_${tag}", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="boom", python_callable=boom)
    PythonOperator(task_id="wait_forever", python_callable=wait_forever)
`;
}

export interface TaskRunFigures {
  taskMs: number;
  failingMs: number;
  dagMs: number;
  /** from the start of a task to its stop taking effect (Ctrl+C once it printed) */
  stopMs: number;
}

export async function exerciseTaskRuns(backend: StackBackend, client: AirflowClient, dagsDir: string, tag: string): Promise<TaskRunFigures> {
  const file = path.join(dagsDir, `dp_task_runs_${tag}.py`);
  const text = taskRunDags(tag);
  fs.writeFileSync(file, text);
  const raiseLine = text.split('\n').findIndex((l) => l.includes('raise ValueError')) + 1;
  const timed = async (f: () => Promise<TaskRunOutcome>) => {
    const t0 = Date.now();
    const out = await f();
    return { out, ms: Date.now() - t0 };
  };
  try {
    await until('Airflow to list the two DAGs', async () => {
      const ids = (await client.listDags()).map((d) => d.dagId);
      return ids.includes(`dp_run_ok_${tag}`) && ids.includes(`dp_run_boom_${tag}`);
    }, { timeoutMs: 60_000, intervalMs: 250, ignoreErrors: true });

    // one task: its output and its XCom, streamed line by line
    const streamed: string[] = [];
    const one = await timed(() => runTask(backend, { kind: 'task', dagId: `dp_run_ok_${tag}`, taskId: 'produce' }, { onLine: (l) => streamed.push(l) }));
    assert.equal(one.out.exitCode, 0, one.out.output.slice(-3000));
    assert.ok(streamed.some((l) => l.includes('producing 3 records')), 'the task\u2019s print streams as it runs');
    assert.deepEqual(one.out.xcoms.map((x) => [x.task, x.key, x.value]), [['produce', 'return_value', { n: 3, who: 'datapipeline' }]], one.out.output.slice(-4000));

    // a failing task: a non-zero exit and the traceback at this machine's file and the line that raised
    const failing = await timed(() => runTask(backend, { kind: 'task', dagId: `dp_run_boom_${tag}`, taskId: 'boom' }));
    assert.notEqual(failing.out.exitCode, 0, failing.out.output.slice(-3000));
    // Python's traceback (Airflow 2), or Airflow 3's rich one (path:line): both are links in the terminal
    assert.ok(failing.out.output.includes(`File "${file}", line ${raiseLine}`) || failing.out.output.includes(`${file}:${raiseLine}`), `traceback names ${file}:${raiseLine}:\n${failing.out.output.slice(-3000)}`);
    assert.match(failing.out.output, /ValueError: deliberately failing for DataPipeline's test/);

    // Test DAG: both tasks in one process, the second reading the first's XCom
    const dag = await timed(() => runTask(backend, { kind: 'dag', dagId: `dp_run_ok_${tag}` }));
    assert.equal(dag.out.exitCode, 0, dag.out.output.slice(-3000));
    assert.match(dag.out.output, /consumed 3 records/);
    const pushed = dag.out.xcoms.map((x) => `${x.task}:${x.key}=${JSON.stringify(x.value)}`).sort();
    assert.deepEqual(pushed, ['consume:doubled=6', 'consume:return_value=6', 'produce:return_value={"n":3,"who":"datapipeline"}']);

    // stopped mid-task (Ctrl+C in its terminal): the run ends and the task's process is gone (its heartbeat stops)
    const beat = file.replace(/\.py$/, '.beat');
    const ac = new AbortController();
    const t0 = Date.now();
    const stopped = runTask(backend, { kind: 'task', dagId: `dp_run_boom_${tag}`, taskId: 'wait_forever' }, { signal: ac.signal, onLine: (l) => l.includes('waiting until stopped') && ac.abort() });
    const end = await stopped;
    const stopMs = Date.now() - t0;
    assert.ok(ac.signal.aborted, `the task printed its line before it ended: ${end.output.slice(-2000)}`);
    assert.notEqual(end.exitCode, 0);
    // nothing left beating: within 10 s of the stop (SIGTERM, then SIGKILL after 5 s) the heartbeat file stays the same for a second
    let last = fs.readFileSync(beat, 'utf8');
    await until('the task\u2019s process to be gone (its heartbeat still)', async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const now = fs.readFileSync(beat, 'utf8');
      const still = now === last;
      last = now;
      return still;
    }, { timeoutMs: 10_000, intervalMs: 0 });
    return { taskMs: one.ms, failingMs: failing.ms, dagMs: dag.ms, stopMs };
  } finally {
    fs.rmSync(file, { force: true });
    fs.rmSync(file.replace(/\.py$/, '.beat'), { force: true });
  }
}
