import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterPolicyHint, parseKafkaRanges, parseSparkTags, sparkLinks, sparkLinksFromLogs, taskTimeline, untaggedName, untaggedSparkTasks } from '../../src/services/airflow/runTrace';
import { findDagDefinitions } from '../../src/services/airflow/dagFile';
import { sparkJobLine } from '../../src/services/spark/jobFile';
import { describeQuery, findStreamingQueries, parseOffsetsFile, queryLag, readCheckpoint, totalLag } from '../../src/services/spark/streaming';
import { planBrowse } from '../../src/services/kafka/offsets';
import { isFromOutputViewer } from '../../src/protocol/outputViewer';
import type { AirflowDagRun, AirflowTaskInstance } from '../../src/services/airflow/types';
import type { SparkApplication } from '../../src/services/spark/models';

const RUN = 'manual__2026-12-03T10:00:00+00:00';
const run: AirflowDagRun = { dagId: 'kafka_spark_pipeline', runId: RUN, state: 'success', startDate: '2026-12-03T10:00:00Z', endDate: '2026-12-03T10:01:00Z', conf: {} };
const ti = (taskId: string, start?: string, end?: string, over: Partial<AirflowTaskInstance> = {}): AirflowTaskInstance => ({
  dagId: run.dagId, runId: RUN, taskId, state: 'success', tryNumber: 1, mapIndex: -1, startDate: start, endDate: end, ...over,
});

describe('run trace: Spark tags, Kafka ranges, the timeline', () => {
  it('reads the run tags the cluster policy appends to a Spark application name', () => {
    assert.deepEqual(parseSparkTags(`kafka_spark_pipeline [dp:kafka_spark_pipeline/process_kafka_with_spark/${RUN}]`), { dagId: 'kafka_spark_pipeline', taskId: 'process_kafka_with_spark', runId: RUN });
    assert.equal(untaggedName(`kafka_spark_pipeline [dp:d/t/${RUN}]`), 'kafka_spark_pipeline');
    assert.equal(parseSparkTags('KafkaSparkPipeline'), undefined);
    assert.equal(parseSparkTags('x [dp:only-two/parts]'), undefined);
  });

  it('links the applications tagged with this run (not another run\u2019s, not untagged ones), newest first', () => {
    const app = (id: string, name: string, startTime: number): SparkApplication => ({ id, name, user: 'u', cores: 2, memoryPerExecutor: 1024, startTime, state: 'FINISHED', duration: 12_000 });
    const links = sparkLinks(
      [app('app-1', `job [dp:kafka_spark_pipeline/process_kafka_with_spark/${RUN}]`, 1), app('app-2', 'job [dp:kafka_spark_pipeline/process_kafka_with_spark/manual__other]', 2), app('app-3', 'untagged', 3), app('app-4', `job [dp:kafka_spark_pipeline/process_kafka_with_spark/${RUN}]`, 4)],
      'kafka_spark_pipeline',
      RUN,
    );
    assert.deepEqual(links.map((l) => [l.appId, l.taskId, l.name, l.duration]), [['app-4', 'process_kafka_with_spark', 'job', '12s'], ['app-1', 'process_kafka_with_spark', 'job', '12s']]);
  });

  it('names the finished Spark tasks no application is tagged for (a running one may not be registered yet), and the line a compose file of your own adds', () => {
    const links = sparkLinks([{ id: 'app-1', name: `job [dp:kafka_spark_pipeline/tagged/${RUN}]`, user: 'u', cores: 2, memoryPerExecutor: 1024, startTime: 1, state: 'FINISHED', duration: 1 }], 'kafka_spark_pipeline', RUN);
    const tasks = [
      ti('tagged', '2026-12-03T10:00:05Z', '2026-12-03T10:00:10Z', { operator: 'SparkSubmitOperator' }),
      ti('load_orders', '2026-12-03T10:00:05Z', '2026-12-03T10:00:10Z', { operator: 'SparkSubmitOperator' }),
      ti('load_orders', '2026-12-03T10:00:05Z', '2026-12-03T10:00:10Z', { operator: 'SparkSubmitOperator', tryNumber: 2, state: 'failed' }),
      ti('still_running', '2026-12-03T10:00:05Z', undefined, { operator: 'SparkSubmitOperator', state: 'running' }),
      ti('skipped', undefined, undefined, { operator: 'SparkSqlOperator', state: 'skipped' }),
      ti('python', '2026-12-03T10:00:05Z', '2026-12-03T10:00:10Z', { operator: 'PythonOperator' }),
    ];
    assert.deepEqual(untaggedSparkTasks(tasks, links), ['load_orders']);
    const hint = clusterPolicyHint('/ext/stack/plugins/airflow_local_settings.py', 'docker-compose.yaml');
    assert.ok(hint.includes('- "/ext/stack/plugins/airflow_local_settings.py:/opt/airflow/config/airflow_local_settings.py:ro"'), hint);
    assert.match(hint, /volumes of the Airflow services in docker-compose\.yaml/);
  });

  it('links a job that names itself (its tag replaced) by the application id its driver announced in the task\u2019s log; an id the master does not list is left out', () => {
    const app = (id: string, name: string, startTime: number): SparkApplication => ({ id, name, user: 'u', cores: 2, memoryPerExecutor: 512, startTime, state: 'FINISHED', duration: 9_000 });
    const apps = [app('app-20261206195302-0000', 'country_report', 1), app('app-20261206195302-0001', 'other', 2)];
    const log = [
      '[2026-12-06T19:53:01] {spark_submit.py:571} INFO - 26/12/06 19:53:02 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261206195302-0000',
      '[2026-12-06T19:53:09] {spark_submit.py:571} INFO - country GB United Kingdom: 1',
      'Connected to Spark cluster with app ID app-20261206190000-0042',
    ].join('\n');
    assert.deepEqual(sparkLinksFromLogs(apps, [{ taskId: 'count_by_country', text: log }, { taskId: 'quiet', text: 'no spark here' }]).map((l) => [l.taskId, l.appId, l.name, l.duration]), [['count_by_country', 'app-20261206195302-0000', 'country_report', '9s']]);
  });

  it('reads the datapipeline_kafka XCom: ranges per partition, attributed to the task named or the pushing one; malformed entries are left out', () => {
    const value = JSON.stringify([
      { topic: 'input-topic', role: 'write', start: { 0: 4, 1: 2, 2: 7 }, end: { 0: 6, 1: 4, 2: 8 } },
      { topic: 'input-topic', role: 'read', task: 'process_kafka_with_spark', start: { 0: 4 }, end: { 0: 6, 1: 4 } },
      { topic: 'x', role: 'delete', start: {}, end: {} },
      { topic: 'y', role: 'read', start: { 0: -1 }, end: { 0: 3 } },
    ]);
    const ranges = parseKafkaRanges(value, 'produce_sample_data');
    assert.equal(ranges.length, 2);
    assert.deepEqual(ranges[0], { topic: 'input-topic', role: 'write', taskId: 'produce_sample_data', partitions: [{ partition: 0, start: 4, end: 6 }, { partition: 1, start: 2, end: 4 }, { partition: 2, start: 7, end: 8 }], count: 5 });
    assert.equal(ranges[1].taskId, 'process_kafka_with_spark');
    assert.deepEqual(ranges[1].partitions, [{ partition: 0, start: 4, end: 6 }, { partition: 1, start: 0, end: 4 }], 'a partition without a start starts at 0');
    assert.deepEqual(parseKafkaRanges('not json', 't'), []);
  });

  it('lays the tries out on the run\u2019s span, by start; a retried task\u2019s tries each get a bar; one not started has none', () => {
    const t = taskTimeline(
      run,
      [
        ti('consume', '2026-12-03T10:00:50Z', '2026-12-03T10:00:55Z'),
        ti('produce', '2026-12-03T10:00:05Z', '2026-12-03T10:00:10Z'),
        ti('spark', '2026-12-03T10:00:12Z', '2026-12-03T10:00:20Z', { state: 'failed', tryNumber: 1 }),
        ti('spark', '2026-12-03T10:00:30Z', '2026-12-03T10:00:45Z', { tryNumber: 2 }),
        ti('later', undefined, undefined, { state: undefined, tryNumber: 0 }),
      ],
      ['produce', 'spark', 'consume', 'later'],
    );
    assert.equal(t.endMs - t.startMs, 60_000);
    assert.deepEqual(t.bars.map((b) => `${b.taskId}#${b.tryNumber} ${b.state ?? '-'} ${b.duration}`), ['produce#1 success 5s', 'spark#1 failed 8s', 'spark#2 success 15s', 'consume#1 success 5s', 'later#0 - ']);
    assert.equal(t.bars[0].startMs! - t.startMs, 5000);
  });
});

describe('CodeLens targets: DAG definitions and Spark jobs in Python files', () => {
  it('finds DAG(...), dag_id=, with DAG, and @dag functions, each at its line', () => {
    const text = ['from airflow import DAG', 'from airflow.decorators import dag', '', 'with DAG(', '    dag_id="with_kw",', ') as d:', '    pass', 'x = DAG("positional")', '', '@dag(schedule=None)', 'def decorated():', '    pass', '@dag(dag_id="explicit_id")', 'def other():', '    pass'].join('\n');
    assert.deepEqual(findDagDefinitions(text), [
      { dagId: 'with_kw', line: 3 },
      { dagId: 'positional', line: 7 },
      { dagId: 'decorated', line: 9 },
      { dagId: 'explicit_id', line: 12 },
    ]);
    assert.deepEqual(findDagDefinitions('x = DAG("no_airflow_import")'), [], 'not an Airflow file');
    assert.deepEqual(findDagDefinitions(fs.readFileSync(path.join(__dirname, '..', '..', 'stack', 'dags', 'kafka_spark_dag.py'), 'utf8')).map((d) => d.dagId), ['kafka_spark_pipeline']);
  });

  it('finds where a Spark job starts its session; DAG files and plain Python are not jobs', () => {
    assert.equal(sparkJobLine('import os\nfrom pyspark.sql import SparkSession\n\nspark = SparkSession.builder.getOrCreate()\n'), 3);
    assert.equal(sparkJobLine('import os\nprint(1)\n'), undefined);
    assert.equal(sparkJobLine('from airflow import DAG\n# uses pyspark in a task\n'), undefined);
    const scripts = path.join(__dirname, '..', '..', 'stack', 'scripts');
    assert.equal(sparkJobLine(fs.readFileSync(path.join(scripts, 'kafka_spark_streaming.py'), 'utf8')) !== undefined, true);
    assert.equal(sparkJobLine(fs.readFileSync(path.join(scripts, 'pipeline_common.py'), 'utf8')), undefined, 'a helper module is not a job');
  });
});

describe('streaming queries from their checkpoints', () => {
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-ckpt-'));
    const q = path.join(root, 'kafka_spark_streaming-input-output');
    for (const d of ['offsets', 'commits']) fs.mkdirSync(path.join(q, d), { recursive: true });
    fs.writeFileSync(path.join(q, 'metadata'), '{"id":"6b1e-query"}\n');
    const offsets = (o: object) => `v1\n{"batchWatermarkMs":0,"batchTimestampMs":1}\n${JSON.stringify(o)}\n`;
    fs.writeFileSync(path.join(q, 'offsets', '0'), offsets({ 'input-topic': { 0: 10, 1: 4, 2: 0 } }));
    fs.writeFileSync(path.join(q, 'offsets', '1'), offsets({ 'input-topic': { 0: 20, 1: 8, 2: 5 } }));
    fs.writeFileSync(path.join(q, 'commits', '0'), 'v1\n{"nextBatchWatermarkMs":0}\n');
    // batch 1 planned but not committed: reading resumes from batch 0's end
    fs.mkdirSync(path.join(root, 'not-a-checkpoint'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('parses an offsets file\u2019s Kafka source line', () => {
    assert.deepEqual([...parseOffsetsFile('v1\n{"batchWatermarkMs":0}\n{"t":{"0":3,"1":9}}\n').get('t')!.entries()], [[0, 3], [1, 9]]);
  });

  it('resumes from the latest committed batch; the lag is the topic end minus it, per partition', () => {
    const [q] = findStreamingQueries([root, path.join(root, 'missing')]);
    assert.equal(q.id, '6b1e-query');
    assert.equal(q.batchId, 0);
    const lags = queryLag(q, 'input-topic', [{ partition: 0, low: 0, high: 25 }, { partition: 1, low: 0, high: 4 }, { partition: 2, low: 0, high: 3 }, { partition: 3, low: 0, high: 2 }]);
    assert.deepEqual(lags.map((l) => [l.partition, l.offset, l.lag]), [[0, 10, 15], [1, 4, 0], [2, 0, 3], [3, 0, 2]]);
    assert.equal(totalLag(lags), 20);
    assert.deepEqual(queryLag(q, 'other-topic', [{ partition: 0, low: 0, high: 9 }]), []);
  });

  it('a progress record newer than the checkpoint gives the rates, the batch duration, the application, and the offsets reached', () => {
    const dir = path.join(root, 'kafka_spark_streaming-input-output');
    const rec = (batchId: number, end: object) =>
      JSON.stringify({ appId: 'app-20261203-0001', id: '6b1e-query', name: 'adults', timestamp: '2026-12-03T10:00:00.000Z', batchId, inputRowsPerSecond: 120.4, processedRowsPerSecond: 118.25, durationMs: { triggerExecution: 450 }, sources: [{ description: 'KafkaV2[Subscribe[input-topic]]', endOffset: end }] });
    fs.writeFileSync(path.join(dir, 'datapipeline-progress.jsonl'), `${rec(0, { 'input-topic': { 0: 10, 1: 4, 2: 0 } })}\n${rec(1, { 'input-topic': { 0: 20, 1: 8, 2: 5 } })}\n{"half a li`);
    const q = readCheckpoint(dir)!;
    assert.equal(q.appId, 'app-20261203-0001');
    assert.equal(q.name, 'adults');
    assert.equal(q.batchId, 1);
    assert.deepEqual([...q.offsets.get('input-topic')!.entries()], [['0', 20], ['1', 8], ['2', 5]].map(([p, o]) => [Number(p), o]));
    assert.equal(describeQuery(q), '120 rows/s in · 118 processed · batch 450 ms · batch #1');
    assert.equal(readCheckpoint(path.join(root, 'not-a-checkpoint')), undefined);
  });
});

describe('the message browser\u2019s offset range and the run view\u2019s messages', () => {
  const wm = [{ partition: 0, low: 0, high: 10 }, { partition: 1, low: 2, high: 8 }, { partition: 2, low: 0, high: 5 }];
  const none = { offsetsForTimestamp: async () => new Map(), groupOffsets: async () => new Map() };
  it('reads exactly [start, end) of the partitions the range names', async () => {
    const plans = await planBrowse({ start: { mode: 'range', start: { 0: 3, 1: 2 }, end: { 0: 6, 1: 2 } }, follow: false }, wm, none);
    assert.deepEqual(plans, [{ partition: 0, start: 3, end: 6 }, { partition: 1, start: 2, end: 2 }]);
  });
  it('says what is wrong with a range: past the end, deleted by retention, backwards, an unknown partition', async () => {
    await assert.rejects(planBrowse({ start: { mode: 'range', start: { 0: 3 }, end: { 0: 11 } }, follow: false }, wm, none), /ends at offset 10; the range asks up to 11/);
    await assert.rejects(planBrowse({ start: { mode: 'range', start: { 1: 0 }, end: { 1: 4 } }, follow: false }, wm, none), /offsets 0–1 of the range were deleted by retention/);
    await assert.rejects(planBrowse({ start: { mode: 'range', start: { 0: 5 }, end: { 0: 4 } }, follow: false }, wm, none), /the end must not come before the start/);
    await assert.rejects(planBrowse({ start: { mode: 'range', start: { 7: 0 }, end: { 7: 1 } }, follow: false }, wm, none), /Partition 7 does not exist/);
  });
  it('the run view\u2019s page may ask for a range by index and an application it was shown, nothing else', () => {
    assert.ok(isFromOutputViewer({ type: 'openRange', index: 1 }));
    assert.ok(isFromOutputViewer({ type: 'openSparkApp', appId: 'app-20261203101500-0003' }));
    assert.ok(isFromOutputViewer({ type: 'openSparkApp' }));
    assert.ok(!isFromOutputViewer({ type: 'openRange', index: -1 }));
    assert.ok(!isFromOutputViewer({ type: 'openSparkApp', appId: 'https://evil.example' }));
  });
});
