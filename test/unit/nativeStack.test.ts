import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatError, parseArgs } from '../../src/cli/stack';
import { ProcessStore, RunRecord } from '../../src/services/stack/native/processes';
import { bootId, cmdline, isAlive, readStat } from '../../src/services/util/procfs';
import { withStateLock } from '../../src/services/stack/native/stateLock';
import { StackError } from '../../src/services/stack/types';
import { until } from '../lib/until';

describe('native stack CLI arguments', function () {
  it('reads the command, a service, -f and --tail', function () {
    const a = parseArgs(['logs', 'kafka', '-f', '--tail', '20'], {});
    assert.equal(a.command, 'logs');
    assert.deepEqual(a.positional, ['kafka']);
    assert.equal(a.follow, true);
    assert.equal(a.tail, 20);
    assert.deepEqual(a.services, ['kafka', 'spark', 'airflow']);
  });

  it('limits the services from --services or DATAPIPELINE_TEST_SERVICES, in start order', function () {
    assert.deepEqual(parseArgs(['up', '--services', 'airflow,kafka'], {}).services, ['kafka', 'airflow']);
    assert.deepEqual(parseArgs(['up'], { DATAPIPELINE_TEST_SERVICES: 'spark' }).services, ['spark']);
    assert.deepEqual(parseArgs(['up', '--services=kafka'], { DATAPIPELINE_TEST_SERVICES: 'spark' }).services, ['kafka']);
  });

  it('picks the backend from --backend or DATAPIPELINE_BACKEND, native by default', function () {
    assert.equal(parseArgs(['up'], {}).backend, 'native');
    assert.equal(parseArgs(['up'], { DATAPIPELINE_BACKEND: 'auto' }).backend, 'auto');
    assert.equal(parseArgs(['up', '--backend', 'docker'], { DATAPIPELINE_BACKEND: 'auto' }).backend, 'docker');
    assert.throws(() => parseArgs(['up', '--backend=podman'], {}), /Unknown backend "podman": use native, docker or auto/);
  });

  it('moves ports with --ports or DATAPIPELINE_PORTS, and names the valid port names when one is wrong', function () {
    assert.deepEqual(parseArgs(['up', '--ports', 'kafka=19092,airflow=18085'], {}).ports, { kafka: 19092, airflow: 18085 });
    assert.deepEqual(parseArgs(['up'], { DATAPIPELINE_PORTS: 'sparkMasterUi=18080' }).ports, { sparkMasterUi: 18080 });
    assert.deepEqual(parseArgs(['up', '--ports=kafka=29092'], { DATAPIPELINE_PORTS: 'kafka=1' }).ports, { kafka: 29092 });
    assert.deepEqual(parseArgs(['status'], {}).ports, {});
    assert.throws(() => parseArgs(['up', '--ports', 'broker=19092'], {}), /"broker=19092" is not a port setting\. Use name=port with names kafka, kafkaController, sparkMaster, sparkMasterUi, sparkWorkerUi, lineage, postgres, airflow/);
  });

  it('rejects unknown options, groups and bad --tail values', function () {
    assert.throws(() => parseArgs(['up', '--bogus'], {}), /Unknown option --bogus/);
    assert.throws(() => parseArgs(['up', '--services', 'kafka,hive'], {}), /Unknown service group "hive"/);
    assert.throws(() => parseArgs(['logs', 'kafka', '--tail', 'x'], {}), /--tail needs a number/);
  });

  it('prints what happened, the next step and the log tail of a StackError', function () {
    const text = formatError(new StackError('Kafka broker (KRaft) exited during start with code 1.', { service: 'kafka', nextStep: 'Read the log.', logTail: ['line a', 'line b'] }));
    assert.equal(text, ['Error: Kafka broker (KRaft) exited during start with code 1.', 'Next step: Read the log.', 'Last log lines of kafka:', '  line a', '  line b'].join('\n'));
  });
});

describe('native stack state lock', function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs one holder at a time and releases the lock after an error', async function () {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = withStateLock(dir, 'first', async () => {
      order.push('first in');
      await held; // until the second holder is waiting for the lock
      order.push('first out');
      throw new Error('boom');
    });
    await until('the first holder in', () => order.includes('first in'), 5000);
    let waitedFor = '';
    const second = withStateLock(dir, 'second', async () => order.push('second'), {
      onWait: (o) => {
        waitedFor = o;
        release();
      },
    });
    const [a, b] = await Promise.allSettled([slow, second]);
    assert.match(String((a as PromiseRejectedResult).reason), /boom/);
    assert.equal(b.status, 'fulfilled');
    assert.deepEqual(order, ['first in', 'first out', 'second']);
    assert.match(waitedFor, new RegExp(`pid ${process.pid} \\(first\\)`));
    assert.ok(!fs.existsSync(path.join(dir, 'lock')));
  });

  it('takes over a lock whose owner is gone', async function () {
    fs.mkdirSync(path.join(dir, 'lock'));
    // pid 2^22 + 1 is above Linux's pid_max: that process cannot exist
    fs.writeFileSync(path.join(dir, 'lock', 'owner.json'), JSON.stringify({ pid: 4194305, startTime: 1, what: 'crashed run' }));
    assert.equal(await withStateLock(dir, 'me', async () => 'ran', { timeoutMs: 2000 }), 'ran');
  });

  it('lets exactly one of several processes take over a stale lock at once; the others wait their turn', async function () {
    this.timeout(120_000);
    const contenders = 6;
    for (let round = 0; round < 2; round++) {
      const runDir = path.join(dir, `round${round}`);
      fs.mkdirSync(path.join(runDir, 'lock'), { recursive: true });
      fs.writeFileSync(path.join(runDir, 'lock', 'owner.json'), JSON.stringify({ pid: 4194305, startTime: 1, what: 'crashed run' }));
      const journal = path.join(runDir, 'journal');
      const startAt = Date.now() + 4000;
      const tsx = path.resolve('node_modules/.bin/tsx');
      const runs = Array.from({ length: contenders }, () =>
        new Promise<number>((resolve) => {
          const p = spawn(tsx, [path.resolve('test/fixtures/node/lockContender.ts'), runDir, String(startAt), journal], { stdio: ['ignore', 'ignore', 'inherit'] });
          p.on('exit', (code) => resolve(code ?? -1));
        }),
      );
      assert.deepEqual(await Promise.all(runs), Array(contenders).fill(0), 'every contender finished');
      const lines = fs.readFileSync(journal, 'utf8').trim().split('\n');
      assert.equal(lines.length, contenders * 2);
      for (let i = 0; i < lines.length; i += 2) {
        const [inWord, pid] = lines[i].split(' ');
        assert.equal(inWord, 'in', `round ${round}: two holders at once: ${lines.join(', ')}`);
        assert.equal(lines[i + 1], `out ${pid}`, `round ${round}: two holders at once: ${lines.join(', ')}`);
      }
      assert.ok(!fs.existsSync(path.join(runDir, 'lock')), 'the lock is released at the end');
    }
  });
});

describe('native stack process records', function () {
  this.timeout(60_000);
  let dir: string;
  let store: ProcessStore;
  const strangers: ChildProcess[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-procs-'));
    store = new ProcessStore(path.join(dir, 'run'), path.join(dir, 'logs'));
  });
  afterEach(() => {
    for (const p of strangers.splice(0)) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An unrelated program in its own process group, as another user's program would be. */
  /** An unrelated program (`sleep 300`), once it runs as itself (its exec done). */
  async function stranger(): Promise<ChildProcess> {
    const p = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    strangers.push(p);
    await until('the stranger to run', () => cmdline(p.pid!)[0] === 'sleep', { timeoutMs: 5000, intervalMs: 10 });
    return p;
  }

  function writeRecord(rec: Partial<RunRecord>): void {
    fs.mkdirSync(store.runDir, { recursive: true });
    const full: RunRecord = { service: 'kafka', pid: 4194305, pgid: 4194305, startTime: 1, startedAt: new Date().toISOString(), argv: ['java'], log: store.logPath('kafka'), ...rec };
    fs.writeFileSync(store.recordPath('kafka'), JSON.stringify(full));
  }

  it('a service started through a chain of execs (a pyenv shim: bash, then python) is the stack’s own from its first moment', async function () {
    // while a process execs, /proc/<pid>/environ reads empty for a moment: that must never make
    // Start Stack report "exited during start" (it did, on a loaded machine, for the Spark worker)
    const shim = path.join(dir, 'python3');
    fs.writeFileSync(shim, '#!/usr/bin/env bash\nexec bash -c \'exec python3 "$@"\' shim "$@"\n', { mode: 0o755 });
    const supervisor = path.resolve('stack/native/supervise.py');
    let missed = 0;
    for (let i = 0; i < 40; i++) {
      store.start('spark-worker', shim, supervisor, ['sleep', '30'], { env: process.env, cwd: dir });
      for (let k = 0; k < 5; k++) if (!store.alive('spark-worker')) missed++;
      await store.stop('spark-worker', 0);
    }
    assert.equal(missed, 0, 'a live service read as not alive');
  });

  it('a stale record whose process group now belongs to another program leaves that program alone, drops the record and says so', async function () {
    const other = await stranger();
    writeRecord({ pgid: other.pid!, runId: randomUUID(), bootId: bootId() });
    const r = await store.stop('kafka', 2000);
    assert.ok(isAlive(other.pid!), 'the unrelated sleep is still running');
    assert.equal(r.signalled, 0);
    assert.match(r.note ?? '', new RegExp(`stale.*pid ${other.pid} \\(sleep\\).*left alone`));
    assert.equal(store.read('kafka'), undefined, 'the record is dropped');
  });

  it('a record from before run ids only ever matches the supervisor itself: a reused pid with the same start time is not signalled', async function () {
    const other = await stranger();
    writeRecord({ pid: other.pid!, pgid: other.pid!, startTime: readStat(other.pid!)!.startTime });
    assert.equal(store.alive('kafka'), undefined, 'sleep is not our supervisor');
    await store.stop('kafka', 2000);
    assert.ok(isAlive(other.pid!), 'the unrelated sleep is still running');
  });

  it('after a supervisor crash, stop still ends the children it left behind (and only them), even with the logs folder gone', async function () {
    const other = await stranger();
    const supervisor = path.resolve('stack/native/supervise.py');
    // the "service" starts a child of its own, as Spark's worker starts executors
    const prog = ['python3', '-c', 'import subprocess,time; subprocess.Popen(["sleep","300"]); time.sleep(300)'];
    const { record } = store.start('kafka', 'python3', supervisor, prog, { env: process.env, cwd: dir });
    // python3 may be a pyenv shim (bash and its subshells before the exec): wait for the grandchild
    // itself, so the tree counted is supervisor, program and child, not a shim still starting
    let tree: number[] = [];
    const hasChild = (pids: number[]) => pids.some((p) => cmdline(p).join(' ') === 'sleep 300');
    await until('supervisor, program and its child', () => {
      tree = store.pids('kafka');
      return tree.length === 3 && hasChild(tree);
    }, { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
    assert.ok(hasChild(tree), `the program's child runs: ${tree.map((p) => cmdline(p).join(' ')).join(' | ')}`);
    assert.equal(tree.length, 3, `supervisor, program and its child: ${tree.map((p) => cmdline(p).join(' ')).join(' | ')}`);
    process.kill(record.pid, 'SIGKILL');
    await until('the supervisor to be gone', () => store.alive('kafka') === undefined, { timeoutMs: 5000, intervalMs: 20 });
    const left = store.pids('kafka');
    assert.equal(left.length, 2, 'program and child linger');
    fs.rmSync(store.logsDir, { recursive: true, force: true });
    const r = await store.stop('kafka', 3000);
    assert.equal(r.signalled, 2);
    for (const p of left) assert.ok(!isAlive(p), `pid ${p} was stopped`);
    assert.ok(isAlive(other.pid!), 'the unrelated program is untouched');
    assert.equal(store.read('kafka'), undefined);
  });
});

describe('native stack secrets and state are the user\'s alone', function () {
  const { stackSecrets } = require('../../src/services/stack/native/secrets') as typeof import('../../src/services/stack/native/secrets');
  const mode = (p: string) => fs.statSync(p).mode & 0o777;

  it('the state folder is 0700 and secrets.json 0600, written atomically, also when they were made looser before', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-secrets-'));
    try {
      const state = path.join(dir, 'state');
      const first = stackSecrets(state);
      assert.equal(mode(state), 0o700);
      assert.equal(mode(path.join(state, 'secrets.json')), 0o600);
      assert.deepEqual(fs.readdirSync(state), ['secrets.json'], 'no temp file left');
      // an older version's folder and file, readable by everyone
      fs.chmodSync(state, 0o755);
      fs.chmodSync(path.join(state, 'secrets.json'), 0o644);
      assert.deepEqual(stackSecrets(state), first, 'the same secrets');
      assert.equal(mode(state), 0o700);
      assert.equal(mode(path.join(state, 'secrets.json')), 0o600);
      // a file from before the stack had its own PostgreSQL is completed, and stays 0600
      const { postgresPassword: _, ...old } = first;
      fs.writeFileSync(path.join(state, 'secrets.json'), JSON.stringify(old), { mode: 0o644 });
      const completed = stackSecrets(state);
      assert.ok(completed.postgresPassword && completed.secretKey === first.secretKey);
      assert.equal(mode(path.join(state, 'secrets.json')), 0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run stack -- set-password', function () {
  this.timeout(60_000);
  it('reads the password from standard input into the state folder (0600); an empty one is refused and nothing changes', () => {
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const { stackAirflowPassword } = require('../../src/services/stack/airflowPassword') as typeof import('../../src/services/stack/airflowPassword');
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cli-pw-'));
    const cli = (input: string) =>
      spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, '../../src/cli/stack.ts'), 'set-password'], { input, encoding: 'utf8', env: { ...process.env, DATAPIPELINE_STATE: state } });
    try {
      const ok = cli('s3cret with spaces\n');
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stderr, /applies when Airflow next starts/);
      assert.equal(stackAirflowPassword(state), 's3cret with spaces');
      assert.equal(fs.statSync(path.join(state, 'airflow-admin-password')).mode & 0o777, 0o600);
      const empty = cli('\n');
      assert.equal(empty.status, 1);
      assert.match(empty.stderr, /The password is empty\. Nothing was changed\./);
      assert.equal(stackAirflowPassword(state), 's3cret with spaces');
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
