import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContainerSummary } from '../../src/services/docker/client';
import { classifyDockerError } from '../../src/services/docker/client';
import type { ComposeService } from '../../src/services/docker/composeFile';
import {
  composeProgressStep,
  findPullFailure,
  buildStep,
  findUnhealthyDependency,
  shortInstruction,
  serviceFailure,
  serviceReady,
  toServiceStatus,
  scaleVariables,
  AIRFLOW_PROFILE,
} from '../../src/services/stack/docker/dockerBackend';
import { loadComposeModel } from '../../src/services/docker/composeFile';
import { runnableWithout } from '../../src/services/stack/docker/startSet';
import { tarFiles } from '../../src/services/stack/docker/tar';
import { summarize } from '../../src/services/stack/statusModel';

const svc = (over: Partial<ComposeService> = {}): ComposeService => ({
  name: 'web',
  dependsOn: [],
  ports: [],
  oneShot: false,
  hasHealthcheck: true,
  built: false,
  profiles: [],
  labels: {},
  ...over,
});
const ctr = (over: Partial<ContainerSummary> = {}): ContainerSummary => ({
  id: 'abc',
  name: 'dp-web-1',
  service: 'web',
  state: 'running',
  health: 'healthy',
  ports: [],
  restarting: false,
  number: 1,
  ...over,
});

describe('docker backend: pure logic', () => {
  it('an image that cannot be pulled: the services that can run without it, and why each other one cannot (its image, or what it needs, transitively)', () => {
    const services = [
      svc({ name: 'postgres', image: 'postgres:13' }),
      svc({ name: 'airflow', image: 'apache/airflow:2.8.1', dependsOn: ['postgres'] }),
      svc({ name: 'worker', image: 'apache/airflow:2.8.1', dependsOn: ['airflow'] }),
      svc({ name: 'metabase', image: 'metabase/metabase:v0.49.0' }),
      svc({ name: 'api', image: 'orders/api:dev', built: true, dependsOn: ['metabase'] }),
      svc({ name: 'loop-a', image: 'x:1', dependsOn: ['loop-b'] }),
      svc({ name: 'loop-b', image: 'x:1', dependsOn: ['loop-a'] }),
    ];
    const r = runnableWithout(services, new Set(['metabase/metabase:v0.49.0', 'postgres:13']));
    assert.deepEqual(r.run.map((x) => x.name), ['loop-a', 'loop-b']);
    assert.deepEqual(r.left, [
      { service: 'postgres', why: 'image postgres:13 cannot be pulled' },
      { service: 'airflow', why: 'needs postgres' },
      { service: 'worker', why: 'needs airflow' },
      { service: 'metabase', why: 'image metabase/metabase:v0.49.0 cannot be pulled' },
      { service: 'api', why: 'needs metabase' },
    ]);
    assert.deepEqual(runnableWithout(services, new Set()).left, []);
  });

  it('recognises an image that cannot be pulled in compose v1 and v2 output', () => {
    const v1 = 'Pulling unpullable (datapipeline-fixture/never:0.0.1)...\nERROR: pull access denied for datapipeline-fixture/never, repository does not exist or may require \'docker login\'';
    const hit = findPullFailure(v1);
    assert.ok(hit);
    assert.equal(hit.image, 'datapipeline-fixture/never');
    const v2 = ' kafka-ui Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: Temporary failure in name resolution';
    assert.ok(findPullFailure(v2));
    assert.equal(findPullFailure('Creating dp_web_1 ... done\nERROR: for web  Container "1234" is unhealthy.'), undefined);
  });

  it('turns compose up output (v1 and v2) into progress steps and drops the noise', () => {
    assert.equal(composeProgressStep('Creating dpfixture_web_1 ... done'), 'Creating dpfixture_web_1');
    assert.equal(composeProgressStep('Creating dpfixture_web_1 ... '), 'Creating dpfixture_web_1');
    assert.equal(composeProgressStep(' Container dpfixture-web-1  Started'), 'Started dpfixture-web-1');
    assert.equal(composeProgressStep(' Container dpfixture-init-1  Waiting'), 'Waiting dpfixture-init-1');
    assert.equal(composeProgressStep('Pulling broker (apache/kafka:3.9.1)...'), 'Pulling broker (apache/kafka:3.9.1)...');
    assert.equal(composeProgressStep(' broker Pulling '), 'Pulling');
    assert.equal(composeProgressStep('Building airflow-init'), 'Building airflow-init');
    assert.equal(composeProgressStep(' Network dp_default  Created'), undefined);
    assert.equal(composeProgressStep('#5 [internal] load metadata'), undefined);
  });

  it('finds the service behind "is unhealthy" / "didn\'t complete successfully"', () => {
    const names = ['postgres', 'airflow-init', 'airflow-webserver'];
    assert.equal(findUnhealthyDependency('ERROR: for airflow-webserver  Container "ab12" is unhealthy.', names), 'airflow-webserver');
    assert.equal(findUnhealthyDependency('dependency failed to start: container datapipeline-postgres-1 is unhealthy', names), 'postgres');
    assert.equal(findUnhealthyDependency('service "airflow-init" didn\'t complete successfully: exit 1', names), 'airflow-init');
    assert.equal(findUnhealthyDependency('Creating network', names), undefined);
  });

  it('decides when a service is ready, and when it can no longer become ready', () => {
    assert.equal(serviceReady(svc(), ctr()), true);
    assert.equal(serviceReady(svc(), ctr({ health: 'starting' })), false);
    assert.equal(serviceReady(svc({ hasHealthcheck: false }), ctr({ health: 'none' })), true);
    assert.equal(serviceReady(svc(), undefined), false);
    assert.equal(serviceReady(svc({ oneShot: true }), ctr({ state: 'exited', exitCode: 0, health: 'none' })), true);
    assert.equal(serviceReady(svc({ oneShot: true }), ctr({ state: 'running', health: 'none' })), false);
    assert.equal(serviceFailure(svc(), ctr({ state: 'exited', exitCode: 3 })), 'exited with code 3');
    assert.equal(serviceFailure(svc(), ctr({ health: 'unhealthy', healthOutput: 'first\nconnection refused' })), 'is unhealthy (health check: connection refused)');
    assert.equal(serviceFailure(svc({ oneShot: true }), ctr({ state: 'exited', exitCode: 0 })), undefined);
    assert.equal(serviceFailure(svc({ oneShot: true }), ctr({ state: 'exited', exitCode: 1 })), 'exited with code 1');
    assert.equal(serviceFailure(svc(), ctr({ health: 'starting' })), undefined);
  });

  it('maps containers to the view\'s status: state, health, detail, ports with URLs', () => {
    const s = svc({ labels: { 'datapipeline.label': 'Airflow webserver' }, ports: [{ host: '127.0.0.1', port: 8085, containerPort: 8080, name: 'Airflow UI', http: true }] });
    assert.deepEqual(toServiceStatus(s, undefined), {
      id: 'web',
      label: 'Airflow webserver',
      state: 'stopped',
      health: 'none',
      ports: [{ name: 'Airflow UI', host: '127.0.0.1', port: 8085, url: 'http://127.0.0.1:8085' }],
      detail: 'not created',
    });
    assert.equal(toServiceStatus(s, ctr({ health: 'starting' })).state, 'starting');
    assert.equal(toServiceStatus(s, ctr({ health: 'unhealthy', healthOutput: 'HTTP 500' })).detail, 'unhealthy: HTTP 500');
    assert.equal(toServiceStatus(svc({ oneShot: true }), ctr({ state: 'exited', exitCode: 0 })).detail, 'completed');
    assert.equal(toServiceStatus(svc(), ctr({ state: 'exited', exitCode: 137 })).detail, 'exited with code 137');
    assert.equal(toServiceStatus(svc({ ports: [{ host: '0.0.0.0', port: 9092, containerPort: 9092 }] }), ctr()).ports[0].name, 'port 9092');
    assert.equal(toServiceStatus(svc(), ctr(), 'kafka').id, 'kafka');
  });

  it('classifies daemon connection faults with the next step', () => {
    const down = classifyDockerError(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }), 'unix:///var/run/docker.sock');
    assert.equal(down.reason, 'daemon-down');
    assert.match(down.nextStep, /Start Docker/);
    const perm = classifyDockerError(Object.assign(new Error('connect EACCES'), { code: 'EACCES' }), 'unix:///var/run/docker.sock');
    assert.equal(perm.reason, 'permission');
    assert.match(perm.message, /Permission denied on the Docker socket/);
    assert.match(perm.nextStep, /docker" group/);
  });

  it('writes a tar archive that tar itself lists and extracts (file + parent folders)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-tar-'));
    const archive = path.join(dir, 'a.tar');
    fs.writeFileSync(archive, tarFiles([{ path: 'datapipeline-submit/0123456789ab/job.py', content: 'print("hi")\n' }], 1_700_000_000));
    const list = spawnSync('tar', ['-tf', archive], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n'), ['datapipeline-submit/', 'datapipeline-submit/0123456789ab/', 'datapipeline-submit/0123456789ab/job.py']);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    assert.equal(spawnSync('tar', ['-xf', archive, '-C', out]).status, 0);
    assert.equal(fs.readFileSync(path.join(out, 'datapipeline-submit/0123456789ab/job.py'), 'utf8'), 'print("hi")\n');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the build step from classic and BuildKit output, and shortens the instruction', () => {
    assert.deepEqual(buildStep('Step 7/19 : RUN set -eux;     python3 -m venv /opt/airflow-venv'), { step: 7, total: 19, instruction: 'RUN set -eux;     python3 -m venv /opt/airflow-venv' });
    assert.deepEqual(buildStep('#12 [airflow java 2/3] RUN set -eux; apt-get update'), { step: 2, total: 3, instruction: 'RUN set -eux; apt-get update', stage: 'java' });
    assert.deepEqual(buildStep(' => [spark-master jars 1/3] COPY versions/spark-kafka-pom.xml /build/   0.1s'), { step: 1, total: 3, instruction: 'COPY versions/spark-kafka-pom.xml /build/', stage: 'jars' });
    assert.equal(buildStep(' ---> Running in 5c1d2e3f'), undefined);
    assert.equal(buildStep('Successfully tagged datapipeline/kafka:4.0.0'), undefined);
    assert.equal(shortInstruction('RUN set -eux; \\\n    apt-get update; \\\n    apt-get install -y maven'), 'RUN apt-get update; apt-get install -y maven');
    assert.equal(shortInstruction('RUN ' + 'x'.repeat(100), 20), `RUN ${'x'.repeat(15)}…`);
  });

  it('an optional service that is not running (Kafka UI without its image) is not counted as missing', () => {
    const st = (id: string, state: 'running' | 'stopped', optional = false) => ({ id, label: id, state, health: 'healthy' as const, ports: [], optional });
    assert.equal(summarize([st('kafka', 'running'), st('spark-master', 'running'), st('kafka-ui', 'stopped', true)]).text, '2/2 running');
    assert.equal(summarize([st('kafka', 'running'), st('kafka-ui', 'running', true)]).text, '2/2 running');
    assert.equal(summarize([st('kafka', 'running'), st('spark-master', 'stopped')]).text, '1/2 running');
  });
});

describe('the bundled compose stack scaled', () => {
  it('3 brokers: the quorum of three, replication factor 3, the cluster\u2019s own volume and the DAGs\u2019 bootstrap list; 1 broker: the file\u2019s defaults', () => {
    assert.deepEqual(scaleVariables({ kafkaBrokers: 1, sparkWorkers: 3 }), {});
    const v = scaleVariables({ kafkaBrokers: 3, sparkWorkers: 1 });
    assert.equal(v.KAFKA_QUORUM_VOTERS, '1@broker:9093,2@broker-2:9093,3@broker-3:9093');
    assert.equal(v.KAFKA_REPLICATION_FACTOR, '3');
    assert.equal(v.KAFKA_MIN_ISR, '2');
    assert.equal(v.KAFKA_DATA_VOLUME, 'kafka-cluster-1');
    assert.equal(v.KAFKA_BOOTSTRAP_SERVERS, 'broker:19092,broker-2:19092,broker-3:19092');
  });

  it('brokers 2 and 3 are in the kafka-cluster profile, published on 127.0.0.1 only, and read the scale\u2019s variables', () => {
    const stack = path.join(__dirname, '..', '..', 'stack');
    const single = loadComposeModel(stack, undefined, {});
    const b2 = single.services.find((s) => s.name === 'broker-2')!;
    assert.deepEqual(b2.profiles, ['kafka-cluster']);
    assert.deepEqual(b2.ports.map((p) => [p.host, p.port]), [['127.0.0.1', 9094]]);
    assert.equal(single.services.find((s) => s.name === 'broker-3')!.ports[0].port, 9096);
    const env = (m: typeof single, name: string) => ((m.raw.services as Record<string, { environment: Record<string, unknown> }>)[name].environment);
    assert.equal(env(single, 'broker').KAFKA_CONTROLLER_QUORUM_VOTERS, '1@broker:9093');
    const cluster = loadComposeModel(stack, undefined, scaleVariables({ kafkaBrokers: 3, sparkWorkers: 1 }));
    assert.equal(env(cluster, 'broker-3').KAFKA_CONTROLLER_QUORUM_VOTERS, '1@broker:9093,2@broker-2:9093,3@broker-3:9093');
    assert.equal(env(cluster, 'broker-3').KAFKA_NODE_ID, 3);
    assert.equal(env(cluster, 'broker').KAFKA_DEFAULT_REPLICATION_FACTOR, '3');
  });
});

describe('the bundled compose stack with Airflow 2.8.1 or 3', () => {
  const stack = path.join(__dirname, '..', '..', 'stack');
  const model = loadComposeModel(stack, undefined, {});
  const env = (name: string) => (model.raw.services as Record<string, { environment: Record<string, unknown> }>)[name].environment;

  it('2.8.1\u2019s services are profile airflow2 (the default of .env), 3\u2019s profile airflow3; both publish the Airflow port on 127.0.0.1 only', () => {
    assert.match(fs.readFileSync(path.join(stack, '.env'), 'utf8'), /^COMPOSE_PROFILES=airflow2$/m, '`docker compose up` by hand runs 2.8.1');
    const byProfile = (p: string) => model.services.filter((s) => s.profiles.includes(p)).map((s) => s.name);
    assert.deepEqual(byProfile(AIRFLOW_PROFILE[2]), ['lineage', 'airflow-init', 'airflow-webserver', 'airflow-scheduler']);
    assert.deepEqual(byProfile(AIRFLOW_PROFILE[3]), ['lineage3', 'airflow3-init', 'airflow-api-server', 'airflow3-scheduler', 'airflow-dag-processor', 'airflow-triggerer']);
    const published = (name: string) => model.services.find((s) => s.name === name)!.ports.map((p) => [p.host, p.port]);
    assert.deepEqual(published('airflow-webserver'), [['127.0.0.1', 8085]]);
    assert.deepEqual(published('airflow-api-server'), [['127.0.0.1', 8085]]);
    // the view ids of both Airflows' schedulers and inits are the same (airflow-scheduler, airflow-init)
    assert.equal(model.services.find((s) => s.name === 'airflow3-scheduler')!.labels['datapipeline.id'], 'airflow-scheduler');
    assert.equal(model.services.find((s) => s.name === 'airflow3-init')!.labels['datapipeline.id'], 'airflow-init');
  });

  it('Airflow 3 has its own image and database, one JWT secret for every component, and tasks reach its execution API by service name', () => {
    assert.equal(model.services.find((s) => s.name === 'airflow-api-server')!.image, `datapipeline/airflow:${model.env.AIRFLOW3_VERSION}`);
    assert.equal(model.services.find((s) => s.name === 'airflow-webserver')!.image, `datapipeline/airflow:${model.env.AIRFLOW_VERSION}`);
    assert.match(String(env('airflow-webserver').AIRFLOW__DATABASE__SQL_ALCHEMY_CONN), /@postgres:5432\/airflow$/);
    for (const name of ['airflow3-init', 'airflow-api-server', 'airflow3-scheduler', 'airflow-dag-processor', 'airflow-triggerer']) {
      assert.match(String(env(name).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN), /@postgres:5432\/airflow3$/, name);
      assert.equal(env(name).AIRFLOW__API_AUTH__JWT_SECRET, env('airflow-api-server').AIRFLOW__API_AUTH__JWT_SECRET, name);
      assert.equal(env(name).AIRFLOW__CORE__EXECUTION_API_SERVER_URL, 'http://airflow-api-server:8080/execution/', name);
      assert.equal(env(name).KAFKA_BOOTSTRAP_SERVERS, 'broker:19092', `${name} gets the DAGs' environment`);
      assert.equal(env(name).AIRFLOW__API__AUTH_BACKENDS, undefined, `${name}: no Airflow 2 auth backends`);
    }
  });
});

describe('compose output is kept bounded', () => {
  it('a command that prints 24 MB keeps the last 1 MB of it (the end of a long build log), saying what was dropped', async () => {
    const { run } = require('../../src/services/docker/compose') as typeof import('../../src/services/docker/compose');
    const script = "const line = 'x'.repeat(1023) + '\\n'; for (let i = 0; i < 24 * 1024; i++) process.stdout.write(line); process.stdout.write('the last line\\n')";
    const lines: string[] = [];
    const r = await run([process.execPath, '-e', script], { maxOutputBytes: 1024 * 1024, onLine: (l) => lines.length < 3 && lines.push(l) });
    assert.equal(r.code, 0);
    assert.ok(r.stdout.length < 1.1 * 1024 * 1024, `${r.stdout.length} characters kept`);
    assert.match(r.stdout, /^\[… \d+ characters of output dropped …\]\n/);
    assert.ok(r.stdout.endsWith('the last line\n'));
    assert.equal(lines.length, 3, 'every line still reaches onLine as it comes');
  });
});

describe('a Docker daemon that accepts and never answers', () => {
  it('status fails within the timeout saying the daemon does not answer, and so does the probe; nothing hangs', async () => {
    const net = require('node:net') as typeof import('node:net');
    const { DockerBackend } = require('../../src/services/stack/docker/dockerBackend') as typeof import('../../src/services/stack/docker/dockerBackend');
    const { pingDocker, createDocker } = require('../../src/services/docker/client') as typeof import('../../src/services/docker/client');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-hung-'));
    const sock = path.join(dir, 'docker.sock');
    const held: import('node:net').Socket[] = [];
    const server = net.createServer((c) => void held.push(c)); // reads the request, answers nothing
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
      const backend = new DockerBackend({ stackDir: path.join(__dirname, '../../stack'), env, dockerTimeoutMs: 500 });
      const t0 = Date.now();
      await assert.rejects(backend.status(), (e: Error) => /The Docker daemon at unix:\/\/.*docker\.sock does not answer \(no reply to the list of project datapipeline's containers in 0\.5 s\)/.test(e.message));
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      const t1 = Date.now();
      await assert.rejects(pingDocker(createDocker(env), 400), /does not answer \(no reply to a ping in 0\.4 s\)/);
      assert.ok(Date.now() - t1 < 3000);
      assert.ok(held.length >= 2, 'the requests reached the socket');
    } finally {
      for (const c of held) c.destroy();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
