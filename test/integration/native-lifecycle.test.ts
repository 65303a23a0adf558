/**
 * Lifecycle and faults of the native stack, on a SECOND stack (ports 24xxx, its own state folder)
 * so the shared default-port stack keeps serving the other suites. Real Kafka, Spark and Airflow.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { NativePorts } from '../../src/services/stack/native/config';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { setStackAirflowPassword } from '../../src/services/stack/airflowPassword';
import { canBind, findPortHolders, isAlive } from '../../src/services/util/procfs';
import { StackError, StackProgress } from '../../src/services/stack/types';
import { cacheDir } from '../../src/services/util/paths';
import { stackDir } from './harness';
import { until } from '../lib/until';
import { watchEventLoop } from '../lib/eventLoop';

const PORTS: NativePorts = { kafka: 24092, kafkaController: 24093, sparkMaster: 24077, sparkMasterUi: 24080, sparkWorkerUi: 24081, airflow: 24085, postgres: 24432, lineage: 24055 };

function tmpState(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dp-native-${name}-`));
}

function kafkaClient(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'native-lifecycle-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

async function produce(bootstrap: string, topic: string, values: string[]): Promise<void> {
  const kafka = kafkaClient(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
}

async function consumeAll(bootstrap: string, topic: string, count: number): Promise<string[]> {
  const kafka = kafkaClient(bootstrap);
  const consumer = kafka.consumer({ groupId: `native-lifecycle-${Date.now()}` });
  const got: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${got.length}/${count} messages came back`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message.value?.toString() ?? '');
          if (got.length >= count) {
            clearTimeout(t);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

describe('native stack lifecycle (second stack on ports 24xxx)', function () {
  let stateDir: string;
  let backend: NativeBackend;
  const progress: StackProgress[] = [];
  /** the longest time the event loop (the extension host's thread) was held during the first start */
  let longestBlockMs = 0;

  before(async function () {
    this.timeout(900_000);
    stateDir = tmpState('lifecycle');
    backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir, ports: PORTS });
    const loop = watchEventLoop();
    try {
      await backend.start({ onProgress: (p) => progress.push(p) });
    } finally {
      loop.stop();
      longestBlockMs = loop.longestMs();
    }
    console.log(`      [figure] longest event-loop block during a first native start: ${longestBlockMs.toFixed(0)} ms`);
  });

  after(async function () {
    this.timeout(120_000);
    await backend.stop();
    backend.dispose();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts Kafka, Spark and Airflow, reports progress up to 100 %, every service healthy', async function () {
    const status = await backend.status();
    assert.deepEqual(
      status.map((s) => `${s.id} ${s.state} ${s.health}`),
      ['kafka running healthy', 'spark-master running healthy', 'spark-worker running healthy', 'lineage running healthy', 'postgres running healthy', 'airflow-webserver running healthy', 'airflow-scheduler running healthy'],
    );
    for (const s of status) assert.ok(s.pid && isAlive(s.pid), `${s.id} has a live pid`);
    for (const id of ['kafka', 'spark-master', 'spark-worker', 'lineage', 'postgres', 'airflow-webserver', 'airflow-scheduler']) {
      assert.ok(progress.some((p) => p.service === id && /healthy/.test(p.step)), `progress says ${id} is healthy`);
    }
    assert.equal(progress[progress.length - 1].percent, 100);
  });

  it('a first start (PostgreSQL created, Airflow migrated) never holds the thread it runs on for long: no synchronous waits', function () {
    // a synchronous wait (initdb's single-user CREATE DATABASE, pg_isready, a busy wait) held it for seconds
    assert.ok(longestBlockMs < 250, `the event loop was held for ${longestBlockMs.toFixed(0)} ms at once`);
  });

  it('writes no password into any log (the admin user is created with one)', function () {
    const logs = backend.layout.logsDir;
    const init = fs.readFileSync(path.join(logs, 'airflow-init.log'), 'utf8');
    // the password goes to the admin's script in its environment, never in argv
    assert.match(init, /python \S*admin_user\.py\n[\s\S]*datapipeline: created user admin/);
    for (const f of fs.readdirSync(logs)) {
      const text = fs.readFileSync(path.join(logs, f), 'utf8');
      assert.doesNotMatch(text, /--password admin\b/, f);
    }
  });

  it('a local Airflow password set by the user is the admin\'s after a restart of Airflow (admin/admin then refused); no log holds it', async function () {
    this.timeout(600_000);
    const password = 'Lo cal "pässwörd" 1';
    const api = (pw: string) => fetch(`http://127.0.0.1:${PORTS.airflow}/api/v1/dags?limit=1`, { headers: { authorization: `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}` } });
    assert.equal((await api('admin')).status, 200);
    setStackAirflowPassword(stateDir, password);
    try {
      await backend.restart('airflow');
      assert.equal((await api(password)).status, 200, 'the new password');
      assert.equal((await api('admin')).status, 401, 'the old one');
      for (const f of fs.readdirSync(backend.layout.logsDir)) assert.ok(!fs.readFileSync(path.join(backend.layout.logsDir, f), 'utf8').includes('pässwörd'), f);
      assert.match(fs.readFileSync(path.join(backend.layout.logsDir, 'airflow-init.log'), 'utf8'), /user admin exists; its password was set to the stack's/);
    } finally {
      // back to the default for the tests after this one
      fs.rmSync(path.join(stateDir, 'airflow-admin-password'), { force: true });
      await backend.restart('airflow');
    }
    assert.equal((await api('admin')).status, 200);
  });

  it('listens only on 127.0.0.1', function () {
    for (const port of Object.values(PORTS)) {
      const holders = findPortHolders(port);
      assert.ok(holders.length > 0, `something listens on ${port}`);
      for (const h of holders) assert.match(h.address, /^(::ffff:)?127\.0\.0\.1$/, `port ${port} bound to ${h.address}`);
    }
  });

  it('uses a healthy Kafka started from another state folder instead of failing on its port, and starts nothing', async function () {
    this.timeout(60_000);
    const otherState = tmpState('adopt');
    const other = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: otherState, ports: PORTS, groups: ['kafka'] });
    const progress: string[] = [];
    try {
      await other.start({ onProgress: (p) => progress.push(p.step) });
      assert.ok(progress.some((p) => /kafka is already running and healthy/.test(p)), progress.join('\n'));
      assert.deepEqual(other.pids(), [], 'no second broker');
      const [kafka] = await other.status();
      assert.equal(`${kafka.state} ${kafka.health}`, 'running healthy');
      assert.match(kafka.detail ?? '', /not started from/);
    } finally {
      other.dispose();
      fs.rmSync(otherState, { recursive: true, force: true });
    }
  });

  it('restarts one service and keeps the others up', async function () {
    this.timeout(300_000);
    const before = new Map((await backend.status()).map((s) => [s.id, s.pid]));
    await backend.restart('spark-worker');
    const after = await backend.status();
    for (const s of after) {
      assert.equal(s.health, 'healthy', `${s.id} healthy after the restart`);
      if (s.id === 'spark-worker') assert.notEqual(s.pid, before.get(s.id), 'the worker got a new process');
      else assert.equal(s.pid, before.get(s.id), `${s.id} kept running (same pid)`);
    }
  });

  it('keeps Kafka data across a broker restart', async function () {
    this.timeout(300_000);
    const topic = `durable-${Date.now()}`;
    const values = ['one', 'two', 'three'];
    await produce(backend.endpoints().kafkaBootstrap, topic, values);
    await backend.restart('kafka');
    assert.deepEqual(await consumeAll(backend.endpoints().kafkaBootstrap, topic, values.length), values);
  });

  it('shows a crashed service as exited with its exit code at once (an event), and a restart from another process brings it back', async function () {
    this.timeout(300_000);
    const rec = (await backend.status()).find((s) => s.id === 'spark-worker')!;
    // the worker JVM is the supervisor's child: kill it as a crash would
    const javaPid = backend.pids(['spark-worker']).find((p) => p !== rec.pid && /java/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8')))!;
    assert.ok(javaPid, 'found the worker JVM');
    let changed = 0;
    let changedAt = 0;
    const sub = backend.onDidChange(() => {
      changed++;
      changedAt ||= Date.now();
    });
    try {
      const killedAt = Date.now();
      process.kill(javaPid, 'SIGKILL');
      const crashed = await until('the worker to show as exited', async () => {
        const s = (await backend.status()).find((x) => x.id === 'spark-worker')!;
        return s.state === 'exited' ? s : undefined;
      }, 60_000);
      assert.equal(crashed.exitCode, 137);
      assert.match(crashed.detail ?? '', /exited with code 137/);
      // the backend watches its run records: the supervisor's exit record is an event, not a poll's find
      await until('a change event', async () => (changed > 0 ? true : undefined), 10_000);
      console.log(`      change event ${changedAt - killedAt} ms after the kill`);
      assert.ok(changedAt - killedAt < 2000, `the change event came ${changedAt - killedAt} ms after the kill (the fallback poll is 30 s)`);

      // a restart by someone else on the same state folder (the CLI, another window) is seen too
      changed = 0;
      const other = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir, ports: PORTS });
      await other.restart('spark-worker');
      other.dispose();
      await until('a change event from the other restart', async () => (changed > 0 ? true : undefined), 2000);
    } finally {
      sub.dispose();
    }
    const s = (await backend.status()).find((x) => x.id === 'spark-worker')!;
    assert.equal(`${s.state} ${s.health}`, 'running healthy');
  });

  it('follows a service log', async function () {
    this.timeout(30_000);
    const lines: string[] = [];
    await backend.logs('spark-master', (l) => lines.push(l), { tail: 400 });
    assert.ok(lines.some((l) => /Registering worker/.test(l)), 'the master log shows the worker registering');
    const ac = new AbortController();
    const followed: string[] = [];
    const following = backend.logs('airflow-webserver', (l) => followed.push(l), { follow: true, tail: 0, signal: ac.signal });
    await fetch(`${backend.endpoints().airflowUrl}/health?from-test=1`);
    await until('the followed log to show the request', async () => (followed.some((l) => l.includes('from-test=1')) ? true : undefined), 15_000);
    ac.abort();
    await following;
  });

  it('stop ends every process it started and frees every port; reset then deletes the Kafka data', async function () {
    this.timeout(300_000);
    const pids = backend.pids();
    assert.ok(pids.length >= 5, `recorded process trees (${pids.length} pids)`);
    await backend.stop();
    assert.deepEqual(pids.filter((p) => isAlive(p)), [], 'no process left behind');
    for (const port of Object.values(PORTS)) assert.ok(await canBind(port), `port ${port} is free`);
    assert.deepEqual(
      (await backend.status()).map((s) => s.state),
      ['stopped', 'stopped', 'stopped', 'stopped', 'stopped', 'stopped', 'stopped'],
    );
    assert.ok(fs.existsSync(path.join(stateDir, 'kafka', 'data', 'meta.properties')));
    const pgData = path.join(backend.layout.postgresDir, 'data');
    assert.ok(fs.existsSync(path.join(pgData, 'PG_VERSION')), 'Airflow kept its metadata in the stack\u2019s PostgreSQL');
    await backend.reset();
    assert.ok(!fs.existsSync(path.join(stateDir, 'kafka', 'data')), 'Kafka data deleted');
    assert.ok(!fs.existsSync(pgData), 'the Airflow database (PostgreSQL) deleted');
  });
});

describe('native stack faults', function () {
  it('a service failing during start stops what was started, names the service and shows its log', async function () {
    this.timeout(600_000);
    const stateDir = tmpState('fault');
    // a metadata DB nobody serves: `airflow db migrate` fails after Kafka is already up
    const backend = new NativeBackend({
      stackDir,
      cacheDir: cacheDir(),
      stateDir,
      ports: PORTS,
      groups: ['kafka', 'airflow'],
      airflowSqlAlchemyConn: 'postgresql://airflow:airflow@127.0.0.1:1/airflow',
    });
    try {
      await assert.rejects(backend.start(), (e: unknown) => {
        assert.ok(e instanceof StackError);
        assert.equal(e.service, 'airflow-webserver');
        assert.match(e.message, /airflow db migrate.*failed/);
        assert.ok(e.logTail.some((l) => /Connection refused|could not connect/i.test(l)), `log tail: ${e.logTail.join('\n')}`);
        assert.match(e.nextStep ?? '', /airflow-init\.log/);
        return true;
      });
      assert.deepEqual(backend.pids(), [], 'Kafka, started first, was stopped again');
      assert.ok(await canBind(PORTS.kafka), 'the Kafka port is free again');
      assert.ok(fs.existsSync(path.join(stateDir, 'kafka', 'data', 'meta.properties')), 'Kafka data kept');
    } finally {
      await backend.stop();
      backend.dispose();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('an unreadable secrets.json is never replaced: start refuses, says why and what to do, and starts nothing', async function () {
    this.timeout(120_000);
    const stateDir = tmpState('secrets');
    const file = path.join(stateDir, 'secrets.json');
    fs.writeFileSync(file, '{"kafkaClusterId": "abc", "fernetKey": ');
    const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir, ports: PORTS, groups: ['kafka'] });
    try {
      await assert.rejects(backend.start(), (e: unknown) => {
        assert.ok(e instanceof StackError);
        assert.match(e.message, /secrets\.json cannot be used \(not JSON.*\)\. It holds the Kafka cluster id and the Airflow keys/);
        assert.match(e.nextStep ?? '', /Restore the file.*npm run stack -- reset/);
        return true;
      });
      assert.equal(fs.readFileSync(file, 'utf8'), '{"kafkaClusterId": "abc", "fernetKey": ', 'the file is untouched');
      assert.deepEqual(backend.pids(), []);
    } finally {
      backend.dispose();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('cancelling a start stops what was already started', async function () {
    this.timeout(300_000);
    const stateDir = tmpState('cancel');
    const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir, ports: PORTS, groups: ['kafka', 'spark'] });
    const ac = new AbortController();
    let kafkaPids: number[] = [];
    try {
      await assert.rejects(
        backend.start({
          signal: ac.signal,
          onProgress: (p) => {
            if (p.service === 'spark-master' && /^Starting/.test(p.step)) {
              kafkaPids = backend.pids(['kafka']);
              ac.abort();
            }
          },
        }),
        (e: Error) => e.name === 'AbortError',
      );
      assert.ok(kafkaPids.length > 0, 'Kafka was running when the start was cancelled');
      assert.deepEqual(kafkaPids.filter((p) => isAlive(p)), [], 'Kafka was stopped');
      assert.deepEqual(backend.pids(), []);
      for (const port of Object.values(PORTS)) assert.ok(await canBind(port), `port ${port} is free`);
    } finally {
      await backend.stop();
      backend.dispose();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('says Java is missing and how to install it', async function () {
    const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: tmpState('nojava'), ports: PORTS, env: { PATH: '/nonexistent', HOME: os.homedir() } });
    await assert.rejects(backend.start(), (e: unknown) => {
      assert.ok(e instanceof StackError);
      assert.match(e.message, /Java was not found/);
      assert.match(e.nextStep ?? '', /Java 17 JDK.*apt-get install openjdk-17/);
      return true;
    });
    assert.deepEqual(backend.pids(), []);
    fs.rmSync(backend.layout.stateDir, { recursive: true, force: true });
  });

  it('says the Python is too old and which versions work', async function () {
    const dir = tmpState('oldpython');
    // a real program that is an old Python as far as its --version says
    const fake = path.join(dir, 'python3.6');
    fs.writeFileSync(fake, '#!/bin/sh\necho "Python 3.6.9"\n', { mode: 0o755 });
    const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: dir, ports: PORTS, env: { ...process.env, DATAPIPELINE_PYTHON: fake } });
    await assert.rejects(backend.provision(), (e: unknown) => {
      assert.ok(e instanceof StackError);
      assert.match(e.message, /No supported Python: .*python3\.6 is 3\.6\.9.*3\.9-3\.11/);
      assert.match(e.nextStep ?? '', /Install Python 3\.11/);
      return true;
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a port held by another program, naming its pid and program', async function () {
    this.timeout(60_000);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(24085, '127.0.0.1', r));
    const stateDir = tmpState('portheld');
    const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir, ports: PORTS, groups: ['airflow'] });
    try {
      await assert.rejects(backend.start(), (e: unknown) => {
        assert.ok(e instanceof StackError);
        assert.match(e.message, new RegExp(`Port 24085 \\(Airflow UI\\) is in use by pid ${process.pid} \\(node`));
        assert.equal(e.service, 'airflow-webserver');
        // the next step names the ways to move the stack's ports
        assert.match(e.nextStep ?? '', /npm run stack -- up --ports kafka=19092,airflow=18085.*datapipeline\.stack\.nativePorts/);
        return true;
      });
      assert.deepEqual(backend.pids(), []);
    } finally {
      server.close();
      backend.dispose();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
