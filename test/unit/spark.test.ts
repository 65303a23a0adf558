import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseMasterStatus, formatDuration, formatMemoryMiB, SparkResponseError } from '../../src/services/spark/models';
import {
  buildSparkSubmitArgv,
  formToRequest,
  splitArgs,
  EMPTY_FORM,
  KAFKA_CONNECTOR_PACKAGE,
  SubmitFormError,
} from '../../src/services/spark/submitPlanner';
import { ErrorLineDetector, LineSplitter, parseAppId, parseDriverUiUrl, sparkLogLevel } from '../../src/services/spark/driverOutput';
import { mapToContainerPath, parseComposeBindMounts } from '../../src/services/spark/containerPaths';
import { appDuration, applyDriverOutcomes, SparkViewModel, type SparkViewState } from '../../src/services/spark/sparkViewModel';
import { checkSubmittable, SubmitRefusedError } from '../../src/services/spark/sparkJob';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ManualClock } from '../lib/manualClock';
import { until } from '../lib/until';

/** Trimmed from a real Spark 3.5.0 master's GET /json. */
const MASTER_JSON = {
  url: 'spark://127.0.0.1:7077',
  workers: [
    {
      id: 'worker-20261125183900-127.0.0.1-40123',
      host: '127.0.0.1',
      port: 40123,
      webuiaddress: 'http://127.0.0.1:8081',
      cores: 2,
      coresused: 1,
      coresfree: 1,
      memory: 1024,
      memoryused: 512,
      memoryfree: 512,
      resources: {},
      resourcesused: {},
      resourcesfree: {},
      state: 'ALIVE',
      lastheartbeat: 1764095999000,
    },
  ],
  aliveworkers: 1,
  cores: 2,
  coresused: 1,
  memory: 1024,
  memoryused: 512,
  resources: [],
  resourcesused: [],
  activeapps: [
    {
      id: 'app-20261125184000-0002',
      starttime: 1764096000000,
      name: 'KafkaSparkJob',
      cores: 1,
      user: 'root',
      memoryperexecutor: 512,
      memoryperslave: 512,
      resourcesperexecutor: [],
      resourcesperslave: [],
      submitdate: 'Wed Nov 25 18:40:00 UTC 2026',
      state: 'RUNNING',
      duration: 5000,
    },
  ],
  completedapps: [
    { id: 'app-20261125183950-0000', starttime: 1764095990000, name: 'a', cores: 2, user: 'root', memoryperexecutor: 1024, state: 'FINISHED', duration: 8000 },
    { id: 'app-20261125183955-0001', starttime: 1764095995000, name: 'b', cores: 2, user: 'root', memoryperexecutor: 1024, state: 'FAILED', duration: 2000 },
  ],
  activedrivers: [],
  completeddrivers: [],
  status: 'ALIVE',
};

describe('spark: master /json parsing', () => {
  it('reads workers, totals and applications, completed ones newest first', () => {
    const s = parseMasterStatus(MASTER_JSON);
    assert.equal(s.url, 'spark://127.0.0.1:7077');
    assert.equal(s.status, 'ALIVE');
    assert.equal(s.aliveWorkers, 1);
    assert.deepEqual([s.cores, s.coresUsed, s.memory, s.memoryUsed], [2, 1, 1024, 512]);
    assert.equal(s.workers[0].webUiAddress, 'http://127.0.0.1:8081');
    assert.equal(s.activeApps[0].name, 'KafkaSparkJob');
    assert.equal(s.activeApps[0].memoryPerExecutor, 512);
    assert.deepEqual(
      s.completedApps.map((a) => [a.id, a.state]),
      [
        ['app-20261125183955-0001', 'FAILED'],
        ['app-20261125183950-0000', 'FINISHED'],
      ],
    );
  });

  it('rejects a body that is not a master status, naming the field', () => {
    assert.throws(() => parseMasterStatus('<html>'), SparkResponseError);
    assert.throws(() => parseMasterStatus({ url: 1 }), /master \/json\.url is not a string/);
    assert.throws(
      () => parseMasterStatus({ ...MASTER_JSON, activeapps: [{ id: 'x', cores: 'many' }] }),
      /activeapps\[0\]\.cores is not a number/,
    );
  });

  it('maps unknown app states to UNKNOWN', () => {
    const s = parseMasterStatus({ url: 'spark://h:1', activeapps: [{ id: 'app-1', state: 'WEIRD' }] });
    assert.equal(s.activeApps[0].state, 'UNKNOWN');
  });

  it('ticks the duration of running apps only', () => {
    const [running] = parseMasterStatus(MASTER_JSON).activeApps;
    const [failed] = parseMasterStatus(MASTER_JSON).completedApps;
    assert.equal(appDuration(running, 10_000, 7_000), 8000);
    assert.equal(appDuration(failed, 10_000, 7_000), 2000);
  });

  it('formats durations and memory', () => {
    assert.equal(formatDuration(42_300), '42 s');
    assert.equal(formatDuration(185_000), '3 min 05 s');
    assert.equal(formatDuration(3_720_000), '1 h 02 min');
    assert.equal(formatMemoryMiB(512), '512 MiB');
    assert.equal(formatMemoryMiB(1536), '1.5 GiB');
    assert.equal(formatMemoryMiB(2048), '2 GiB');
  });
});

describe('spark: submit planner', () => {
  it('splits program arguments like a shell without expanding anything', () => {
    assert.deepEqual(splitArgs(`--date 2024-01-01 "two words" 'it''s' a\\ b`), [
      '--date',
      '2024-01-01',
      'two words',
      'its',
      'a b',
    ]);
    assert.deepEqual(splitArgs(`$(touch x); rm -rf * "" `), ['$(touch', 'x);', 'rm', '-rf', '*', '']);
    assert.throws(() => splitArgs('"open'), SubmitFormError);
  });

  it('builds a client-mode argv with packages, jars, conf and memory, file then args last', () => {
    const req = formToRequest('/w/my job.py', {
      ...EMPTY_FORM,
      args: '--n 3 "x y"',
      packages: 'io.delta:delta-spark_2.12:3.1.0',
      jars: '/opt/a.jar, /opt/b.jar',
      conf: 'spark.sql.shuffle.partitions=4\nspark.executor.cores=1',
      driverMemory: '1g',
      executorMemory: '512m',
    });
    assert.deepEqual(buildSparkSubmitArgv(req, { masterUrl: 'spark://127.0.0.1:7077' }), [
      '--master', 'spark://127.0.0.1:7077',
      '--deploy-mode', 'client',
      '--packages', 'io.delta:delta-spark_2.12:3.1.0',
      '--jars', '/opt/a.jar,/opt/b.jar',
      '--conf', 'spark.sql.shuffle.partitions=4',
      '--conf', 'spark.executor.cores=1',
      '--driver-memory', '1g',
      '--executor-memory', '512m',
      '/w/my job.py', '--n', '3', 'x y',
    ]);
  });

  it('keeps a file name with shell metacharacters as one argv element', () => {
    const file = `/w/a folder/my job; $(touch x) 'q'.py`;
    const argv = buildSparkSubmitArgv({ file }, { masterUrl: 'spark://h:7077' });
    assert.equal(argv[argv.length - 1], file);
  });

  it('Kafka preset: local jars when the backend has them, else the connector package', () => {
    const req = formToRequest('/w/k.py', { ...EMPTY_FORM, kafkaConnector: true });
    const withJars = buildSparkSubmitArgv(req, { masterUrl: 'spark://h:7077', kafkaJars: ['/c/k1.jar', '/c/k2.jar'] });
    assert.deepEqual(withJars.slice(4, 6), ['--jars', '/c/k1.jar,/c/k2.jar']);
    assert.ok(!withJars.includes('--packages'));
    const withPackages = buildSparkSubmitArgv(req, { masterUrl: 'spark://h:7077' });
    assert.deepEqual(withPackages.slice(4, 6), ['--packages', KAFKA_CONNECTOR_PACKAGE]);
  });

  it('user conf overrides default conf', () => {
    const argv = buildSparkSubmitArgv(
      { file: '/f.py', conf: { 'spark.a': 'user' } },
      { masterUrl: 'spark://h:7077', defaultConf: { 'spark.a': 'default', 'spark.b': '1' } },
    );
    assert.deepEqual(argv.slice(4, 8), ['--conf', 'spark.a=user', '--conf', 'spark.b=1']);
  });

  it('rejects bad form input naming the field', () => {
    const bad = (patch: Partial<typeof EMPTY_FORM>, field: string) =>
      assert.throws(
        () => formToRequest('/f.py', { ...EMPTY_FORM, ...patch }),
        (e: unknown) => e instanceof SubmitFormError && e.field === field,
      );
    bad({ conf: 'novalue' }, 'conf');
    bad({ conf: '=x' }, 'conf');
    bad({ packages: 'not-a-coordinate' }, 'packages');
    bad({ driverMemory: 'lots' }, 'driverMemory');
    bad({ executorMemory: '1 g' }, 'executorMemory');
    assert.deepEqual(formToRequest('/f.py', EMPTY_FORM), { file: '/f.py' });
    assert.deepEqual(formToRequest('/f.py', { ...EMPTY_FORM, conf: 'spark.x="a b=c"' }).conf, { 'spark.x': 'a b=c' });
  });
});

describe('spark: driver output', () => {
  it('splits chunks into lines across chunk borders and CRLF', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('ab'), []);
    assert.deepEqual(s.push('c\r\nde'), ['abc']);
    assert.deepEqual(s.push('f\n\ng'), ['def', '']);
    assert.deepEqual(s.flush(), ['g']);
    assert.deepEqual(s.flush(), []);
  });

  it('flags a whole Python traceback and its exception line, not the normal output', () => {
    const lines = [
      'HELLO WORLD FROM SPARK CLUSTER',
      'Traceback (most recent call last):',
      '  File "/w/fail.py", line 7, in <module>',
      '    raise ValueError("boom")',
      'ValueError: boom',
      '26/11/25 18:40:00 INFO SparkContext: Invoking stop() from shutdown hook',
    ];
    const d = new ErrorLineDetector();
    assert.deepEqual(lines.map((l) => d.classify(l)), [undefined, 'traceback', 'traceback', 'traceback', 'exception', undefined]);
  });

  it('flags Spark/JVM exceptions, stack frames and ERROR log lines', () => {
    const d = new ErrorLineDetector();
    const cases: Array<[string, string | undefined]> = [
      ['pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] x', 'exception'],
      ['py4j.protocol.Py4JJavaError: An error occurred while calling o42.load.', 'exception'],
      [': org.apache.spark.SparkException: Job aborted due to stage failure', 'exception'],
      ['Exception in thread "main" java.lang.RuntimeException: x', 'exception'],
      ['Caused by: java.io.IOException: disk', 'exception'],
      ['\tat org.apache.spark.rdd.RDD.count(RDD.scala:1296)', 'stackFrame'],
      ['\t... 42 more', 'stackFrame'],
      ['26/11/25 18:40:00 ERROR TaskSetManager: Task 0 in stage 1.0 failed 4 times', 'log'],
      ['26/11/25 18:40:00 WARN NativeCodeLoader: Unable to load native-hadoop library', undefined],
      ['+-----+-----+', undefined],
      ['|Hello|    1|', undefined],
      ['Error rate is low today', undefined],
    ];
    for (const [line, kind] of cases) assert.equal(d.classify(line), kind, line);
  });

  it('finds the application id and the driver UI', () => {
    assert.equal(
      parseAppId('26/11/25 18:40:00 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261125184000-0003'),
      'app-20261125184000-0003',
    );
    assert.equal(parseAppId('nothing here'), undefined);
    assert.equal(
      parseDriverUiUrl('26/11/25 18:40:00 INFO SparkUI: Bound SparkUI to 127.0.0.1, and started at http://127.0.0.1:4040'),
      'http://127.0.0.1:4040',
    );
  });
});

describe('spark: workspace file to spark-master container path', () => {
  const compose = `
services:
  spark-master:
    image: datapipeline/spark:3.5.0
    volumes:
      - ./scripts:/opt/spark/scripts:ro
      - \${DP_JOBS:-./jobs}:/opt/jobs
      - ivy:/opt/ivy
      - type: bind
        source: ./scripts/lib
        target: /opt/lib
        read_only: true
  spark-worker:
    volumes:
      - ./scripts:/opt/spark/scripts
volumes:
  ivy: {}
`;
  const dir = '/home/u/proj/stack';

  it('reads bind mounts (short, long, env defaults) and skips named volumes', () => {
    const mounts = parseComposeBindMounts(compose, dir, 'spark-master', {});
    assert.deepEqual(mounts, [
      { source: '/home/u/proj/stack/scripts', target: '/opt/spark/scripts', readOnly: true },
      { source: '/home/u/proj/stack/jobs', target: '/opt/jobs', readOnly: false },
      { source: '/home/u/proj/stack/scripts/lib', target: '/opt/lib', readOnly: true },
    ]);
    assert.equal(parseComposeBindMounts(compose, dir, 'spark-master', { DP_JOBS: '/data/jobs' })[1].source, '/data/jobs');
    assert.throws(() => parseComposeBindMounts(compose, dir, 'nope', {}), /no "nope" service/);
  });

  it('reads the mounts of the bundled stack, whose Spark services take them from a merge key (<<: *spark-common)', () => {
    const stack = path.join(__dirname, '..', '..', 'stack');
    const mounts = parseComposeBindMounts(fs.readFileSync(path.join(stack, 'docker-compose.yaml'), 'utf8'), stack, 'spark-master', {});
    assert.deepEqual(mounts, [
      { source: path.join(stack, 'scripts'), target: '/opt/airflow/scripts', readOnly: true },
      { source: path.join(stack, 'checkpoints'), target: '/opt/checkpoints', readOnly: false },
    ]);
    // so a job importing its sibling module runs in place, not copied alone
    const job = mapToContainerPath(path.join(stack, 'scripts', 'kafka_spark_job.py'), mounts);
    assert.deepEqual([job.kind, job.containerPath], ['mounted', '/opt/airflow/scripts/kafka_spark_job.py']);
  });

  it('maps files under a mount, the most specific mount winning, keeping special characters', () => {
    const mounts = parseComposeBindMounts(compose, dir, 'spark-master', {});
    const m1 = mapToContainerPath(path.join(dir, 'scripts/hello_spark.py'), mounts);
    assert.deepEqual([m1.kind, m1.containerPath], ['mounted', '/opt/spark/scripts/hello_spark.py']);
    const m2 = mapToContainerPath(path.join(dir, 'scripts/lib/util.py'), mounts);
    assert.equal(m2.containerPath, '/opt/lib/util.py');
    const m3 = mapToContainerPath(path.join(dir, `scripts/a b/my job; $(touch x) 'q'.py`), mounts);
    assert.equal(m3.containerPath, `/opt/spark/scripts/a b/my job; $(touch x) 'q'.py`);
  });

  it('reports a file outside every mount as to be copied, with a stable target path', () => {
    const mounts = parseComposeBindMounts(compose, dir, 'spark-master', {});
    const m = mapToContainerPath('/home/u/other/job.py', mounts);
    assert.equal(m.kind, 'copy');
    assert.match(m.containerPath, /^\/tmp\/datapipeline-submit\/[0-9a-f]{12}\/job\.py$/);
    assert.equal(mapToContainerPath('/home/u/other/job.py', mounts).containerPath, m.containerPath);
    assert.notEqual(mapToContainerPath('/home/u/third/job.py', mounts).containerPath, m.containerPath);
    assert.ok(m.kind === 'copy' && /outside the folders mounted into spark-master/.test(m.reason));
    // a sibling whose name only starts like a mount is not inside it
    assert.equal(mapToContainerPath(path.join(dir, 'scripts2/x.py'), mounts).kind, 'copy');
  });
});

describe('spark: driver outcome shown in the view', () => {
  it('turns a FINISHED application whose spark-submit exited non-zero into FAILED, keeping the others', () => {
    const status = parseMasterStatus(MASTER_JSON);
    const done = status.completedApps.find((a) => a.state === 'FINISHED')!;
    const running = status.activeApps[0];
    const out = applyDriverOutcomes(status, new Map([[done.id, 1], [running.id, 0]]));
    const after = out.completedApps.find((a) => a.id === done.id)!;
    assert.equal(after.state, 'FAILED');
    assert.equal(after.driverExitCode, 1);
    assert.equal(out.activeApps[0].state, 'RUNNING');
    assert.deepEqual(out.completedApps.map((a) => a.id), status.completedApps.map((a) => a.id));
    const ok = applyDriverOutcomes(status, new Map([[done.id, 0]]));
    assert.equal(ok.completedApps.find((a) => a.id === done.id)!.state, 'FINISHED');
    assert.equal(applyDriverOutcomes(status, new Map()), status);
    // cancelled from here: the driver was stopped first, so the master saw it end; the view says KILLED
    const cancelled = applyDriverOutcomes(status, new Map<string, number | 'cancelled'>([[done.id, 'cancelled'], [running.id, 'cancelled']]));
    assert.equal(cancelled.completedApps.find((a) => a.id === done.id)!.state, 'KILLED');
    assert.equal(cancelled.activeApps[0].state, 'RUNNING', 'a cancelled job still running on the master is shown as the master says');
  });
});

describe('spark: submit refusals', () => {
  // nobody listens there: every check that needs the master would fail loudly
  const client = new SparkMasterClient('http://127.0.0.1:29997', { timeoutMs: 1000 });

  it('refuses a file that is not Python, naming it', async () => {
    await assert.rejects(checkSubmittable('/tmp/notes.txt', client), (e: unknown) => e instanceof SubmitRefusedError && /notes\.txt is not a Python file/.test(e.message));
  });

  it('refuses a missing file and says to save it', async () => {
    const file = path.join(os.tmpdir(), `dp-missing-${process.pid}.py`);
    await assert.rejects(checkSubmittable(file, client), (e: unknown) => e instanceof SubmitRefusedError && e.message.includes(`${file} does not exist`) && /Save the file/.test(e.message));
  });

  it('refuses when the master does not answer, naming the URL and the next step', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dp-spark-')), 'job.py');
    fs.writeFileSync(file, 'print(1)\n');
    await assert.rejects(
      checkSubmittable(file, client),
      (e: unknown) => e instanceof SubmitRefusedError && /unreachable at http:\/\/127\.0\.0\.1:29997/.test(e.message) && /Start Stack/.test(e.message),
    );
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});

describe('spark: Spark log lines told apart from the job output', () => {
  it('reads the log4j level of Spark lines and nothing from the program prints', () => {
    assert.equal(sparkLogLevel('26/11/25 19:27:37 INFO SparkContext: Successfully stopped SparkContext'), 'INFO');
    assert.equal(sparkLogLevel('26/11/25 19:27:37 WARN NativeCodeLoader: Unable to load native-hadoop library'), 'WARN');
    assert.equal(sparkLogLevel('26/11/25 19:27:37 ERROR Executor: Exception in task 0.0'), 'ERROR');
    assert.equal(sparkLogLevel('HELLO WORLD FROM SPARK CLUSTER'), undefined);
    assert.equal(sparkLogLevel('|Hello|    1|'), undefined);
    assert.equal(sparkLogLevel('INFO is a word the job may print'), undefined);
  });
});

describe('spark: view model when the master is down', () => {
  it('shows "unreachable" naming the URL, and polls only while visible', async () => {
    let calls = 0;
    const clock = new ManualClock();
    const client = new SparkMasterClient('http://127.0.0.1:29996', { timeoutMs: 500 });
    const model = new SparkViewModel(
      () => {
        calls++;
        return client;
      },
      { intervalMs: 3000, clock },
    );
    // a poll is due once the read in flight has ended (it schedules the next)
    const scheduled = () => until('the next poll to be scheduled', () => clock.pending === 1, 5000);
    try {
      assert.equal(model.state.kind, 'loading');
      await model.refresh();
      const s = model.state as SparkViewState;
      assert.equal(s.kind, 'unreachable');
      assert.ok(s.kind === 'unreachable' && s.message.includes('http://127.0.0.1:29996') && /Start Stack/.test(s.message), JSON.stringify(s));
      // hidden: no polling, however long
      const before = calls;
      assert.equal(clock.pending, 0);
      await clock.advance(10 * 60_000);
      assert.equal(calls, before);
      // visible: reads at once, then every 3 s on its own
      model.setVisible(true);
      await scheduled();
      assert.equal(calls, before + 1);
      assert.equal(clock.nextAt! - clock.now(), 3000);
      await clock.advance(3000);
      await scheduled();
      await clock.advance(3000);
      await scheduled();
      assert.equal(calls, before + 3, 'polled every 3 s while visible');
      // hidden again: the next poll is cancelled
      model.setVisible(false);
      assert.equal(clock.pending, 0);
      await clock.advance(10 * 60_000);
      assert.equal(calls, before + 3, 'kept polling after the view was hidden');
    } finally {
      model.dispose();
    }
  });
});

describe('spark-submit on a named connection', () => {
  it('goes to the connection\'s master with its extra arguments before the program (the stack\'s master otherwise)', () => {
    const argv = buildSparkSubmitArgv(
      { file: '/w/job.py', args: ['--day', '1'], master: 'spark://spark.team.example:7077', extraArgs: ['--conf', 'spark.executor.memory=2g', '--queue', 'etl'] },
      { masterUrl: 'spark://127.0.0.1:7077' },
    );
    assert.deepEqual(argv, ['--master', 'spark://spark.team.example:7077', '--deploy-mode', 'client', '--conf', 'spark.executor.memory=2g', '--queue', 'etl', '/w/job.py', '--day', '1']);
    assert.equal(buildSparkSubmitArgv({ file: '/w/job.py' }, { masterUrl: 'spark://127.0.0.1:7077' })[1], 'spark://127.0.0.1:7077');
  });
});

describe('spark: view model while the master removes a killed application', () => {
  it('reads again at once when a completed application is still listed RUNNING (the master marks it KILLED a moment later)', async () => {
    // Spark's master adds a killed application to the completed ones before it marks it KILLED; a
    // read in between lists it there as RUNNING (seen in CI). The view must not keep that for a poll.
    const http = await import('node:http');
    let reads = 0;
    const server = http.createServer((req, res) => {
      reads++;
      const killed = { ...MASTER_JSON.activeapps[0], state: reads === 1 ? 'RUNNING' : 'KILLED' };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...MASTER_JSON, activeapps: [], completedapps: [killed, ...MASTER_JSON.completedapps] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const clock = new ManualClock();
    const model = new SparkViewModel(() => new SparkMasterClient(`http://127.0.0.1:${port}`), { intervalMs: 60_000, fastIntervalMs: 50, clock });
    try {
      const seen: string[] = [];
      model.onDidChange(() => {
        const app = model.findApp('app-20261125184000-0002');
        if (app) seen.push(app.state);
      });
      model.setVisible(true);
      await until('the first read to end', () => clock.pending === 1 && seen.length === 1, 5000);
      assert.deepEqual(seen, ['RUNNING']);
      // a completed application still RUNNING: read again after the fast period, not the 60 s poll
      assert.equal(clock.nextAt! - clock.now(), 50);
      await clock.advance(50);
      await until('the second read to end', () => clock.pending === 1 && seen.length === 2, 5000);
      assert.deepEqual(seen, ['RUNNING', 'KILLED']);
      // once settled, back to the normal period
      assert.equal(clock.nextAt! - clock.now(), 60_000, 'kept polling fast after every completed application had its final state');
      await clock.advance(59_999);
      assert.equal(reads, 2);
    } finally {
      model.dispose();
      server.close();
    }
  });
});

describe('spark: killing an application on the master', () => {
  /** A master's /json and /app/kill/ on 127.0.0.1 (the kill endpoint's race is Spark's, so the master is played here). */
  async function fakeMaster(opts: { ageMs: number; afterKill: 'KILLED' | 'RUNNING' | 'active' | 'none' }) {
    const http = await import('node:http');
    const born = Date.now() - opts.ageMs;
    const kills: Array<{ at: number; body: string }> = [];
    let state: 'active' | 'KILLED' | 'RUNNING' | 'none' = opts.afterKill === 'none' ? 'none' : 'active';
    const server = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/app/kill/') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          kills.push({ at: Date.now(), body });
          state = opts.afterKill === 'none' ? 'none' : opts.afterKill;
          res.writeHead(302, { location: '/' }).end();
        });
        return;
      }
      const app = { ...MASTER_JSON.activeapps[0], starttime: born, duration: Date.now() - born };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        ...MASTER_JSON,
        activeapps: state === 'active' ? [app] : [],
        completedapps: state === 'KILLED' || state === 'RUNNING' ? [{ ...app, state }] : state === 'none' ? MASTER_JSON.completedapps : [],
      }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new SparkMasterClient(`http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`);
    return { client, kills, born, close: () => server.close() };
  }
  const APP = 'app-20261125184000-0002';

  it('waits until a just-started application is settleMs old (its executors are being launched), then kills it and returns once it is KILLED', async () => {
    const m = await fakeMaster({ ageMs: 100, afterKill: 'KILLED' });
    try {
      await m.client.killApp(APP, undefined, { settleMs: 700 });
      assert.equal(m.kills.length, 1);
      assert.ok(m.kills[0].at - m.born >= 700, `killed ${m.kills[0].at - m.born} ms after the start`);
      assert.equal(new URLSearchParams(m.kills[0].body).get('id'), APP);
    } finally {
      m.close();
    }
  });

  it('kills an older application at once, and does not POST for one that is not running', async () => {
    const m = await fakeMaster({ ageMs: 60_000, afterKill: 'KILLED' });
    try {
      const t0 = Date.now();
      await m.client.killApp(APP, undefined, { settleMs: 3000 });
      assert.equal(m.kills.length, 1);
      assert.ok(m.kills[0].at - t0 < 1000, `waited ${m.kills[0].at - t0} ms`);
    } finally {
      m.close();
    }
    const gone = await fakeMaster({ ageMs: 60_000, afterKill: 'none' });
    try {
      await gone.client.killApp(APP);
      assert.equal(gone.kills.length, 0);
    } finally {
      gone.close();
    }
  });

  it('says so when the master lost the kill (completed but RUNNING) or ignored it (kill disabled), with what to do', async () => {
    const lost = await fakeMaster({ ageMs: 60_000, afterKill: 'RUNNING' });
    try {
      await assert.rejects(lost.client.killApp(APP, undefined, { confirmMs: 600 }), (e: Error) => e.name === 'SparkKillError' && /lost track of app-20261125184000-0002/.test(e.message) && /restart the Spark worker/.test(e.message));
    } finally {
      lost.close();
    }
    const ignored = await fakeMaster({ ageMs: 60_000, afterKill: 'active' });
    try {
      await assert.rejects(ignored.client.killApp(APP, undefined, { confirmMs: 600 }), /still runs app-20261125184000-0002 after the kill.*spark\.ui\.killEnabled/);
    } finally {
      ignored.close();
    }
  });
});
