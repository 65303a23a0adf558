import { strict as assert } from 'node:assert';
import { until } from '../lib/until';
import * as http from 'node:http';
import { AirflowClient, MAX_LIST_ITEMS } from '../../src/services/airflow/client';
import {
  bestFileMatch, buildDagRows, dagContextValue, dagDescription, formatSeconds, importErrorLocation, parseTriggerConfig, runDescription,
  stateIcon, taskDescription,
} from '../../src/services/airflow/dagsModel';
import {
  describeProgress, failingTask, orderTasks, parseOutputRange, schedulerDown, summarizeTasks, toOutputRecord,
} from '../../src/services/airflow/streamingRun';
import { isFromOutputViewer } from '../../src/protocol/outputViewer';
import { dagNodeActive, dagNodeKey, dagNodeSignature, type DagNode } from '../../src/services/airflow/dagsModel';
import { TreeReconciler } from '../../src/services/util/reconcile';
import type { AirflowDag, AirflowDagRun, AirflowTaskInstance } from '../../src/services/airflow/types';

const dag = (id: string, over: Partial<AirflowDag> = {}): AirflowDag => ({ dagId: id, isPaused: false, fileloc: `/opt/airflow/dags/${id}.py`, tags: [], schedule: 'None', owners: [], ...over });
const run = (over: Partial<AirflowDagRun> = {}): AirflowDagRun => ({ dagId: 'kafka_spark_pipeline', runId: 'manual__1', state: 'running', conf: {}, ...over });
const ti = (taskId: string, state: string | undefined, over: Partial<AirflowTaskInstance> = {}): AirflowTaskInstance => ({
  dagId: 'kafka_spark_pipeline', runId: 'manual__1', taskId, state, tryNumber: state ? 1 : 0, mapIndex: -1, ...over,
});

describe('airflow DAGs view model', () => {
  it('sorts DAGs and attaches each one its newest run', () => {
    const rows = buildDagRows([dag('b'), dag('a')], new Map([['b', run({ dagId: 'b', state: 'failed' })]]));
    assert.deepEqual(rows.map((r) => r.dag.dagId), ['a', 'b']);
    assert.equal(rows[1]!.lastRun?.state, 'failed');
    assert.equal(rows[0]!.lastRun, undefined);
  });

  it('describes paused state, tags, schedule and last run; contextValue follows paused', () => {
    const row = { dag: dag('x', { isPaused: true, tags: ['spark', 'demo'] }), lastRun: run({ state: 'success' }) };
    assert.equal(dagDescription(row), 'paused · demo, spark · schedule: None · last: success');
    assert.equal(dagContextValue(row.dag), 'dag.paused');
    assert.equal(dagContextValue(dag('y')), 'dag.active');
  });

  it('animates running states and colours success/failure', () => {
    assert.equal(stateIcon('running').icon, 'sync~spin');
    assert.equal(stateIcon('success').color, 'testing.iconPassed');
    assert.equal(stateIcon('failed').color, 'testing.iconFailed');
    assert.equal(stateIcon(undefined).icon, 'circle-outline');
  });

  it('formats durations of runs and tasks, ticking while running', () => {
    assert.equal(formatSeconds(4.4), '4s');
    assert.equal(formatSeconds(65), '1m 05s');
    assert.equal(formatSeconds(3720), '1h 02m');
    const r = run({ state: 'success', logicalDate: '2026-11-25T19:20:01.123+00:00', startDate: '2026-11-25T19:20:02Z', endDate: '2026-11-25T19:21:07Z' });
    assert.equal(runDescription(r), 'success · 2026-11-25 19:20:01 · 1m 05s');
    const now = Date.parse('2026-11-25T19:20:12Z');
    assert.equal(taskDescription(ti('t', 'running', { startDate: '2026-11-25T19:20:02Z', tryNumber: 2 }), now), 'running · try 2 · 10s');
    assert.equal(taskDescription(ti('t', undefined)), 'no status');
  });

  it('checks trigger config JSON before anything is sent', () => {
    assert.deepEqual(parseTriggerConfig(''), { ok: true, conf: {} });
    assert.deepEqual(parseTriggerConfig(' {"n": 3} '), { ok: true, conf: { n: 3 } });
    const bad = parseTriggerConfig('{"n": 3');
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /Not valid JSON/);
    assert.equal(parseTriggerConfig('[1,2]').ok, false);
    assert.equal(parseTriggerConfig('"text"').ok, false);
  });

  it("maps the server's DAG path to the workspace file with the longest common tail", () => {
    const cands = ['/home/u/proj/stack/dags/etl/load.py', '/home/u/proj/other/load.py', '/home/u/proj/stack/dags/load.py'];
    assert.equal(bestFileMatch('/opt/airflow/dags/etl/load.py', cands), '/home/u/proj/stack/dags/etl/load.py');
    assert.equal(bestFileMatch('/opt/airflow/dags/load.py', cands), '/home/u/proj/stack/dags/load.py');
    assert.equal(bestFileMatch('/x/y.py', cands), undefined);
    assert.equal(bestFileMatch('/home/u/proj/other/load.py', cands), '/home/u/proj/other/load.py');
  });

  it('locates an import error on the broken line of the DAG file', () => {
    const trace = [
      'Traceback (most recent call last):',
      '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
      '  File "/opt/airflow/dags/broken_dag.py", line 7, in <module>',
      '    raise ValueError("boom")',
      'ValueError: boom',
    ].join('\n');
    const loc = importErrorLocation({ id: 1, filename: '/opt/airflow/dags/broken_dag.py', stackTrace: trace });
    assert.equal(loc.line, 6);
    assert.equal(loc.message, 'ValueError: boom');
    const syntax = '  File "/d/bad.py", line 3\n    def (\n        ^\nSyntaxError: invalid syntax\n';
    assert.deepEqual(importErrorLocation({ id: 2, filename: '/d/bad.py', stackTrace: syntax }), { file: '/d/bad.py', line: 2, message: 'SyntaxError: invalid syntax' });
  });
});

describe('airflow streaming run', () => {
  const tasks = [ti('consume_output_topic', undefined), ti('process_kafka_with_spark', 'running'), ti('create_kafka_topics', 'success'), ti('produce_sample_data', 'success')];

  it('orders tasks as in the DAG and names the running one', () => {
    assert.deepEqual(orderTasks(tasks).map((t) => t.taskId), ['create_kafka_topics', 'produce_sample_data', 'process_kafka_with_spark', 'consume_output_topic']);
    assert.equal(describeProgress(run(), tasks), 'Running process_kafka_with_spark (2 of 4 done)');
    assert.equal(describeProgress(run({ state: 'queued' }), []), 'Run queued, waiting for the scheduler');
  });

  it('names the first failed task of a failed run', () => {
    const failed = [ti('consume_output_topic', 'upstream_failed'), ti('process_kafka_with_spark', 'failed'), ti('create_kafka_topics', 'success')];
    assert.equal(failingTask(failed)?.taskId, 'process_kafka_with_spark');
    assert.equal(failingTask([ti('a', 'success')]), undefined);
  });

  it('treats an unhealthy scheduler as down, a missing answer as unknown', () => {
    assert.equal(schedulerDown({ scheduler: 'unhealthy' }), true);
    assert.equal(schedulerDown({ scheduler: 'healthy' }), false);
    assert.equal(schedulerDown(undefined), false);
  });

  it('validates the output offsets the DAG pushes', () => {
    const r = parseOutputRange({ topic: 'output-topic', start: { '0': 3, '1': 0 }, end: { '0': 5, '1': 1 } });
    assert.equal(r?.topic, 'output-topic');
    assert.equal(r?.start.get(0), 3);
    assert.equal(r?.end.get(1), 1);
    assert.equal(parseOutputRange({ topic: 'x', start: { a: 1 }, end: {} }), undefined);
    assert.equal(parseOutputRange({ topic: 'x', start: { '0': -1 }, end: {} }), undefined);
    assert.equal(parseOutputRange('{"topic":"x"}'), undefined);
  });

  it('parses JSON output records into fields and keeps other values as text', () => {
    const rec = toOutputRecord(1, '7', Buffer.from('Alice'), Buffer.from('{"name":"Alice","age":25}'));
    assert.deepEqual(rec.fields, { name: 'Alice', age: 25 });
    assert.equal(rec.key, 'Alice');
    assert.equal(toOutputRecord(0, '1', null, Buffer.from('plain')).fields, undefined);
  });

  it('summarises task durations', () => {
    const s = summarizeTasks([ti('produce_sample_data', 'success', { duration: 2.5 }), ti('create_kafka_topics', 'success', { duration: 1 })]);
    assert.deepEqual(s.map((x) => [x.taskId, x.durationSeconds]), [['create_kafka_topics', 1], ['produce_sample_data', 2.5]]);
  });

  it('accepts only well-formed messages from the output viewer webview', () => {
    assert.equal(isFromOutputViewer({ type: 'ready' }), true);
    assert.equal(isFromOutputViewer({ type: 'openTaskLog', taskId: 'a', tryNumber: 1 }), true);
    assert.equal(isFromOutputViewer({ type: 'openTaskLog', taskId: 'a' }), false);
    assert.equal(isFromOutputViewer({ type: 'page', reqId: 1, start: 0, count: 40 }), true);
    assert.equal(isFromOutputViewer({ type: 'page', reqId: 1, start: -1, count: 40 }), false);
    assert.equal(isFromOutputViewer({ type: 'page', reqId: 1, start: 0, count: 1e9 }), false);
    assert.equal(isFromOutputViewer({ type: 'page', reqId: '1', start: 0, count: 40 }), false);
    assert.equal(isFromOutputViewer({ type: 'eval' }), false);
    assert.equal(isFromOutputViewer(null), false);
  });
});

describe('DAGs view polling: only rows whose data changed are re-rendered', () => {
  const key = dagNodeKey;
  const t0 = Date.parse('2026-11-25T10:00:00Z');
  const dagNode = (id: string, lastState?: string): DagNode => ({ kind: 'dag', row: { dag: dag(id), lastRun: lastState ? run({ dagId: id, state: lastState }) : undefined } });

  const rows = (shown: DagNode[]) => {
    const r = new TreeReconciler<DagNode>({ key, signature: dagNodeSignature, hasChildren: (n) => n.kind === 'dag' });
    return { r, shown: r.adopt(undefined, shown, t0) };
  };

  it('an unchanged listing changes nothing; a changed last run changes only that DAG row', async () => {
    const { r, shown } = rows([dagNode('a', 'success'), dagNode('b', 'running')]);
    assert.deepEqual(await r.update(() => [dagNode('a', 'success'), dagNode('b', 'running')], t0), { full: false, changed: [] });
    const d = await r.update(() => [dagNode('a', 'success'), dagNode('b', 'success')], t0);
    assert.ok(!d.full);
    assert.deepEqual(d.changed.map(key), ['dag:b']);
    assert.equal(d.changed[0], shown[1], 'the row VS Code holds');
    assert.equal((shown[1] as { row: { lastRun?: { state: string } } }).row.lastRun?.state, 'success');
  });

  it('a DAG added, removed or reordered is a structural change (the tree is re-read)', async () => {
    for (const next of [[dagNode('a')], [dagNode('a'), dagNode('c')], [dagNode('b'), dagNode('a')]]) {
      const { r } = rows([dagNode('a'), dagNode('b')]);
      assert.deepEqual(await r.update(() => next, t0), { full: true }, next.map(key).join(','));
    }
  });

  it("a run row re-renders (and re-reads its tasks) only when the run changes, not as time passes; a task's duration ticks", () => {
    const running: DagNode = { kind: 'run', run: run({ state: 'running', startDate: '2026-11-25T09:59:00Z' }) };
    assert.equal(dagNodeSignature(running, t0), dagNodeSignature(running, t0 + 5000));
    assert.equal(runDescription((running as { run: ReturnType<typeof run> }).run, t0), 'running · started 09:59:00');
    assert.notEqual(dagNodeSignature(running, t0), dagNodeSignature({ kind: 'run', run: run({ state: 'success', startDate: '2026-11-25T09:59:00Z', endDate: '2026-11-25T09:59:30Z' }) }, t0));
    const ticking: DagNode = { kind: 'task', ti: ti('spark', 'running', { startDate: '2026-11-25T09:59:00Z' }) };
    assert.notEqual(dagNodeSignature(ticking, t0), dagNodeSignature(ticking, t0 + 5000));
    const done: DagNode = { kind: 'run', run: run({ state: 'success', startDate: '2026-11-25T09:59:00Z', endDate: '2026-11-25T09:59:30Z' }) };
    assert.equal(dagNodeSignature(done, t0), dagNodeSignature(done, t0 + 5000));
    const task: DagNode = { kind: 'task', ti: ti('produce', 'success', { tryNumber: 1 }) };
    assert.notEqual(dagNodeSignature(task, t0), dagNodeSignature({ kind: 'task', ti: ti('produce', 'success', { tryNumber: 2 }) }, t0), 'a cleared task (try 2) re-renders');
  });

  it('keys are unique per DAG, run and task instance; active means queued or running', () => {
    assert.equal(key({ kind: 'run', run: run({ runId: 'manual__x' }) }), 'run:kafka_spark_pipeline:manual__x');
    assert.equal(key({ kind: 'task', ti: ti('consume', 'queued', { mapIndex: 2 }) }), 'ti:kafka_spark_pipeline:manual__1:consume:2');
    assert.equal(dagNodeActive(dagNode('a', 'queued')), true);
    assert.equal(dagNodeActive(dagNode('a', 'success')), false);
    assert.equal(dagNodeActive({ kind: 'task', ti: ti('x', 'running') }), true);
    assert.equal(dagNodeActive({ kind: 'empty', text: 'No runs yet' }), false);
  });
});

describe('airflow client: a server that pages wrongly', () => {
  /** A fake Airflow 2 REST API on 127.0.0.1 listing `total` DAGs; `ignoreOffset` answers the first page whatever is asked. */
  const serve = async (total: number, ignoreOffset: boolean) => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      const u = new URL(req.url ?? '/', 'http://x');
      const offset = ignoreOffset ? 0 : Number(u.searchParams.get('offset') ?? 0);
      const limit = Number(u.searchParams.get('limit') ?? 100);
      const dags = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => ({ dag_id: `dag_${String(offset + i).padStart(6, '0')}`, fileloc: '/x.py', is_paused: false, tags: [] }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ dags, total_entries: total }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, requests: () => requests, close: () => new Promise((r) => server.close(r)) };
  };

  it('a server that ignores offset: one repeat stops the listing, and the warning says so (no endless loop)', async () => {
    const s = await serve(250, true);
    const warnings: string[] = [];
    try {
      const client = new AirflowClient({ baseUrl: s.url, username: 'admin', password: 'admin', apiVersion: 'v1', onWarning: (m) => warnings.push(m) });
      const dags = await client.listDags();
      assert.equal(dags.length, 100);
      assert.equal(s.requests(), 2);
      assert.match(warnings.join('\n'), /answered the same page for offset 100 as for the one before \(the server ignores offset\): 100 dags are shown/);
    } finally {
      await s.close();
    }
  });

  it('a listing stops at 10,000 and says so; an honest server of 250 is read whole with no warning', async () => {
    const big = await serve(20_000, false);
    const small = await serve(250, false);
    const warnings: string[] = [];
    try {
      const dags = await new AirflowClient({ baseUrl: big.url, username: 'admin', password: 'admin', apiVersion: 'v1', onWarning: (m) => warnings.push(m) }).listDags();
      assert.equal(dags.length, MAX_LIST_ITEMS);
      assert.match(warnings.join('\n'), /more than 10000 dags; the first 10000 are shown/);
      warnings.length = 0;
      const all = await new AirflowClient({ baseUrl: small.url, username: 'admin', password: 'admin', apiVersion: 'v1', onWarning: (m) => warnings.push(m) }).listDags();
      assert.equal(all.length, 250);
      assert.equal(new Set(all.map((d) => d.dagId)).size, 250);
      assert.deepEqual(warnings, []);
    } finally {
      await big.close();
      await small.close();
    }
  });
});

describe('airflow: following a task log', () => {
  const { TaskLogFollow } = require('../../src/services/airflow/logFollow') as typeof import('../../src/services/airflow/logFollow');
  const { AirflowError } = require('../../src/services/airflow/errors') as typeof import('../../src/services/airflow/errors');
  const unauthorized = () => new AirflowError('unauthorized', 'Airflow at http://127.0.0.1:8085 refused the password for admin (401).', 'http://127.0.0.1:8085', 'Enter Password in the DAGs view.', 401);

  it('a 401 while following stops the follow with one message: only the first read may ask, no poll does', async () => {
    const reads: boolean[] = [];
    let updates = 0;
    const f = new TaskLogFollow({
      read: async (token, interactive) => {
        reads.push(interactive);
        if (!token) return { text: 'line 1\n', continuationToken: 't1', endOfLog: false };
        throw unauthorized(); // the password changed on the server meanwhile
      },
      tryFinished: async () => false,
      onUpdate: () => updates++,
      pollMs: 10,
    });
    await f.start();
    await until('the follow to stop', () => !f.following, 2000);
    // fixed wait: six poll periods with no read is the check that it stopped (it has no clock)
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(reads, [true, false], 'one interactive read, one poll, then nothing');
    assert.equal(updates, 1);
    assert.match(f.content(), /^line 1\n\n\[DataPipeline\] Airflow at .* refused the password for admin \(401\)\..* The log stopped following; after Enter Password \(DAGs view\), open it again\./);
    f.dispose();
  });

  it('keeps following until the try ends, re-rendering only when text came; the text kept is bounded, newest last', async () => {
    let n = 0;
    let updates = 0;
    const f = new TaskLogFollow({
      read: async (token) => {
        n++;
        if (!token) return { text: 'x'.repeat(99) + '\n', continuationToken: 't', endOfLog: false };
        if (n < 6) return { text: n % 2 ? `line ${n}\n`.padStart(100, '.') : '', continuationToken: 't', endOfLog: false };
        return { text: 'done\n', continuationToken: 't', endOfLog: true };
      },
      tryFinished: async () => false,
      onUpdate: () => updates++,
      pollMs: 5,
      maxChars: 250,
    });
    await f.start();
    await until('the try to end', () => !f.following, 2000);
    const text = f.content();
    assert.match(text, /^\[DataPipeline\] \d+ earlier characters of this log are not shown/);
    assert.ok(text.endsWith('line 5\ndone\n'), text);
    assert.ok(text.length < 400);
    assert.equal(updates, 3, 'empty polls do not re-render (lines 3 and 5, then done)');
    f.dispose();
  });
});
