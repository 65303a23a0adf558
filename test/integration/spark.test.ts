/**
 * Submit Spark Job end to end on the real native stack (Spark 3.5.0 standalone + Kafka, default
 * ports, shared through the harness): the stack's jobs, a failing job, a file name full of shell
 * metacharacters, cancellation, and the Spark Applications view model reading the real master.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { failDecompressionForTests } from '../../src/services/kafka/codecs';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import type { DriverLine } from '../../src/services/spark/driverOutput';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { SparkJob, SparkJobResult, SubmitRefusedError } from '../../src/services/spark/sparkJob';
import { SparkViewModel } from '../../src/services/spark/sparkViewModel';
import type { SparkSubmitRequest } from '../../src/services/stack/types';
import { ensureNativeStack, NativeStack, repoRoot } from './harness';
import { browser } from './lib/kafkaBrowser';
import { startJob } from './lib/sparkJobs';
import { until } from '../lib/until';

const SCRIPTS = path.join(repoRoot, 'stack', 'scripts');

const PEOPLE = [
  { name: 'Alice', age: 25, city: 'NYC' },
  { name: 'Bob', age: 17, city: 'LA' },
  { name: 'Charlie', age: 30, city: 'Chicago' },
  { name: 'Diana', age: 16, city: 'Boston' },
  { name: 'Eve', age: 22, city: 'Seattle' },
];

/** pids whose command line mentions `needle` (the driver JVM and its Python process carry the script path). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** What the tests create on the shared broker, removed when the suite ends. */
const createdTopics = new Set<string>();
const createdGroups = new Set<string>();

async function createTopics(kafka: Kafka, topics: string[]): Promise<void> {
  for (const t of topics) createdTopics.add(t);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3 })) });
  } finally {
    await admin.disconnect();
  }
}

async function produce(kafka: Kafka, topic: string, people: Array<{ name: string; age: number; city: string }>): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: people.map((p) => ({ key: p.name, value: JSON.stringify(p) })) });
  } finally {
    await producer.disconnect();
  }
}

type Adult = { name: string; age: number; city: string; message: string | null };

/**
 * Everything in `topic` (the job has finished writing): read until each partition's end offset, so
 * extras beyond the `expected` records are in the result, with no moment waited for stragglers.
 */
async function consumeAll(kafka: Kafka, topic: string, expected: number): Promise<Adult[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  await admin.disconnect();
  const groupId = `spark-it-check-${topic}-${Date.now()}`;
  createdGroups.add(groupId);
  const consumer = kafka.consumer({ groupId });
  const received: Adult[] = [];
  const next = new Map([...ends.keys()].map((p) => [p, 0]));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push(JSON.parse(message.value!.toString()) as Adult);
        next.set(partition, Number(message.offset) + 1);
      },
    });
    await until(`${topic} read to its end offsets (${expected} records expected)`, () => [...ends].every(([p, end]) => (next.get(p) ?? 0) >= end), 30_000);
  } finally {
    await consumer.disconnect();
  }
  return received.sort((a, b) => a.name.localeCompare(b.name));
}

describe('spark: Submit Spark Job on the native Spark 3.5.0 standalone + Kafka', function () {
  this.timeout(240_000);
  let stack: NativeStack;
  let client: SparkMasterClient;
  let model: SparkViewModel;
  let tmp: string;

  before(async function () {
    this.timeout(900_000);
    stack = await ensureNativeStack(['kafka', 'spark']);
    client = new SparkMasterClient(stack.endpoints.sparkUiUrl);
    model = new SparkViewModel(() => client, { fastIntervalMs: 250 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp spark it '));
  });

  after(async () => {
    model?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (!stack || (createdTopics.size === 0 && createdGroups.size === 0)) return;
    const admin = new Kafka({ clientId: 'spark-it-cleanup', brokers: [stack.endpoints.kafkaBootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.deleteGroups([...createdGroups]).catch(() => undefined);
      await admin.deleteTopics({ topics: [...createdTopics] }).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  });

  async function submit(req: SparkSubmitRequest, onLine?: (l: DriverLine, job: SparkJob) => void): Promise<{ result: SparkJobResult; lines: DriverLine[]; job: SparkJob }> {
    const job = new SparkJob(stack.backend, client, req);
    const lines: DriverLine[] = [];
    const result = await job.run({
      onLine: (l) => {
        lines.push(l);
        onLine?.(l, job);
      },
    });
    if (result.appId && !result.cancelled) model.recordDriverExit(result.appId, result.exitCode);
    return { result, lines, job };
  }

  const stdout = (lines: DriverLine[]) => lines.filter((l) => l.stream === 'stdout').map((l) => l.text);

  it('hello_spark.py prints the banner and the DataFrame table, and its application shows FINISHED', async () => {
    const { result, lines } = await submit({ file: path.join(SCRIPTS, 'hello_spark.py') });
    const out = stdout(lines);
    assert.equal(result.exitCode, 0, `spark-submit failed:\n${lines.map((l) => l.text).slice(-40).join('\n')}`);
    assert.ok(out.includes('HELLO WORLD FROM SPARK CLUSTER'), out.join('\n'));
    const table = out.join('\n');
    for (const row of ['| word|count|', '|Hello|    1|', '|World|    2|', '| from|    3|', '|Spark|    4|']) {
      assert.ok(table.includes(row), `missing row ${row} in:\n${table}`);
    }
    assert.match(result.appId ?? '', /^app-\d{14}-\d{4,}$/);
    assert.equal(result.errorLines.length, 0, result.errorLines.join('\n'));
    assert.ok(await model.waitForApp(result.appId!, 30_000, ['FINISHED']), 'the application never showed FINISHED');
    const app = model.findApp(result.appId!)!;
    assert.equal(app.name, 'HelloSparkCluster');
    assert.equal(app.driverExitCode, 0);
  });

  it('kafka_spark_job.py writes exactly Alice, Charlie and Eve, each with a message, to the output topic', async () => {
    const run = Date.now();
    const inputTopic = `spark-it-input-${run}`;
    const outputTopic = `spark-it-output-${run}`;
    const kafka = new Kafka({ clientId: 'spark-it', brokers: [stack.endpoints.kafkaBootstrap], logLevel: logLevel.NOTHING });
    await createTopics(kafka, [inputTopic, outputTopic]);
    await produce(kafka, inputTopic, PEOPLE);

    const { result, lines } = await submit({
      file: path.join(SCRIPTS, 'kafka_spark_job.py'),
      kafkaConnector: true,
      args: ['--bootstrap-servers', stack.endpoints.kafkaBootstrap, '--input-topic', inputTopic, '--output-topic', outputTopic],
    });
    assert.equal(result.exitCode, 0, `spark-submit failed:\n${lines.map((l) => l.text).slice(-60).join('\n')}`);
    const out = stdout(lines);
    assert.ok(out.includes('Input records: 5'), out.join('\n'));
    assert.ok(out.includes('Output records: 3'), out.join('\n'));
    assert.ok(out.includes('Filtered out (age < 18): 2'), out.join('\n'));

    const received = await consumeAll(kafka, outputTopic, 3);
    assert.deepEqual(
      received.map((r) => [r.name, r.age]),
      [
        ['Alice', 25],
        ['Charlie', 30],
        ['Eve', 22],
      ],
    );
    for (const r of received) assert.equal(r.message, `${r.name} from ${r.city} is an adult`);
  });

  it("Spark's Kafka sink with kafka.compression.type=zstd: the message browser reads the adults from the zstd batches", async () => {
    const run = Date.now();
    const inputTopic = `spark-it-zstd-in-${run}`;
    const outputTopic = `spark-it-zstd-out-${run}`;
    const kafka = new Kafka({ clientId: 'spark-it', brokers: [stack.endpoints.kafkaBootstrap], logLevel: logLevel.NOTHING });
    await createTopics(kafka, [inputTopic, outputTopic]);
    await produce(kafka, inputTopic, PEOPLE);
    const { result, lines } = await submit({
      file: path.join(SCRIPTS, 'kafka_spark_job.py'),
      kafkaConnector: true,
      args: ['--bootstrap-servers', stack.endpoints.kafkaBootstrap, '--input-topic', inputTopic, '--output-topic', outputTopic, '--compression-type', 'zstd'],
    });
    assert.equal(result.exitCode, 0, `spark-submit failed:\n${lines.map((l) => l.text).slice(-60).join('\n')}`);
    const service = new KafkaService({ bootstrap: stack.endpoints.kafkaBootstrap });
    const read = async () => {
      const { c } = browser(service, outputTopic);
      await c.startBrowse({ mode: 'earliest', follow: false });
      await until('the read to finish', () => c.statusData().state === 'done', 30_000);
      const rows = c.page(1, 0, 100).rows;
      await c.dispose();
      return rows;
    };
    try {
      const rows = await read();
      // Spark's Kafka sink is at-least-once: a task retried on a loaded machine writes its records again
      // (CI once read Charlie and Eve twice). The browser shows exactly what the topic holds, no more.
      const held = (await service.watermarks(outputTopic)).reduce((n, w) => n + Number(w.high) - Number(w.low), 0);
      assert.equal(rows.length, held, `${rows.length} rows for ${held} records`);
      assert.deepEqual([...new Set(rows.map((r) => JSON.parse(r.value!).name))].sort(), ['Alice', 'Charlie', 'Eve']);
      // the batches really are zstd: with zstd decompression failing, only error rows remain
      failDecompressionForTests('zstd', 'zstd switched off by the test');
      const broken = await read();
      assert.ok(broken.length > 0 && broken.every((r) => r.mark === 'error' && /zstd-compressed batch/.test(r.value!)), JSON.stringify(broken));
    } finally {
      failDecompressionForTests('zstd', undefined);
      await service.dispose();
    }
  });

  it('kafka_spark_streaming.py streams the adults, and a second run resumes from its checkpoint', async () => {
    const run = Date.now();
    const inputTopic = `spark-it-stream-in-${run}`;
    const outputTopic = `spark-it-stream-out-${run}`;
    const kafka = new Kafka({ clientId: 'spark-it', brokers: [stack.endpoints.kafkaBootstrap], logLevel: logLevel.NOTHING });
    await createTopics(kafka, [inputTopic, outputTopic]);
    await produce(kafka, inputTopic, PEOPLE);
    const req: SparkSubmitRequest = {
      file: path.join(SCRIPTS, 'kafka_spark_streaming.py'),
      kafkaConnector: true,
      args: ['--bootstrap-servers', stack.endpoints.kafkaBootstrap, '--input-topic', inputTopic, '--output-topic', outputTopic],
    };
    // the job keeps its checkpoint in the stack's checkpoint folder, one per topic pair
    const checkpoint = path.join(stack.layout.sparkDir, 'checkpoints', `kafka_spark_streaming-${inputTopic}-${outputTopic}`);
    try {
      const first = await submit(req);
      assert.equal(first.result.exitCode, 0, first.lines.map((l) => l.text).slice(-60).join('\n'));
      assert.ok(fs.existsSync(path.join(checkpoint, 'offsets')), `no checkpoint written in ${checkpoint}`);
      assert.ok(stdout(first.lines).some((l) => /checkpoint .*kafka_spark_streaming-/.test(l)), stdout(first.lines).join('\n'));
      assert.deepEqual(
        (await consumeAll(kafka, outputTopic, 3)).map((r) => [r.name, r.age, r.message]),
        [
          ['Alice', 25, 'Alice from NYC is an adult'],
          ['Charlie', 30, 'Charlie from Chicago is an adult'],
          ['Eve', 22, 'Eve from Seattle is an adult'],
        ],
      );
      // one more person: the checkpoint makes the second run process only the new record
      await produce(kafka, inputTopic, [{ name: 'Frank', age: 40, city: 'Denver' }]);
      const second = await submit(req);
      assert.equal(second.result.exitCode, 0, second.lines.map((l) => l.text).slice(-60).join('\n'));
      assert.deepEqual(
        (await consumeAll(kafka, outputTopic, 4)).map((r) => r.name),
        ['Alice', 'Charlie', 'Eve', 'Frank'],
      );
    } finally {
      fs.rmSync(checkpoint, { recursive: true, force: true });
    }
  });

  it('a failing script exits non-zero, its traceback is flagged, and its application shows FAILED', async () => {
    const file = path.join(tmp, 'failing_job.py');
    fs.writeFileSync(
      file,
      [
        'from pyspark.sql import SparkSession',
        'spark = SparkSession.builder.appName("DataPipelineFailingJob").getOrCreate()',
        'print("about to fail", flush=True)',
        'def explode():',
        '    raise ValueError("deliberate failure from the DataPipeline test")',
        'explode()',
        '',
      ].join('\n'),
    );
    const { result, lines } = await submit({ file });
    assert.notEqual(result.exitCode, 0);
    assert.equal(result.cancelled, false);
    const flagged = lines.filter((l) => l.error).map((l) => l.text);
    assert.ok(flagged.includes('Traceback (most recent call last):'), flagged.join('\n'));
    assert.ok(flagged.some((l) => l.includes('raise ValueError(')), flagged.join('\n'));
    assert.ok(flagged.includes('ValueError: deliberate failure from the DataPipeline test'), flagged.join('\n'));
    assert.equal(lines.find((l) => l.text === 'about to fail')?.error, undefined, 'normal output flagged as an error');
    assert.ok(result.appId, 'no application id in the driver output');
    assert.ok(await model.waitForApp(result.appId!, 30_000, ['FAILED']), `the application is ${model.findApp(result.appId!)?.state}, not FAILED`);
    assert.equal(model.findApp(result.appId!)?.driverExitCode, result.exitCode);
  });

  it("submits a file named `my job; $(touch x) 'q'.py` in a folder with spaces, and runs nothing else", async () => {
    const dir = path.join(tmp, 'folder with spaces');
    fs.mkdirSync(dir);
    const file = path.join(dir, "my job; $(touch x) 'q'.py");
    fs.writeFileSync(
      file,
      ['import sys', 'from pyspark.sql import SparkSession', 'spark = SparkSession.builder.appName("SpecialName").getOrCreate()', 'print("ARGS", sys.argv[1:], flush=True)', 'spark.stop()', ''].join(
        '\n',
      ),
    );
    const cwdBefore = fs.readdirSync(process.cwd());
    const { result, lines } = await submit({ file, args: ['two words', '$(touch y)', "'q'"] });
    assert.equal(result.exitCode, 0, lines.map((l) => l.text).slice(-40).join('\n'));
    assert.ok(stdout(lines).includes(`ARGS ['two words', '$(touch y)', "'q'"]`), stdout(lines).join('\n'));
    for (const d of [dir, tmp, process.cwd(), os.homedir()]) {
      assert.ok(!fs.existsSync(path.join(d, 'x')), `${d}/x was created: a shell ran the file name`);
      assert.ok(!fs.existsSync(path.join(d, 'y')), `${d}/y was created: a shell ran an argument`);
    }
    assert.deepEqual(fs.readdirSync(process.cwd()), cwdBefore);
  });

  it('cancel stops the driver (no process left) and the application ends KILLED', async () => {
    const marker = `dp_cancel_me_${process.pid}_${Date.now()}.py`;
    const file = path.join(tmp, marker);
    fs.writeFileSync(
      file,
      [
        'import time',
        'from pyspark.sql import SparkSession',
        'spark = SparkSession.builder.appName("DataPipelineCancelMe").getOrCreate()',
        'for i in range(600):',
        '    print("tick", i, flush=True)',
        '    time.sleep(1)',
        '',
      ].join('\n'),
    );
    let sawRunning = false;
    const { result } = await submit({ file }, (l, job) => {
      if (l.text === 'tick 2' && !sawRunning) {
        sawRunning = true;
        assert.ok(processesMentioning(marker).length > 0, 'the driver is not running while it prints');
        void job.cancel();
      }
    });
    assert.ok(sawRunning, 'the job never printed its ticks');
    assert.equal(result.cancelled, true);
    assert.ok(result.durationMs < 60_000, `cancel took ${result.durationMs} ms`);
    await until('the driver processes to end', () => processesMentioning(marker).length === 0, { timeoutMs: 15_000, intervalMs: 250 }).catch(() => undefined);
    assert.deepEqual(processesMentioning(marker), [], 'driver processes survived the cancel');
    assert.ok(result.appId);
    assert.ok(await model.waitForApp(result.appId!, 30_000, ['KILLED', 'FINISHED']), 'the application is still running on the master');
    assert.ok(!(await client.status()).activeApps.some((a) => a.id === result.appId), 'the application is still active');
  });

  it("the view's Kill (master kill endpoint) turns a running application KILLED at once after its start, and the worker's cores are free again", async () => {
    const file = path.join(tmp, 'kill_from_view.py');
    fs.writeFileSync(
      file,
      [
        'import time',
        'from pyspark.sql import SparkSession',
        'spark = SparkSession.builder.appName("DataPipelineKillMe").getOrCreate()',
        'for i in range(600):',
        '    print("tick", i, flush=True)',
        '    time.sleep(1)',
        '',
      ].join('\n'),
    );
    const job = new SparkJob(stack.backend, client, { file });
    const { run, appId: announced } = startJob(job);
    try {
      const appId = await announced;
      assert.ok(await model.waitForApp(appId, 30_000, ['RUNNING']), 'the application never showed RUNNING in the view');
      // at once: Spark's master, killed from its web UI while it launches the application's executors,
      // used to keep the application "completed but RUNNING" and the worker's cores held for good
      // (CI; the next job waited for resources); killApp waits until the application has settled
      await client.killApp(appId);
      if (!(await model.waitForApp(appId, 30_000, ['KILLED']))) {
        const master = await client.status().then((st) => [...st.activeApps, ...st.completedApps].find((a) => a.id === appId)?.state, (e: Error) => `unreadable (${e.message})`);
        assert.fail(`the application is ${model.findApp(appId)?.state} in the view after Kill; the master says ${master}; view state ${model.state.kind}`);
      }
    } finally {
      // the command also stops the driver it submitted; do the same here and check nothing is left
      await job.cancel();
      await run.catch(() => undefined);
    }
    await until('the driver processes to end', () => processesMentioning(file).length === 0, { timeoutMs: 15_000, intervalMs: 250 }).catch(() => undefined);
    assert.deepEqual(processesMentioning(file), [], 'driver processes survived the cancel');
    // what a user notices next: the worker's cores are free for the next job (none leaked to a ghost executor)
    const used = await until('the workers\u2019 cores to be free', async () => {
      const st = await client.status();
      return st.activeApps.length === 0 && st.workers.every((w) => w.coresUsed === 0) ? 'free' : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 }).catch(async () => JSON.stringify((await client.status()).workers.map((w) => [w.id, w.coresUsed])));
    assert.equal(used, 'free', `cores still in use after the kill: ${used}`);
  });

  it('refuses before submitting when the master is unreachable, naming its URL', async () => {
    const down = new SparkMasterClient('http://127.0.0.1:29998', { timeoutMs: 1500 });
    const job = new SparkJob(stack.backend, down, { file: path.join(SCRIPTS, 'hello_spark.py') });
    let ran = false;
    await assert.rejects(
      job.run({ onLine: () => void (ran = true) }),
      (e: unknown) => e instanceof SubmitRefusedError && /unreachable at http:\/\/127\.0\.0\.1:29998/.test(e.message) && /Start the stack/.test(e.message),
    );
    assert.equal(ran, false);
  });
});
