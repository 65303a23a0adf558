/**
 * The bundled compose stack (stack/) built and run for real on the dockerd the harness starts:
 * every image built by the project's Dockerfiles from a debian:bookworm-slim made here with
 * debootstrap, Compose v2, the project's own bridge network (containers talk by service name; the
 * host only through ports published on 127.0.0.1), the streaming DAG through the extension's
 * Airflow client, Submit Spark Job by exec in spark-master, the broker's data across a restart,
 * files written into the workspace owned by its owner, the scaled cluster, Airflow 3 in place of
 * 2.8.1 and back, Stop and Reset.
 *
 * It runs from a copy of stack/ owned by a non-root uid (as a user's workspace is), on ports moved
 * off the defaults (so a native stack may run beside it), with the host's CA bundle as the extra
 * CA the images trust (this machine's TLS-intercepting proxy; users behind one do the same).
 */
import { exerciseSaveSeen } from '../integration/lib/saveSeen';
import { exerciseTaskRuns } from '../integration/lib/taskRuns';
import { exerciseDebugTask } from '../integration/lib/debugTask';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../../src/services/airflow/client';
import { followRun, STREAMING_DAG_ID, STREAMING_TASK_ORDER, triggerStreaming } from '../../src/services/airflow/streamingRun';
import { createDocker, execInContainer } from '../../src/services/docker/client';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { parseDotEnv } from '../../src/services/docker/composeFile';
import { DockerBackend } from '../../src/services/stack/docker/dockerBackend';
import { setStackAirflowPassword } from '../../src/services/stack/airflowPassword';
import { StackStatusModel, summarize } from '../../src/services/stack/statusModel';
import type { StackProgress } from '../../src/services/stack/types';
import { SparkJob } from '../../src/services/spark/sparkJob';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { findStreamingQueries, queryLag } from '../../src/services/spark/streaming';
import { until } from '../lib/until';
import { finalAppState } from '../lib/sparkApps';
import { ADULTS, runOutputPeople } from '../lib/streamingOutput';
import { ensureBaseImage, removeProject } from './harness';
import { detectProject } from '../../src/services/project/detect';
import { dockerStackFor } from '../../src/services/project/whichStack';
import { getConnection } from '../../src/services/airflow/airflowObjects';
import { collectRunTrace } from '../../src/services/airflow/runTrace';
import { LineageFeed } from '../../src/services/lineage/openlineage';
import { addWarehouse, xcomAndLineageRanges } from '../integration/lib/lineageTrace';

const REPO_STACK = path.join(__dirname, '..', '..', 'stack');
const ROOT_LAYOUT = path.join(__dirname, '..', 'fixtures', 'projects', 'root-layout');
const PROJECT = 'datapipeline-it';
const TEAM_STACK = path.join(__dirname, 'fixture', 'team-stack');
const TEAM_PROJECT = 'dp-team-it';
const OWNER = 4321;
/** the local Airflow password the user set (DataPipeline: Set Local Airflow Password): both Airflows' admin gets it */
const AIRFLOW_PASSWORD = 'Lo cal "pässwörd" 1';
const PORTS = { KAFKA_PORT: '22092', KAFKA_PORT_2: '22094', KAFKA_PORT_3: '22096', SPARK_MASTER_PORT: '22077', SPARK_MASTER_UI_PORT: '22080', AIRFLOW_PORT: '22085', KAFKA_UI_PORT: '22090', LINEAGE_PORT: '22055', AIRFLOW_DEBUG_PORT: '22079' };

function chownTree(dir: string, uid: number): void {
  fs.chownSync(dir, uid, uid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid);
    else fs.chownSync(p, uid, uid);
  }
}

/** Files and folders under `dir` (besides those the test made) owned by another uid than `uid`. */
function foreignOwned(dir: string, uid: number): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (fs.lstatSync(p).uid !== uid) out.push(`${p} (uid ${fs.lstatSync(p).uid})`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe('the bundled compose stack, built from a local Debian base and run on a real dockerd', function () {
  this.timeout(60 * 60_000);
  let work: string;
  let stackDir: string;
  let backend: DockerBackend;
  let kafka: KafkaService;
  const progress: StackProgress[] = [];

  before(async function () {
    await ensureBaseImage();
    await removeProject(PROJECT);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bundled-'));
    stackDir = path.join(work, 'stack');
    fs.cpSync(REPO_STACK, stackDir, { recursive: true, filter: (src) => !/__pycache__/.test(src) });
    chownTree(stackDir, OWNER);
    setStackAirflowPassword(path.join(work, 'state'), AIRFLOW_PASSWORD);
    backend = new DockerBackend(backendOptions());
    kafka = new KafkaService({ bootstrap: `127.0.0.1:${PORTS.KAFKA_PORT}` });
  });

  const backendOptions = (extra: Partial<ConstructorParameters<typeof DockerBackend>[0]> = {}): ConstructorParameters<typeof DockerBackend>[0] => ({
      stackDir,
      projectName: PROJECT,
      composeCommand: ['docker', 'compose'],
      env: { ...process.env, ...PORTS, DOCKER_HOST: 'unix:///var/run/docker.sock' },
      extraCaFile: '/etc/ssl/certs/ca-certificates.crt',
      pullTimeoutMs: 20_000,
      healthTimeoutMs: 15 * 60_000,
      stateDir: path.join(work, 'state'),
      ...extra,
  });

  after(async function () {
    this.timeout(300_000);
    await kafka?.dispose();
    await backend?.reset().catch(() => undefined);
    await removeProject(PROJECT);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('Start Stack builds the missing images (step N of M) and brings every service healthy; Kafka UI, whose image cannot be had, is left out in one line', async function () {
    const cli = await backend.composeCli();
    assert.equal(cli.major, 2, `compose ${cli.version} (${cli.command.join(' ')}): the tests use Compose v2, as users do`);
    await backend.start({ onProgress: (p) => progress.push(p) });
    const steps = progress.map((p) => p.step);
    const status = await backend.status();
    assert.deepEqual(
      status.filter((s) => !s.optional).map((s) => [s.id, s.state === 'exited' ? s.detail : `${s.state}/${s.health}`]),
      [
        ['postgres', 'running/healthy'],
        ['kafka', 'running/healthy'],
        ['spark-master', 'running/healthy'],
        ['spark-worker', 'running/healthy'],
        ['lineage', 'running/healthy'],
        ['airflow-init', 'completed'],
        ['airflow-webserver', 'running/healthy'],
        ['airflow-scheduler', 'running/healthy'],
      ],
      `progress: ${steps.join(' | ')}`,
    );
    const ui = status.find((s) => s.id === 'kafka-ui')!;
    assert.equal(ui.state, 'stopped');
    assert.equal(ui.detail, 'image kafbat/kafka-ui:v1.3.0 not available; the rest of the stack runs');
    assert.ok(steps.includes('Kafka UI: image kafbat/kafka-ui:v1.3.0 not available; the rest of the stack runs'));
    assert.equal(summarize(status).text, '8/8 running');
    // a cold machine builds every image, reporting each one's steps; a warm one builds none
    const built = steps.filter((s) => /^Building datapipeline\/\S+ \(image \d of \d\): (\S+ )?step \d+ of \d+, /.test(s));
    const images = ['datapipeline/postgres:15', 'datapipeline/kafka:4.0.0', 'datapipeline/spark:3.5.0', 'datapipeline/airflow:2.8.1'];
    const docker = createDocker({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    for (const image of images) {
      const info = await docker.getImage(image).inspect();
      assert.ok(info.Id, image);
    }
    if (built.length) assert.ok(images.some((i) => built.some((b) => b.startsWith(`Building ${i}`))), steps.join(' | '));
  });

  it('runs on the project\u2019s own bridge network, every published port bound to 127.0.0.1 only', async function () {
    const docker = createDocker({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    const net0 = await docker.getNetwork(`${PROJECT}_default`).inspect();
    assert.equal(net0.Driver, 'bridge');
    const containers = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`] } });
    const published = containers.flatMap((c) => c.Ports.filter((p) => p.PublicPort).map((p) => `${p.IP}:${p.PublicPort}`)).sort();
    // Kafka UI's image cannot be had here; brokers 2 and 3 run only in the 3-broker cluster
    const unused = [PORTS.KAFKA_UI_PORT, PORTS.KAFKA_PORT_2, PORTS.KAFKA_PORT_3];
    assert.deepEqual(published, Object.values(PORTS).filter((p) => !unused.includes(p)).map((p) => `127.0.0.1:${p}`).sort());
    for (const c of containers) assert.deepEqual(Object.keys(c.NetworkSettings.Networks), [`${PROJECT}_default`], c.Names[0]);
    // the host reaches the broker only on 127.0.0.1 (the advertised EXTERNAL listener)
    assert.ok((await kafka.brokerCount()) === 1);
  });

  it('Airflow signs sessions and tokens with a key of this stack\u2019s own (made on first start, the same in every component), never a fixed one; its admin has the password the user set', async function () {
    const docker = createDocker({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    // what Airflow itself reads, in a process started by `docker exec` (no entrypoint ran for it)
    const keyOf = async (service: string) => {
      const [c] = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, `com.docker.compose.service=${service}`] } });
      assert.ok(c, `${service} runs`);
      let out = '';
      let err = '';
      const r = await execInContainer(docker, c.Id, ['python3', '-c', "from airflow.configuration import conf; print('KEY=' + conf.get('webserver', 'secret_key'))"], { onStdout: (t) => void (out += t), onStderr: (t) => void (err += t) });
      assert.equal(r.exitCode, 0, err);
      return /^KEY=(.*)$/m.exec(out)?.[1];
    };
    const web = await keyOf('airflow-webserver');
    assert.match(web ?? '', /^[0-9a-f]{64}$/);
    assert.equal(await keyOf('airflow-scheduler'), web);
    // and its admin has the password the user set, not admin
    const api = (pw: string) => fetch(`http://127.0.0.1:${PORTS.AIRFLOW_PORT}/api/v1/dags?limit=1`, { headers: { authorization: `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}` } });
    assert.equal((await api(AIRFLOW_PASSWORD)).status, 200);
    assert.equal((await api('admin')).status, 401);
  });

  it('the streaming DAG through the extension\u2019s Airflow client: four tasks succeed, output-topic holds exactly Alice, Charlie and Eve; a second run too', async function () {
    const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.AIRFLOW_PORT}`, username: 'admin', password: AIRFLOW_PASSWORD });
    await until('the DAGs to be parsed', async () => ((await client.listDags()).some((d) => d.dagId === STREAMING_DAG_ID) ? true : undefined), { timeoutMs: 180_000, intervalMs: 2000 });
    for (const round of [1, 2]) {
      const run = await triggerStreaming(client, STREAMING_DAG_ID, { round });
      const end = await followRun(client, STREAMING_DAG_ID, run.runId, { pollMs: 3000, stuckAfterMs: 10 * 60_000 });
      if (end.run.state !== 'success') {
        const logs = await Promise.all(end.tasks.filter((t) => t.state !== 'success' && t.tryNumber > 0).map((t) => client.getTaskLog(t, t.tryNumber).then((l) => `--- ${t.taskId}\n${l.text.slice(-3000)}`)));
        assert.fail(`run ${round} ended ${end.run.state}: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n')}`);
      }
      assert.deepEqual(end.tasks.map((t) => [t.taskId, t.state]), STREAMING_TASK_ORDER.map((t) => [t, 'success']));
      // read from the host through 127.0.0.1
      const { people } = await runOutputPeople(client, `127.0.0.1:${PORTS.KAFKA_PORT}`, STREAMING_DAG_ID, run.runId);
      assert.deepEqual(people, ADULTS, `run ${round}`);
      // its trace from OpenLineage alone (the images' provider, Spark listener and the stack's listener) equals the one from its XCom
      const { xcom, lineage } = await xcomAndLineageRanges(client, STREAMING_DAG_ID, run.runId, `http://127.0.0.1:${PORTS.LINEAGE_PORT}`, 3);
      assert.equal(xcom.length, 4, xcom.join('\n'));
      assert.deepEqual(lineage, xcom, `run ${round}`);
    }
  });

  it('Submit Spark Job: a job importing its sibling module runs in place, so does a file in a folder named with spaces and quotes; output streams; FINISHED', async function () {
    const master = new SparkMasterClient(`http://127.0.0.1:${PORTS.SPARK_MASTER_UI_PORT}`);
    const odd = path.join(stackDir, 'scripts', `my "odd" folder's name`);
    fs.mkdirSync(odd);
    fs.writeFileSync(path.join(odd, 'hello it.py'), ['from pyspark.sql import SparkSession', 's = SparkSession.builder.appName("OddFolderJob").getOrCreate()', 'print("rows:", s.range(7).count())', 's.stop()', ''].join('\n'));
    chownTree(odd, OWNER);
    const runJob = async (file: string, args: string[] = [], kafkaConnector = false) => {
      const lines: string[] = [];
      const job = new SparkJob(backend, master, { file, args, kafkaConnector });
      const result = await job.run({ onLine: (l) => lines.push(l.text) });
      return { result, lines };
    };
    await kafka.createTopic({ topic: 'people-in', numPartitions: 1 }).catch(() => undefined);
    await kafka.produce('people-in', [{ value: JSON.stringify({ name: 'Zoe', age: 40, city: 'Oslo' }) }, { value: JSON.stringify({ name: 'Kid', age: 9, city: 'Oslo' }) }]);
    const job = await runJob(path.join(stackDir, 'scripts', 'kafka_spark_job.py'), ['--input-topic', 'people-in', '--output-topic', 'people-out'], true);
    assert.equal(job.result.exitCode, 0, job.lines.slice(-40).join('\n'));
    assert.ok(job.lines.includes('Output records: 1'), job.lines.slice(-40).join('\n'));
    const odd1 = await runJob(path.join(odd, 'hello it.py'));
    assert.equal(odd1.result.exitCode, 0, odd1.lines.slice(-40).join('\n'));
    assert.ok(odd1.lines.includes('rows: 7'));
    for (const appId of [job.result.appId, odd1.result.appId]) {
      assert.ok(appId);
      const state = await finalAppState(master, appId);
      assert.equal(state, 'FINISHED');
    }
  });

  it('the streaming job\u2019s checkpoint is in the workspace: its query, the application it ran as, and where it stands (lag 0 once it caught up)', async function () {
    const master = new SparkMasterClient(`http://127.0.0.1:${PORTS.SPARK_MASTER_UI_PORT}`);
    // trigger availableNow: reads what people-in holds, writes the adults, stops
    const lines: string[] = [];
    const job = new SparkJob(backend, master, { file: path.join(stackDir, 'scripts', 'kafka_spark_streaming.py'), args: ['--input-topic', 'people-in', '--output-topic', 'people-stream-out'], kafkaConnector: true });
    const result = await job.run({ onLine: (l) => lines.push(l.text) });
    assert.equal(result.exitCode, 0, lines.slice(-40).join('\n'));
    const query = findStreamingQueries(backend.checkpointDirs()).find((q) => q.checkpoint.endsWith('kafka_spark_streaming-people-in-people-stream-out'));
    assert.ok(query, `a checkpoint under ${backend.checkpointDirs().join(', ')}`);
    assert.equal(query.appId, result.appId, 'its progress names the application it ran as');
    assert.equal(query.name, 'adults people-in -> people-stream-out');
    const lags = queryLag(query, 'people-in', await kafka.watermarks('people-in'));
    assert.deepEqual(lags.map((l) => l.lag), [0], 'caught up: nothing left to read');
    assert.equal(lags[0].offset, 2);
  });

  it('files the containers wrote into the workspace (task logs, checkpoints) belong to its owner, not root', function () {
    const logs = fs.readdirSync(path.join(stackDir, 'logs'), { recursive: true }).filter((f) => String(f).endsWith('.log'));
    assert.ok(logs.some((f) => /dag_id=kafka_spark_pipeline/.test(String(f))), `the DAG runs wrote their task logs into logs/: ${logs.slice(0, 5).join(', ')}`);
    assert.deepEqual(foreignOwned(stackDir, OWNER), []);
  });

  it('Kafka data survives a restart of the broker', async function () {
    await kafka.createTopic({ topic: 'survives-restart', numPartitions: 1 });
    await kafka.produce('survives-restart', [{ value: 'kept' }]);
    await backend.restart('kafka');
    await kafka.dispose();
    kafka = new KafkaService({ bootstrap: `127.0.0.1:${PORTS.KAFKA_PORT}` });
    const wm = await until('the broker to answer again', async () => kafka.watermarks('survives-restart').catch(() => undefined), { timeoutMs: 120_000, intervalMs: 2000 });
    assert.deepEqual(wm.map((w) => w.high), [1]);
  });

  it('scaled by the settings: a 3-broker KRaft cluster and 2 Spark workers, all healthy; a topic with replication factor 3 stays readable with broker 2 stopped (under-replicated), then heals; the single broker\u2019s data is kept apart', async function () {
    await backend.stop();
    const scaled = new DockerBackend(backendOptions({ scale: { kafkaBrokers: 3, sparkWorkers: 2 } }));
    const docker = createDocker({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    let cluster: KafkaService | undefined;
    try {
      await scaled.start();
      const status = await scaled.status();
      const shown = (ids: string[]) => ids.map((id) => [id, `${status.find((s) => s.id === id)?.state}/${status.find((s) => s.id === id)?.health}`]);
      assert.deepEqual(shown(['kafka', 'kafka-2', 'kafka-3', 'spark-worker', 'spark-worker-2']), [
        ['kafka', 'running/healthy'], ['kafka-2', 'running/healthy'], ['kafka-3', 'running/healthy'], ['spark-worker', 'running/healthy'], ['spark-worker-2', 'running/healthy'],
      ]);
      assert.equal(status.find((s) => s.id === 'spark-worker-2')?.label, 'Spark worker 2');
      assert.equal(summarize(status).text, '11/11 running');
      assert.equal(scaled.endpoints().kafkaBootstrap, `127.0.0.1:${PORTS.KAFKA_PORT},127.0.0.1:${PORTS.KAFKA_PORT_2},127.0.0.1:${PORTS.KAFKA_PORT_3}`);
      // another window without the setting follows the running stack
      const follower = new DockerBackend(backendOptions());
      assert.ok((await follower.status()).some((s) => s.id === 'kafka-3' && s.state === 'running'));
      assert.equal(follower.endpoints().kafkaBootstrap, scaled.endpoints().kafkaBootstrap);
      // what the views connect to (the status model the extension's controller reads) follows too:
      // a window whose backend knew no scale gets the 3 brokers at its next status read
      const viewModel = new StackStatusModel(new DockerBackend(backendOptions()), {});
      try {
        assert.equal(viewModel.endpoints?.kafkaBootstrap, `127.0.0.1:${PORTS.KAFKA_PORT}`, 'before any status read, one broker (the default)');
        let heard = 0;
        viewModel.onDidChange(() => heard++);
        await viewModel.refresh();
        assert.equal(viewModel.endpoints?.kafkaBootstrap, `127.0.0.1:${PORTS.KAFKA_PORT},127.0.0.1:${PORTS.KAFKA_PORT_2},127.0.0.1:${PORTS.KAFKA_PORT_3}`);
        assert.ok(heard > 0, 'the views were told');
      } finally {
        viewModel.dispose();
      }

      const master = await new SparkMasterClient(`http://127.0.0.1:${PORTS.SPARK_MASTER_UI_PORT}`).status();
      assert.equal(master.aliveWorkers, 2);
      cluster = new KafkaService({ bootstrap: scaled.endpoints().kafkaBootstrap });
      assert.equal(await cluster.brokerCount(), 3);
      assert.ok(!(await cluster.topicNames()).includes('survives-restart'), 'the cluster has its own data');
      await cluster.createTopic({ topic: 'replicated', numPartitions: 3, replicationFactor: 3 });
      await cluster.produce('replicated', Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
      const broker2 = (await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=broker-2'] } }))[0];
      await docker.getContainer(broker2.Id).stop({ t: 10 });
      const down = await until('every partition under-replicated', async () => (await cluster!.listTopics()).find((t) => t.name === 'replicated' && t.underReplicated === 3), 120_000);
      assert.equal(down.messageCount, 30, 'still readable with a broker down');
      await docker.getContainer(broker2.Id).start();
      await until('in sync again', async () => (await cluster!.listTopics()).find((t) => t.name === 'replicated' && t.underReplicated === 0), 180_000);
    } finally {
      await cluster?.dispose();
      await scaled.stop().catch(() => undefined);
    }
    // back to one broker: its topics are as they were
    await backend.start();
    await kafka.dispose();
    kafka = new KafkaService({ bootstrap: `127.0.0.1:${PORTS.KAFKA_PORT}` });
    const wm = await until('the single broker answers with its own data', async () => kafka.watermarks('survives-restart').catch(() => undefined), { timeoutMs: 120_000, intervalMs: 2000 });
    assert.deepEqual(wm.map((w) => w.high), [1]);
    assert.equal((await backend.status()).some((s) => s.id === 'kafka-2'), false, 'brokers 2 and 3 are gone from the Stack view');
  });

  it('the inner loop on Docker (Airflow 2.8.1): a saved DAG file reaches the REST API within 3 s; one task runs in the scheduler\u2019s container (output, XCom, a traceback at the workspace\u2019s file) and so does Test DAG; Debug Task stops at a breakpoint in the workspace\u2019s file', async function () {
    const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.AIRFLOW_PORT}`, username: 'admin', password: AIRFLOW_PASSWORD });
    const dags = path.join(stackDir, 'dags');
    process.stderr.write(`[inner loop, docker, Airflow 2.8.1] save → seen ${JSON.stringify(await exerciseSaveSeen(client, dags, 'docker_af2'))}\n`);
    process.stderr.write(`[inner loop, docker, Airflow 2.8.1] run one task ${JSON.stringify(await exerciseTaskRuns(backend, client, dags, 'docker_af2'))}\n`);
    // Debug Task: debugpy in the container on its published port, the workspace's paths mapped to the container's
    process.stderr.write(`[inner loop, docker, Airflow 2.8.1] debug task ${JSON.stringify(await exerciseDebugTask(backend, client, dags, 'docker_af2'))}\n`);
  });

  it('Airflow 3 (setting airflowVersion 3): its image built from the pinned constraints; api-server, scheduler, dag-processor, triggerer healthy in place of 2.8.1\u2019s; the streaming DAG unchanged gives Alice, Charlie and Eve; back on 2.8.1 its runs are all there', async function () {
    const client2 = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.AIRFLOW_PORT}`, username: 'admin', password: AIRFLOW_PASSWORD });
    const runs2 = (await client2.listDagRuns(STREAMING_DAG_ID, { limit: 50 })).map((r) => r.runId).sort();
    assert.ok(runs2.length >= 2, `Airflow 2.8.1 ran the DAG before: ${runs2.join(', ')}`);
    const v3 = new DockerBackend(backendOptions({ airflow: 3 }));
    const steps: string[] = [];
    const t0 = Date.now();
    await v3.start({ onProgress: (p) => steps.push(p.step) });
    process.stderr.write(`[airflow 3] started (image built if missing) in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    assert.ok(steps.some((st) => /^Stopping Airflow 2 \(.*airflow-webserver.*\); its database stays$/.test(st)), steps.join(' | '));
    const status = await v3.status();
    assert.deepEqual(
      status.filter((st) => !st.optional && /airflow/.test(st.id)).map((st) => [st.id, st.label, st.state === 'exited' ? st.detail : `${st.state}/${st.health}`]),
      [
        ['airflow-init', 'Airflow 3 init (database airflow3, migration, spark_cluster connection)', 'completed'],
        ['airflow-api-server', 'Airflow API server (UI and REST API)', 'running/healthy'],
        ['airflow-scheduler', 'Airflow scheduler', 'running/healthy'],
        ['airflow-dag-processor', 'Airflow DAG processor', 'running/healthy'],
        ['airflow-triggerer', 'Airflow triggerer', 'running/healthy'],
      ],
    );
    assert.equal(summarize(status).text, '10/10 running');
    // another window without the setting follows the running stack
    assert.equal(new DockerBackend(backendOptions()).airflowMajor, 2);
    const follower = new DockerBackend(backendOptions());
    await follower.status();
    assert.equal(follower.airflowMajor, 3);

    const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.AIRFLOW_PORT}`, username: 'admin', password: AIRFLOW_PASSWORD });
    assert.equal(await client.apiVersion(), 'v2');
    await until('the DAGs to be parsed by the dag-processor', async () => ((await client.listDags()).some((d) => d.dagId === STREAMING_DAG_ID) ? true : undefined), { timeoutMs: 240_000, intervalMs: 2000, ignoreErrors: true });
    assert.deepEqual(await client.listDagRuns(STREAMING_DAG_ID, { limit: 5 }), [], 'Airflow 3 has its own database: none of 2.8.1\u2019s runs');
    const run = await triggerStreaming(client, STREAMING_DAG_ID, { on: 'airflow3' });
    const end = await followRun(client, STREAMING_DAG_ID, run.runId, { pollMs: 3000, stuckAfterMs: 10 * 60_000 });
    if (end.run.state !== 'success') {
      const logs = await Promise.all(end.tasks.filter((t) => t.state !== 'success' && t.tryNumber > 0).map((t) => client.getTaskLog(t, t.tryNumber).then((l) => `--- ${t.taskId}\n${l.text.slice(-3000)}`)));
      assert.fail(`the run on Airflow 3 ended ${end.run.state}: ${JSON.stringify(end.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n')}`);
    }
    assert.deepEqual(end.tasks.map((t) => [t.taskId, t.state]), STREAMING_TASK_ORDER.map((t) => [t, 'success']));
    assert.equal(end.run.logicalDate, undefined, 'triggered now: no logical date on Airflow 3');
    const { people } = await runOutputPeople(client, `127.0.0.1:${PORTS.KAFKA_PORT}`, STREAMING_DAG_ID, run.runId);
    assert.deepEqual(people, ADULTS);
    // Airflow 3's provider and the stack's listener under the task SDK: the trace from lineage alone equals the XCom's
    const traced = await xcomAndLineageRanges(client, STREAMING_DAG_ID, run.runId, `http://127.0.0.1:${PORTS.LINEAGE_PORT}`, 3);
    assert.equal(traced.xcom.length, 4, traced.xcom.join('\n'));
    assert.deepEqual(traced.lineage, traced.xcom);
    const log = await client.getTaskLog({ dagId: STREAMING_DAG_ID, runId: run.runId, taskId: 'produce_sample_data' }, 1);
    assert.match(log.text, /Produced 5 records to input-topic/, 'the API server serves the task log');
    // the inner loop on Airflow 3 in Docker: save → seen, one task and Test DAG in the scheduler's container
    process.stderr.write(`[inner loop, docker, Airflow 3] save → seen ${JSON.stringify(await exerciseSaveSeen(client, path.join(stackDir, 'dags'), 'docker_af3'))}\n`);
    process.stderr.write(`[inner loop, docker, Airflow 3] run one task ${JSON.stringify(await exerciseTaskRuns(v3, client, path.join(stackDir, 'dags'), 'docker_af3'))}\n`);
    process.stderr.write(`[inner loop, docker, Airflow 3] debug task ${JSON.stringify(await exerciseDebugTask(v3, client, path.join(stackDir, 'dags'), 'docker_af3'))}\n`);

    // back to 2.8.1 (the default): Airflow 3's containers go, 2.8.1's runs are all there
    await backend.start();
    const back = await backend.status();
    assert.equal(back.some((st) => st.id === 'airflow-api-server'), false, 'Airflow 3\u2019s services are gone from the Stack view');
    assert.equal(back.find((st) => st.id === 'airflow-webserver')?.health, 'healthy');
    const again = (await client2.listDagRuns(STREAMING_DAG_ID, { limit: 50 })).map((r) => r.runId).sort();
    assert.deepEqual(again, runs2, 'switching lost nothing');
  });

  it('your own project on DataPipeline\u2019s stack (the root-layout fixture, its own compose file set aside by the setting): its folders mounted, its requirements an image over the stack\u2019s (step N of M), its DAGs import; its report runs; its Spark job gets its py_files and, on the workers (a Spark image of its requirements), pycountry; its pipeline puts the orders in Kafka and, through its Spark job, in PostgreSQL, and the run view links that job by the id its driver logged; the stack\u2019s image and the project\u2019s files unchanged; a requirement saved while it runs: a new image, Airflow recreated on it', async function () {
    const docker = createDocker({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    const project = path.join(work, 'orders pipeline');
    fs.cpSync(ROOT_LAYOUT, project, { recursive: true });
    chownTree(project, OWNER);
    const files = () => fs.readdirSync(project, { recursive: true }).map(String).sort().map((f) => [f, fs.statSync(path.join(project, f)).isFile() ? fs.readFileSync(path.join(project, f), 'utf8') : '']);
    const before = files();
    const detected = detectProject([project], REPO_STACK);
    assert.equal(detected.kind, 'root');
    const chosen = dockerStackFor(detected, 'bundled', stackDir);
    assert.equal(chosen.stackDir, stackDir, 'the bundled stack runs, not the project\u2019s compose file');
    const stackImage = (await docker.getImage('datapipeline/airflow:2.8.1').inspect()).Id;
    // a project image an earlier run left: gone, so this start builds it
    for (const ref of ['datapipeline/airflow-project', 'datapipeline/spark-project']) for (const img of await docker.listImages({ filters: { reference: [ref] } })) await docker.getImage(img.Id).remove({ force: true });
    const own = new DockerBackend(backendOptions({ project: chosen.project }));
    const steps: string[] = [];
    const t0 = Date.now();
    await own.start({ onProgress: (p) => steps.push(p.step) });
    process.stderr.write(`[project on docker] started (project image built if missing) in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    assert.ok(steps.some((st) => /^Building the project's Airflow image \(requirements\.txt, Spark packages of the DAGs\): step \d+ of \d+, /.test(st)), steps.join(' | '));
    assert.ok(steps.some((st) => /^Building the project's Spark image \(requirements\.txt for the executors\): step \d+ of \d+, /.test(st)), steps.join(' | '));
    const web = (await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=airflow-webserver'] } }))[0];
    assert.match(web.Image, /^datapipeline\/airflow-project:[0-9a-f]{16}$/);
    for (const svc of ['spark-master', 'spark-worker']) {
      const c = (await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, `com.docker.compose.service=${svc}`] } }))[0];
      assert.match(c.Image, /^datapipeline\/spark-project:[0-9a-f]{16}$/, svc);
    }
    assert.equal((await docker.getImage('datapipeline/airflow:2.8.1').inspect()).Id, stackImage, 'the stack\u2019s own image is unchanged');

    const client = new AirflowClient({ baseUrl: `http://127.0.0.1:${PORTS.AIRFLOW_PORT}`, username: 'admin', password: AIRFLOW_PASSWORD });
    await until('the project\u2019s DAGs to be parsed', async () => {
      const ids = (await client.listDags()).map((d) => d.dagId);
      return ['order_report', 'orders_pipeline', 'country_report'].every((id) => ids.includes(id));
    }, { timeoutMs: 180_000, intervalMs: 2000, ignoreErrors: true });
    assert.equal((await client.getDag('order_report')).fileloc, '/opt/airflow/dags/order_report.py');
    // a SparkSubmitOperator that names no connection goes to the stack's master, as one naming spark_cluster
    for (const id of ['spark_cluster', 'spark_default']) {
      const c = await getConnection(client, id);
      assert.deepEqual([c.type, c.host, c.port], ['spark', 'spark://spark-master', 7077], id);
    }
    await until('no import errors (its /opt/airflow/scripts import and pyfiglet resolve)', async () => (await client.listImportErrors()).filter((e) => e.filename.startsWith('/opt/airflow/dags/order')).length === 0, { timeoutMs: 120_000, intervalMs: 2000 });
    await client.setPaused('order_report', false);
    const run = await client.triggerDagRun('order_report');
    const end = await followRun(client, 'order_report', run.runId, { pollMs: 3000, stuckAfterMs: 5 * 60_000 });
    const log = await client.getTaskLog(end.tasks[0], Math.max(1, end.tasks[0].tryNumber));
    assert.equal(end.run.state, 'success', log.text.slice(-3000));
    assert.match(log.text, /3 orders, 119\.5 in total/);

    // its Spark job with py_files (transforms.py) and a UDF calling the project's requirement (pycountry) on the worker
    await client.setPaused('country_report', false);
    const report = await client.triggerDagRun('country_report');
    const reported = await followRun(client, 'country_report', report.runId, { pollMs: 3000, stuckAfterMs: 5 * 60_000 });
    const reportLog = await client.getTaskLog(reported.tasks[0], Math.max(1, reported.tasks[0].tryNumber));
    assert.equal(reported.run.state, 'success', reportLog.text.slice(-4000));
    for (const line of ['country FI Finland: 1', 'country GB United Kingdom: 1', 'country US United States: 1']) assert.ok(reportLog.text.includes(line), `${line} in:\n${reportLog.text.slice(-4000)}`);

    // its pipeline end to end: a callable publishes the orders to Kafka (kafka-python, the project's
    // requirement), its SparkSubmitOperator (spark_cluster, --packages for the Kafka connector and the
    // PostgreSQL JDBC driver, an /opt/airflow/scripts application) loads them into the stack's PostgreSQL
    await client.setPaused('orders_pipeline', false);
    const pipeline = await client.triggerDagRun('orders_pipeline');
    const done = await followRun(client, 'orders_pipeline', pipeline.runId, { pollMs: 3000, stuckAfterMs: 10 * 60_000 });
    if (done.run.state !== 'success') {
      const logs = await Promise.all(done.tasks.filter((t) => t.tryNumber > 0).map((t) => client.getTaskLog(t, t.tryNumber).then((l) => `--- ${t.taskId}\n${l.text.slice(-4000)}`)));
      assert.fail(`orders_pipeline ended ${done.run.state}: ${JSON.stringify(done.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n')}`);
    }
    // the run view links its Spark task to the application though the job names itself (appName replaces the run tag): by the id its driver logged
    const projectMaster = new SparkMasterClient(`http://127.0.0.1:${PORTS.SPARK_MASTER_UI_PORT}`);
    const { trace } = await collectRunTrace(client, 'orders_pipeline', pipeline.runId, { sparkApps: async () => (await projectMaster.status()).completedApps });
    assert.deepEqual(trace.spark.map((l) => [l.taskId, l.name, l.state]), [['load_orders', 'orders_to_postgres', 'FINISHED']]);
    const published = (await kafka.watermarks('orders')).reduce((n, w) => n + Number(w.high) - Number(w.low), 0);
    assert.ok(published >= 3, `orders in Kafka: ${published}`);
    const pg = (await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=postgres'] } }))[0];
    let rows = '';
    let pgErr = '';
    const q = await execInContainer(docker, pg.Id, ['psql', '-h', '127.0.0.1', '-U', 'airflow', '-d', 'airflow', '-tAc', 'select count(*), count(distinct order_id), round(sum(amount)::numeric, 1) from orders'], { onStdout: (t) => void (rows += t), onStderr: (t) => void (pgErr += t) }, { env: ['PGPASSWORD=airflow'] });
    assert.equal(q.exitCode, 0, pgErr);
    const [count, distinct, total] = rows.trim().split('|');
    assert.deepEqual([Number(count), Number(distinct)], [published, 3], `rows: ${rows}`);
    assert.equal(Number(total) / (published / 3), 119.5, `the orders' total: ${rows}`);

    // a DAG with no DataPipeline code traced from OpenLineage: each task's datasets, the Kafka ranges
    // equal to the topics' growth, the Spark job's table, its application linked by its parent run
    await addWarehouse(client, { host: 'postgres', port: 5432, password: 'airflow' });
    const ends = async () => Object.fromEntries(await Promise.all(['orders_raw', 'orders_enriched'].map(async (t) => [t, await kafka.watermarks(t).then((w) => w.reduce((n, x) => n + Number(x.high), 0), () => 0)] as const)));
    const beforeRun = await ends();
    await client.setPaused('orders_enrichment', false);
    const enrichment = await client.triggerDagRun('orders_enrichment');
    const enriched = await followRun(client, 'orders_enrichment', enrichment.runId, { pollMs: 3000, stuckAfterMs: 10 * 60_000 });
    if (enriched.run.state !== 'success') {
      const logs = await Promise.all(enriched.tasks.filter((t) => t.tryNumber > 0).map((t) => client.getTaskLog(t, t.tryNumber).then((l) => `--- ${t.taskId}\n${l.text.slice(-4000)}`)));
      assert.fail(`orders_enrichment ended ${enriched.run.state}: ${JSON.stringify(enriched.tasks.map((t) => [t.taskId, t.state]))}\n${logs.join('\n')}`);
    }
    const afterRun = await ends();
    assert.deepEqual([afterRun.orders_raw - beforeRun.orders_raw, afterRun.orders_enriched - beforeRun.orders_enriched], [100, 100]);
    const feed = new LineageFeed(`http://127.0.0.1:${PORTS.LINEAGE_PORT}`);
    let lineage!: Awaited<ReturnType<typeof collectRunTrace>>['trace'];
    await until('the run\u2019s lineage', async () => {
      lineage = (await collectRunTrace(client, 'orders_enrichment', enrichment.runId, { sparkApps: async () => (await projectMaster.status()).completedApps, lineage: () => feed.read() })).trace;
      return lineage.datasets.some((d) => d.kind === 'table') && new Set(lineage.datasets.map((d) => d.taskId)).size === 3;
    }, { timeoutMs: 60_000, intervalMs: 1000, detail: () => JSON.stringify(lineage?.datasets.map((d) => [d.taskId, d.role, d.label])) });
    assert.deepEqual(lineage.datasets.map((d) => [d.taskId, d.role, d.kind, d.label, d.count ?? null, d.rangeSource ?? null]), [
      ['publish_raw_orders', 'write', 'kafka', 'orders_raw', 100, 'measured'],
      ['enrich_orders', 'read', 'kafka', 'orders_raw', 100, 'upstream'],
      ['enrich_orders', 'write', 'kafka', 'orders_enriched', 100, 'end offsets'],
      ['enrich_orders', 'write', 'table', 'orders_enriched', null, null],
      ['count_enriched_orders', 'read', 'kafka', 'orders_enriched', 100, 'measured'],
    ]);
    const wrote = lineage.datasets.find((d) => d.taskId === 'publish_raw_orders')!;
    assert.equal(wrote.partitions!.reduce((n, p) => n + p.start, 0), beforeRun.orders_raw, 'the range starts at the topic\u2019s end before the run');
    assert.deepEqual(lineage.spark.map((l) => [l.taskId, l.name, l.state]), [['enrich_orders', 'enrich_orders', 'FINISHED']]);

    assert.deepEqual(files(), before, 'the project\u2019s files are as they were');
    // started again, unchanged: the image is reused, nothing is built
    const steps2: string[] = [];
    await own.start({ onProgress: (p) => steps2.push(p.step) });
    assert.deepEqual(steps2.filter((st) => /Building/.test(st)), [], steps2.join(' | '));

    // requirements.txt saved with one more package while the stack runs: a new image, Airflow recreated on it
    const containerOf = async (svc: string) => (await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${PROJECT}`, `com.docker.compose.service=${svc}`] } }))[0]?.Id;
    const [lineageBefore, initBefore] = [await containerOf('lineage'), await containerOf('airflow-init')];
    fs.appendFileSync(path.join(project, 'requirements.txt'), 'cowsay==6.1\n');
    const steps3: string[] = [];
    await own.reloadRequirements!({ onProgress: (p) => steps3.push(p.step) });
    // the receiver (its events live in its container) and the init keep the stack's image: neither is recreated
    assert.deepEqual([await containerOf('lineage'), await containerOf('airflow-init')], [lineageBefore, initBefore]);
    assert.ok(steps3.some((st) => /^Building the project's Airflow image \(requirements\.txt, Spark packages of the DAGs\): step \d+ of \d+, /.test(st)), steps3.join(' | '));
    const scheduler = (await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=airflow-scheduler'] } }))[0];
    assert.notEqual(scheduler.Image, web.Image, 'recreated on the new image');
    let said = '';
    const imported = await execInContainer(docker, scheduler.Id, ['python3', '-c', 'import cowsay; print(cowsay.get_output_string("cow", "moo"))'], { onStdout: (t) => void (said += t), onStderr: (t) => void (said += t) });
    assert.equal(imported.exitCode, 0, said);
    assert.match(said, /moo/);
    assert.equal(new DockerBackend(backendOptions()).reloadRequirements, undefined, 'a compose file run as it is: its images hold its requirements');

    // the bundled DAGs again for the tests after this one: the stack's own image and folders
    await backend.start();
    const again = (await docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=airflow-webserver'] } }))[0];
    assert.equal(again.Image, 'datapipeline/airflow:2.8.1');
  });

  it('a compose file of the team\u2019s own (its own service names, images by tag, ports for the laptop, no DataPipeline labels), run as it is: each service a row with its healthcheck\u2019s health; the views find its Kafka and Spark master by the ports it publishes and say it has no Airflow; Submit runs a job in its "spark" service; Restart restarts a service as compose restart does (its broker keeps its topic); its logs read', async function () {
    const versions = parseDotEnv(fs.readFileSync(path.join(REPO_STACK, '.env'), 'utf8'));
    const team = path.join(work, 'team "stack" \u00fc');
    fs.cpSync(TEAM_STACK, team, { recursive: true });
    const ports = { KAFKA_HOST_PORT: '22192', SPARK_HOST_PORT: '22177', SPARK_UI_HOST_PORT: '22180' };
    // the stack's own images stand for the team's (no registry here): named by tag in the team's variables
    const images = { KAFKA_IMAGE: `datapipeline/kafka:${versions.KAFKA_VERSION}`, SPARK_IMAGE: `datapipeline/spark:${versions.SPARK_VERSION}` };
    const own = new DockerBackend({ stackDir: team, projectName: TEAM_PROJECT, composeCommand: ['docker', 'compose'], env: { ...process.env, ...ports, ...images, DOCKER_HOST: 'unix:///var/run/docker.sock' }, stateDir: path.join(work, 'team-state'), healthTimeoutMs: 5 * 60_000 });
    const teamKafka = new KafkaService({ bootstrap: `127.0.0.1:${ports.KAFKA_HOST_PORT}` });
    try {
      await own.start();
      const rows = async () => (await own.status()).map((st) => `${st.id} ${st.state} ${st.health}`).sort();
      assert.deepEqual(await rows(), ['kafka running healthy', 'spark running healthy', 'spark-worker running none']);

      const e = own.endpoints();
      assert.equal(own.ownComposeFile(), path.join(team, 'docker-compose.yaml'));
      assert.deepEqual([e.kafkaBootstrap, e.sparkMasterUrl, e.sparkUiUrl], [`127.0.0.1:${ports.KAFKA_HOST_PORT}`, `spark://127.0.0.1:${ports.SPARK_HOST_PORT}`, `http://127.0.0.1:${ports.SPARK_UI_HOST_PORT}`]);
      assert.deepEqual(own.endpointNotes(), ['docker-compose.yaml has no Airflow service that DataPipeline recognises: set datapipeline.airflow.url to reach yours.']);

      // the Topics view's client on the address found: a topic made, messages written and counted
      await teamKafka.createTopic({ topic: 'team-orders', numPartitions: 1 });
      assert.equal(await teamKafka.produce('team-orders', [{ value: 'o-1' }, { value: 'o-2' }, { value: 'o-3' }]), 3);
      await until('the topic listed with its 3 messages', async () => (await teamKafka.listTopics()).find((t) => t.name === 'team-orders')?.messageCount === 3, { timeoutMs: 30_000 });

      // the Spark Applications view's client on the UI found: the team's worker registered
      const master = new SparkMasterClient(e.sparkUiUrl);
      await until('the worker registered with the team\u2019s master', async () => (await master.status()).workers.length === 1, { timeoutMs: 120_000 });

      // Submit Spark Job: exec in the service the file calls "spark", the job by its path under the service's ./jobs mount
      let out = '';
      const r = await own.submitSpark({ file: path.join(team, 'jobs', 'count_words.py') }, { onStdout: (c) => (out += c), onStderr: (c) => (out += c) });
      assert.equal(r.exitCode, 0, out.slice(-3000));
      assert.match(out, /words counted: 10/);
      assert.ok(r.appId, 'the application id read from the driver');
      assert.equal(await finalAppState(master, r.appId!), 'FINISHED');
      // a service whose image has no Spark: named, with the next step, nothing run
      const noSpark = new DockerBackend({ stackDir: team, projectName: TEAM_PROJECT, composeCommand: ['docker', 'compose'], env: { ...process.env, ...ports, ...images, DOCKER_HOST: 'unix:///var/run/docker.sock' }, stateDir: path.join(work, 'team-state'), sparkService: 'kafka' });
      await assert.rejects(noSpark.submitSpark({ file: path.join(team, 'jobs', 'count_words.py') }, { onStdout: () => undefined, onStderr: () => undefined }), (err: Error & { nextStep?: string }) => {
        assert.match(err.message, /^kafka's container has no spark-submit \(not at \/opt\/spark\/bin\/spark-submit, on its PATH, nor under its SPARK_HOME\)\.$/);
        assert.match(err.nextStep ?? '', /datapipeline\.project\.stack/);
        return true;
      });

      // restart one service: healthy again, its data kept; its log read
      await own.restart('kafka');
      assert.deepEqual(await rows(), ['kafka running healthy', 'spark running healthy', 'spark-worker running none']);
      await until('the topic still there after the restart', async () => (await teamKafka.listTopics()).some((t) => t.name === 'team-orders'), { timeoutMs: 60_000 });
      const lines: string[] = [];
      await own.logs('spark', (l) => lines.push(l), { tail: 500 });
      assert.ok(lines.some((l) => /Registering worker/.test(l)), lines.slice(-20).join('\n'));
    } finally {
      await teamKafka.dispose();
      await own.stop().catch(() => undefined);
      await removeProject(TEAM_PROJECT);
    }
  });

  it('Stop leaves nothing running; a port already in use is named with its pid before anything starts; Reset removes the volumes', async function () {
    const docker = createDocker({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    const running = async () => docker.listContainers({ filters: { label: [`com.docker.compose.project=${PROJECT}`] } });
    await backend.stop();
    assert.deepEqual(await running(), []);
    const volumes = async () => ((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name).filter((n) => n.startsWith(`${PROJECT}_`)).sort();
    assert.deepEqual(await volumes(), backend.dataVolumes().sort(), 'Stop keeps the data volumes');

    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(Number(PORTS.AIRFLOW_PORT), '127.0.0.1', r));
    try {
      await assert.rejects(backend.start(), (e: Error) => {
        assert.match(e.message, new RegExp(`Port ${PORTS.AIRFLOW_PORT} is in use by pid ${process.pid} \\(node`));
        return true;
      });
      assert.deepEqual(await running(), [], 'nothing was started');
    } finally {
      holder.close();
    }

    await backend.reset();
    assert.deepEqual(await volumes(), [], 'Reset removed every data volume');
  });
});
