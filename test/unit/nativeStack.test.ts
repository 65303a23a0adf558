import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatError, parseArgs } from '../../src/cli/stack';
import { withStateLock } from '../../src/services/stack/native/stateLock';
import { StackError } from '../../src/services/stack/types';

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
    assert.throws(() => parseArgs(['up', '--ports', 'broker=19092'], {}), /"broker=19092" is not a port setting\. Use name=port with names kafka, kafkaController, sparkMaster, sparkMasterUi, sparkWorkerUi, airflow/);
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
    const slow = withStateLock(dir, 'first', async () => {
      await new Promise((r) => setTimeout(r, 0));
      order.push('first in');
      await new Promise((r) => setTimeout(r, 300));
      order.push('first out');
      throw new Error('boom');
    });
    await new Promise((r) => setTimeout(r, 50));
    let waitedFor = '';
    const second = withStateLock(dir, 'second', async () => order.push('second'), { onWait: (o) => (waitedFor = o) });
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
});
