/**
 * The Airflow client and the streaming DAG against the real Airflow 2.8.1 of the shared native stack
 * (SQLite + SequentialExecutor, Spark standalone, Kafka): listing, pause/unpause, import errors from
 * a deliberately broken DAG file, trigger with config, runs, task instances, logs, and the headline
 * result: kafka_spark_pipeline run twice, each run's output is exactly Alice, Charlie and Eve.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { AirflowError } from '../../src/services/airflow/errors';
import { collectRunTrace } from '../../src/services/airflow/runTrace';
import { xcomAndLineageRanges } from './lib/lineageTrace';
import { readOutputRange } from '../../src/services/airflow/outputReader';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { followRun, STREAMING_DAG_ID, STREAMING_TASK_ORDER, triggerStreaming } from '../../src/services/airflow/streamingRun';
import { ensureNativeStack, NativeStack, stackDir } from './harness';
import { exerciseAirflowObjects } from './lib/airflowObjects';
import { getConnection } from '../../src/services/airflow/airflowObjects';
import { until } from '../lib/until';
import { exerciseSaveSeen } from './lib/saveSeen';
import { exerciseTaskRuns } from './lib/taskRuns';
import { exerciseDebugTask } from './lib/debugTask';
import { ADULTS, runOutputPeople } from '../lib/streamingOutput';

const RUN_TIMEOUT_MS = 12 * 60_000;

describe('Airflow 2.8.1 (native stack)', function () {
  this.timeout(30 * 60_000);
  let stack: NativeStack;
  let client: AirflowClient;

  before(async () => {
    stack = await ensureNativeStack(['kafka', 'spark', 'airflow']);
    client = new AirflowClient({ baseUrl: stack.endpoints.airflowUrl, username: 'admin', password: 'admin' });
  });

  it('speaks the 2.x API and lists the stack DAGs with tags and schedule', async () => {
    assert.equal(await client.apiVersion(), 'v1');
    const dags = await until('the stack DAGs to be parsed', async () => {
      const all = await client.listDags();
      return all.some((d) => d.dagId === STREAMING_DAG_ID) && all.some((d) => d.dagId === 'hello_spark_cluster') ? all : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2000 });
    const streaming = dags.find((d) => d.dagId === STREAMING_DAG_ID)!;
    assert.deepEqual([...streaming.tags].sort(), ['kafka', 'spark', 'streaming']);
    assert.equal(streaming.schedule, 'None');
    assert.equal(streaming.fileloc, path.join(stackDir, 'dags', 'kafka_spark_dag.py'));
    assert.deepEqual([...dags.find((d) => d.dagId === 'hello_spark_cluster')!.tags].sort(), ['demo', 'spark']);
  });

  it('pauses and unpauses a DAG', async () => {
    const before = (await client.getDag('hello_spark_cluster')).isPaused;
    assert.equal((await client.setPaused('hello_spark_cluster', !before)).isPaused, !before);
    assert.equal((await client.getDag('hello_spark_cluster')).isPaused, !before);
    assert.equal((await client.setPaused('hello_spark_cluster', before)).isPaused, before);
  });

  it('connections (from a URI; an edit keeps the password), variables and pools: created, listed with secrets masked, changed and deleted', async () => {
    await exerciseAirflowObjects(client, (args) => stack.backend.airflowCli(args), 'v2');
    // a SparkSubmitOperator that names no connection goes to the stack's master, as one naming spark_cluster
    const port = Number(new URL(stack.endpoints.sparkMasterUrl.replace(/^spark:/, 'http:')).port);
    for (const id of ['spark_cluster', 'spark_default']) {
      const c = await getConnection(client, id);
      assert.deepEqual([c.type, c.host, c.port], ['spark', 'spark://127.0.0.1', port], id);
    }
  });

  it('rejects wrong credentials and unknown DAGs with errors that say what to do', async () => {
    const wrong = new AirflowClient({ baseUrl: stack.endpoints.airflowUrl, username: 'admin', password: 'not-the-password' });
    await assert.rejects(wrong.listDags(), (e: unknown) => e instanceof AirflowError && e.kind === 'unauthorized' && /rejected the credentials/.test(e.message));
    await assert.rejects(client.triggerDagRun('no_such_dag_xyz'), (e: unknown) => e instanceof AirflowError && e.kind === 'notFound' && /does not exist/.test(e.message));
    const down = new AirflowClient({ baseUrl: 'http://127.0.0.1:29999', username: 'admin', password: 'admin' });
    await assert.rejects(down.listDags(), (e: unknown) => e instanceof AirflowError && e.kind === 'unreachable' && /Airflow unreachable at http:\/\/127.0.0.1:29999/.test(e.message));
  });

  it('reports a broken DAG file as an import error with its traceback', async () => {
    const file = path.join(stackDir, 'dags', `zz_datapipeline_test_broken_${process.pid}.py`);
    fs.writeFileSync(file, 'from airflow import DAG\n\nraise ValueError("deliberately broken for the DataPipeline test")\n');
    try {
      const err = await until('the import error to be reported', async () =>
        (await client.listImportErrors()).find((e) => e.filename === file),
      { timeoutMs: 180_000, intervalMs: 2000 });
      assert.match(err.stackTrace, /deliberately broken for the DataPipeline test/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('save → seen: a new DAG file, a task added, a syntax error and its fix each reach the REST API within 3 s', async () => {
    const figures = await exerciseSaveSeen(client, path.join(stackDir, 'dags'), `af2_${process.pid}`);
    console.log(`      save → seen (native, Airflow 2.8.1): ${JSON.stringify(figures)}`);
  });

  it('runs one task now (its output streamed, its XCom), a failing task (the traceback at the file and line) and Test DAG (XComs between tasks)', async () => {
    const figures = await exerciseTaskRuns(stack.backend, client, path.join(stackDir, 'dags'), `af2_${process.pid}`);
    console.log(`      run one task (native, Airflow 2.8.1): ${JSON.stringify(figures)}`);
  });

  it('Debug Task: a breakpoint in the DAG file stops (locals, call stack, a step), Continue lets the task succeed; ending the session stops the task', async () => {
    const figures = await exerciseDebugTask(stack.backend, client, path.join(stackDir, 'dags'), `af2_${process.pid}`);
    console.log(`      debug task (native, Airflow 2.8.1): ${JSON.stringify(figures)}`);
  });

  it('a program that is not Airflow on the port is named, not shown as an error page', async () => {
    // a plain web server (404 pages in HTML) where Airflow should be
    const server = spawn('python3', ['-m', 'http.server', '28086', '--bind', '127.0.0.1'], { stdio: 'ignore' });
    try {
      await until('the web server to answer', async () => (await fetch('http://127.0.0.1:28086/').then(() => true, () => undefined)), { timeoutMs: 20_000, intervalMs: 200 });
      const impostor = new AirflowClient({ baseUrl: 'http://127.0.0.1:28086', username: 'admin', password: 'admin' });
      await assert.rejects(impostor.listDags(), (e: Error) => {
        assert.match(e.message, new RegExp(`^http://127\\.0\\.0\\.1:28086 answers, but it is not Airflow \\(no REST API at /api/v2 or /api/v1; /api/v1/health: HTTP 404, text/html\\): port 28086 is held by pid ${server.pid} \\(python3\\)\\.`));
        assert.doesNotMatch(e.message, /<html|<!DOCTYPE/i);
        return true;
      });
    } finally {
      server.kill();
    }
  });

  const runStreaming = async (conf: Record<string, unknown>) => {
    const triggered = await triggerStreaming(client, STREAMING_DAG_ID, conf);
    assert.equal((await client.getDag(STREAMING_DAG_ID)).isPaused, false, 'triggerStreaming unpauses the DAG');
    const messages: string[] = [];
    const end = await followRun(client, STREAMING_DAG_ID, triggered.runId, { pollMs: 3000, stuckAfterMs: RUN_TIMEOUT_MS, onProgress: (p) => messages.push(p.message) });
    return { triggered, end, messages };
  };

  const assertAdultsOnly = async (runId: string) => {
    const { people, data } = await runOutputPeople(client, stack.endpoints.kafkaBootstrap, STREAMING_DAG_ID, runId);
    assert.deepEqual(people, ADULTS, `output of run ${runId}: ${people.map((p) => p.name).join(', ') || 'none'}${data.note ? ` (${data.note})` : ''}. ` +
      'Names repeated = the Spark job read input-topic from the earliest offset instead of this run\'s range (KAFKA_STARTING_OFFSETS / KAFKA_ENDING_OFFSETS).');
    assert.equal(data.topic, 'output-topic');
    assert.deepEqual(data.tasks.map((t) => [t.taskId, t.state]), STREAMING_TASK_ORDER.map((t) => [t, 'success']));
    return data;
  };

  let firstRunId = '';

  it('runs kafka_spark_pipeline: four tasks succeed, its output is exactly Alice, Charlie and Eve', async () => {
    const { triggered, end, messages } = await runStreaming({ source: 'datapipeline-integration' });
    firstRunId = triggered.runId;
    const failed = end.tasks.filter((t) => t.state !== 'success');
    if (end.run.state !== 'success') {
      const logs = await Promise.all(failed.filter((t) => t.tryNumber > 0).map((t) => client.getTaskLog(t, t.tryNumber).then((l) => `--- ${t.taskId}\n${l.text.slice(-3000)}`)));
      assert.fail(`run ${triggered.runId} ended ${end.run.state}; tasks: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n')}`);
    }
    assert.deepEqual(end.run.conf, { source: 'datapipeline-integration' }, 'the trigger config reaches the run');
    assert.ok(messages.some((m) => /Running (create_kafka_topics|produce_sample_data|process_kafka_with_spark|consume_output_topic)/.test(m)), `progress named a running task: ${messages.join(' | ')}`);
    const data = await assertAdultsOnly(triggered.runId);
    assert.ok(data.sparkAppId, 'the Spark task log names the Spark application');

    const runs = await client.listDagRuns(STREAMING_DAG_ID, { limit: 5 });
    assert.equal(runs[0]?.runId, triggered.runId, 'newest run first');
    const produceLog = await client.getTaskLog({ dagId: STREAMING_DAG_ID, runId: triggered.runId, taskId: 'produce_sample_data' }, 1);
    assert.match(produceLog.text, /Produced 5 records to input-topic/);
    assert.equal(produceLog.endOfLog, true);
    const consumeLog = await client.getTaskLog({ dagId: STREAMING_DAG_ID, runId: triggered.runId, taskId: 'consume_output_topic' }, 1);
    assert.match(consumeLog.text, /Total records in output-topic for run .*: 3/);
  });

  it('traces the run: four task tries in order on its timeline, the Spark application linked by the tags read back from the master, exactly 5 in and 3 out', async () => {
    assert.ok(firstRunId, 'the first run happened');
    const master = new SparkMasterClient(stack.endpoints.sparkUiUrl);
    const sparkApps = async () => {
      const st = await master.status();
      return [...st.activeApps, ...st.completedApps];
    };
    const { trace } = await collectRunTrace(client, STREAMING_DAG_ID, firstRunId, { sparkApps, order: STREAMING_TASK_ORDER });
    assert.deepEqual(trace.bars.map((b) => [b.taskId, b.tryNumber, b.state]), STREAMING_TASK_ORDER.map((t) => [t, 1, 'success']));
    for (const b of trace.bars) {
      assert.ok(b.startMs! >= trace.startMs && b.endMs! <= trace.endMs && b.endMs! >= b.startMs!, `${b.taskId} lies inside the run`);
      assert.match(b.duration, /^\d+s$|^\d+m \d\ds$/);
    }
    for (let i = 1; i < trace.bars.length; i++) assert.ok(trace.bars[i].startMs! >= trace.bars[i - 1].endMs! - 1000, 'each task starts after the one before ends');
    // the application was named " [dp:<dag>/<task>/<run>]" at submit time (the stack's cluster policy)
    assert.equal(trace.spark.length, 1, JSON.stringify(trace.spark));
    assert.equal(trace.spark[0].taskId, 'process_kafka_with_spark');
    assert.equal(trace.spark[0].state, 'FINISHED');
    const app = (await sparkApps()).find((a) => a.id === trace.spark[0].appId)!;
    assert.equal(app.name, `kafka_spark_pipeline [dp:${STREAMING_DAG_ID}/process_kafka_with_spark/${firstRunId}]`);
    assert.deepEqual(trace.notes, [], 'a tagged Spark task leaves nothing to explain');
    const range = (topic: string, role: string, task: string) => trace.kafka.find((r) => r.topic === topic && r.role === role && r.taskId === task);
    assert.equal(range('input-topic', 'write', 'produce_sample_data')?.count, 5);
    assert.equal(range('input-topic', 'read', 'process_kafka_with_spark')?.count, 5);
    assert.equal(range('output-topic', 'write', 'process_kafka_with_spark')?.count, 3);
    assert.equal(range('output-topic', 'read', 'consume_output_topic')?.count, 3);
    // the ranges are exact: the input range holds this run's 5 people, tagged with its run id
    const kafka = new KafkaService({ bootstrap: stack.endpoints.kafkaBootstrap });
    try {
      const inRange = range('input-topic', 'write', 'produce_sample_data')!;
      const read = await readOutputRange(
        { topic: 'input-topic', start: new Map(inRange.partitions.map((p) => [p.partition, p.start])), end: new Map(inRange.partitions.map((p) => [p.partition, p.end])) },
        { service: kafka },
      );
      const people = read.records().map((r) => r.fields ?? {});
      assert.deepEqual(people.map((f) => f.name).sort(), ['Alice', 'Bob', 'Charlie', 'Diana', 'Eve']);
      assert.ok(people.every((f) => f.run_id === firstRunId));
    } finally {
      await kafka.dispose();
    }
  });

  it('the same trace from OpenLineage alone (no XCom read) equals the trace from its XCom: 5 in, 3 out, the same offsets', async () => {
    assert.ok(firstRunId, 'the first run happened');
    const lineageUrl = (stack.endpoints as { lineageUrl?: string }).lineageUrl;
    assert.ok(lineageUrl, 'the stack runs a receiver');
    // create_kafka_topics reads and writes no records: 3 tasks with data
    const { xcom, lineage, trace } = await xcomAndLineageRanges(client, STREAMING_DAG_ID, firstRunId, lineageUrl, 3);
    assert.equal(xcom.length, 4, xcom.join('\n'));
    assert.deepEqual(lineage, xcom);
    assert.deepEqual(trace.kafka.map((k) => [k.taskId, k.role, k.topic, k.source]).sort(), [
      ['consume_output_topic', 'read', 'output-topic', 'measured'],
      ['process_kafka_with_spark', 'read', 'input-topic', 'upstream'],
      ['process_kafka_with_spark', 'write', 'output-topic', 'end offsets'],
      ['produce_sample_data', 'write', 'input-topic', 'measured'],
    ]);
  });

  it('runs it a second time: topics already there are fine and the output is again exactly those three', async () => {
    assert.ok(firstRunId, 'the first run happened');
    // Follow the Spark task's log while it runs, as View Task Log does: the whole log, then only what was appended.
    const followed: { chunks: number; text: string; ended: boolean } = { chunks: 0, text: '', ended: false };
    const follower = (async () => {
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      let ti;
      while (Date.now() < deadline) {
        const runs = await client.listDagRuns(STREAMING_DAG_ID, { limit: 1 });
        const current = runs[0] && runs[0].runId !== firstRunId ? runs[0] : undefined;
        ti = current && (await client.listTaskInstances(STREAMING_DAG_ID, current.runId)).find((t) => t.taskId === 'process_kafka_with_spark' && t.state === 'running');
        if (ti) break;
        await new Promise((r) => setTimeout(r, 1000)); // poll interval of a bounded wait for the task to run
      }
      if (!ti) return;
      let token: string | undefined;
      while (Date.now() < deadline) {
        const chunk = await client.getTaskLog(ti, ti.tryNumber, token);
        if (chunk.text) followed.chunks++;
        followed.text += chunk.text;
        token = chunk.continuationToken ?? token;
        if (chunk.endOfLog) {
          followed.ended = true;
          return;
        }
        await new Promise((r) => setTimeout(r, 2000)); // poll interval of a bounded wait
      }
    })();
    const { triggered, end } = await runStreaming({});
    await follower;
    assert.ok(followed.chunks >= 2, `the running task's log grew while followed (${followed.chunks} chunks)`);
    assert.ok(followed.ended, 'the followed log ends once the task finished');
    assert.match(followed.text, /Output records: \d+/, 'the followed log holds the end of the Spark job output');
    assert.notEqual(triggered.runId, firstRunId);
    assert.equal(end.run.state, 'success', `tasks: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}`);
    const createLog = await client.getTaskLog({ dagId: STREAMING_DAG_ID, runId: triggered.runId, taskId: 'create_kafka_topics' }, 1);
    assert.match(createLog.text, /Topic input-topic already exists/);
    await assertAdultsOnly(triggered.runId);
  });
});
