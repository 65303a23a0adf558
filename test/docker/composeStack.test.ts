/**
 * The bundled compose stack (stack/docker-compose.yaml + .env): it parses, the compose CLI
 * validates it, and it fixes what the original stack got wrong (ports, listeners, pins, health).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { detectCompose, run } from '../../src/services/docker/compose';
import { interpolate, loadComposeModel, parseDotEnv } from '../../src/services/docker/composeFile';
import { toServiceStatus } from '../../src/services/stack/docker/dockerBackend';
import { stackVersions } from '../../src/services/stack/native/config';

const STACK = path.join(__dirname, '..', '..', 'stack');
const COMPOSE = path.join(STACK, 'docker-compose.yaml');
type Svc = Record<string, unknown> & { environment?: Record<string, string>; ports?: string[]; healthcheck?: { test: unknown } };

describe('bundled compose stack (stack/docker-compose.yaml)', () => {
  // Interpolated with .env only (not this process's environment), as a user's machine would see it.
  const model = loadComposeModel(STACK, undefined, {});
  const services = model.raw.services as Record<string, Svc>;
  const dotEnv = parseDotEnv(fs.readFileSync(path.join(STACK, '.env'), 'utf8'));

  const AIRFLOW2 = ['airflow-init', 'airflow-scheduler', 'airflow-webserver'];
  const AIRFLOW3 = ['airflow-api-server', 'airflow-dag-processor', 'airflow-triggerer', 'airflow3-init', 'airflow3-scheduler'];

  it('parses with yaml and has the original services, brokers 2 and 3 of the 3-broker cluster, and Airflow 3\u2019s services', () => {
    const doc = parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.services).sort(), [
      'airflow-api-server',
      'airflow-dag-processor',
      'airflow-init',
      'airflow-scheduler',
      'airflow-triggerer',
      'airflow-webserver',
      'airflow3-init',
      'airflow3-scheduler',
      'broker',
      'broker-2',
      'broker-3',
      'kafka-ui',
      'lineage',
      'lineage3',
      'postgres',
      'spark-master',
      'spark-worker',
    ]);
  });

  it('runs one Airflow at a time: 2.8.1\u2019s services in profile airflow2 (the .env default), Airflow 3\u2019s in airflow3, each with its own database', () => {
    assert.equal(dotEnv.COMPOSE_PROFILES, 'airflow2', 'a bare `docker compose up` starts Airflow 2.8.1, as the original stack');
    for (const name of AIRFLOW2) assert.deepEqual(services[name].profiles, ['airflow2'], name);
    for (const name of AIRFLOW3) assert.deepEqual(services[name].profiles, ['airflow3'], name);
    const db = (name: string) => /\/([\w]+)$/.exec(services[name].environment!.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)![1];
    for (const name of AIRFLOW2) assert.equal(db(name), 'airflow', name);
    for (const name of AIRFLOW3) assert.equal(db(name), 'airflow3', name);
    // the Stack view names them as the native backend does
    const ids = Object.fromEntries(model.services.map((m) => [m.name, m.labels['datapipeline.id'] ?? m.name]));
    assert.deepEqual(AIRFLOW3.map((n) => ids[n]), ['airflow-api-server', 'airflow-dag-processor', 'airflow-triggerer', 'airflow-init', 'airflow-scheduler']);
  });

  it('validates with the compose CLI ("config")', async function () {
    this.timeout(60_000);
    const cli = await detectCompose(['docker', 'compose']);
    const r = await run([...cli.command, '-f', COMPOSE, 'config', '-q'], { cwd: STACK });
    assert.equal(r.code, 0, r.stderr);
  });

  it('binds every published port to 127.0.0.1, from a .env variable; postgres is not published', () => {
    const raw = parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, Svc> };
    let count = 0;
    for (const [name, svc] of Object.entries(raw.services)) {
      for (const spec of svc.ports ?? []) {
        count++;
        assert.match(spec, /^127\.0\.0\.1:\$\{([A-Z_0-9]+):-\d+\}:\d+$/, `${name}: ${spec}`);
        const variable = /\$\{([A-Z_0-9]+)/.exec(spec)![1];
        assert.ok(dotEnv[variable], `${variable} (${name}) is not set in stack/.env`);
      }
    }
    assert.equal(count, 12);
    assert.equal(services.postgres.ports, undefined);
    const published = model.services.flatMap((s) => s.ports.filter((p) => p.containerPort !== undefined).map((p) => `${p.host}:${p.port}`)).sort();
    // 8085, 5055 and 5679 twice: Airflow 2's webserver and Airflow 3's API server, each one's OpenLineage receiver and scheduler (its debugger), never in the same profile
    assert.deepEqual(published, ['127.0.0.1:5055', '127.0.0.1:5055', '127.0.0.1:5679', '127.0.0.1:5679', '127.0.0.1:7077', '127.0.0.1:8080', '127.0.0.1:8085', '127.0.0.1:8085', '127.0.0.1:8090', '127.0.0.1:9092', '127.0.0.1:9094', '127.0.0.1:9096']);
    for (const name of ['airflow-webserver', 'airflow-api-server']) assert.deepEqual(raw.services[name].ports, ['127.0.0.1:${AIRFLOW_PORT:-8085}:8080'], name);
  });

  it('gives Kafka an internal listener for containers and one for the host, and points containers at the internal one', () => {
    const env = services.broker.environment!;
    assert.match(env.KAFKA_LISTENERS, /INTERNAL:\/\/0\.0\.0\.0:19092/);
    assert.match(env.KAFKA_LISTENERS, /EXTERNAL:\/\/0\.0\.0\.0:9092/);
    assert.match(env.KAFKA_ADVERTISED_LISTENERS, /INTERNAL:\/\/broker:19092/);
    assert.match(env.KAFKA_ADVERTISED_LISTENERS, /EXTERNAL:\/\/(127\.0\.0\.1|localhost):9092/);
    assert.equal(env.KAFKA_INTER_BROKER_LISTENER_NAME, 'INTERNAL');
    assert.equal(services['kafka-ui'].environment!.KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS, 'broker:19092');
    for (const name of ['airflow-webserver', 'airflow-scheduler', 'airflow-api-server', 'airflow3-scheduler']) {
      assert.equal(services[name].environment!.KAFKA_BOOTSTRAP_SERVERS, 'broker:19092', name);
      assert.equal(services[name].environment!.SPARK_MASTER_URL, 'spark://spark-master:7077', name);
      assert.equal(services[name].environment!.INPUT_TOPIC, 'input-topic', name);
      assert.equal(services[name].environment!.OUTPUT_TOPIC, 'output-topic', name);
    }
  });

  it('builds every image but Kafka UI from one pinned base, with the versions of stack/.env (the same the native stack uses)', () => {
    const versions = stackVersions(dotEnv);
    assert.deepEqual(versions, { kafka: '4.0.0', spark: '3.5.0', airflow: '2.8.1', airflow3: '3.3.2' });
    assert.equal(dotEnv.BASE_IMAGE, 'debian:bookworm-slim');
    const images = Object.fromEntries(Object.entries(services).map(([name, svc]) => [name, svc.image as string]));
    // a project's requirements: its image over the stack's, for the services of that Airflow that import DAGs
    // (its init and the lineage receiver keep the stack's: a requirement saved neither runs the init again nor loses events)
    const withProject = loadComposeModel(STACK, undefined, { DATAPIPELINE_PROJECT_IMAGE: 'datapipeline/airflow-project:abc', DATAPIPELINE_PROJECT_IMAGE3: 'datapipeline/airflow-project:def', DATAPIPELINE_PROJECT_SPARK_IMAGE: 'datapipeline/spark-project:ghi' });
    const using = (image: string) => withProject.services.filter((x) => x.image === image).map((x) => x.name).sort();
    assert.deepEqual(using('datapipeline/airflow-project:abc'), ['airflow-scheduler', 'airflow-webserver']);
    assert.deepEqual(using('datapipeline/airflow-project:def'), ['airflow-api-server', 'airflow-dag-processor', 'airflow-triggerer', 'airflow3-scheduler']);
    assert.deepEqual(using('datapipeline/spark-project:ghi'), ['spark-master', 'spark-worker']);
    assert.equal(interpolate('${A:-x:${B:-y}}', { B: 'b' }), 'x:b', 'a default holding another, as compose reads it');
    assert.deepEqual(images, {
      postgres: 'datapipeline/postgres:15',
      broker: `datapipeline/kafka:${versions.kafka}`,
      'broker-2': `datapipeline/kafka:${versions.kafka}`,
      'broker-3': `datapipeline/kafka:${versions.kafka}`,
      'kafka-ui': 'kafbat/kafka-ui:v1.3.0',
      'spark-master': `datapipeline/spark:${versions.spark}`,
      'spark-worker': `datapipeline/spark:${versions.spark}`,
      'airflow-init': `datapipeline/airflow:${versions.airflow}`,
      'airflow-webserver': `datapipeline/airflow:${versions.airflow}`,
      'airflow-scheduler': `datapipeline/airflow:${versions.airflow}`,
      'airflow3-init': `datapipeline/airflow:${versions.airflow3}`,
      'airflow-api-server': `datapipeline/airflow:${versions.airflow3}`,
      'airflow3-scheduler': `datapipeline/airflow:${versions.airflow3}`,
      'airflow-dag-processor': `datapipeline/airflow:${versions.airflow3}`,
      'airflow-triggerer': `datapipeline/airflow:${versions.airflow3}`,
      // the OpenLineage receiver runs in the image of the Airflow it serves
      lineage: `datapipeline/airflow:${versions.airflow}`,
      lineage3: `datapipeline/airflow:${versions.airflow3}`,
    });
    for (const name of AIRFLOW3) assert.equal((services[name].build as { args: Record<string, string> }).args.AIRFLOW_VERSION, versions.airflow3, name);
    for (const [name, svc] of Object.entries(services)) {
      if (name === 'kafka-ui') continue;
      const build = svc.build as { context: string; dockerfile: string; network: string; args: Record<string, string> };
      assert.equal(build.context, '.', name);
      assert.equal(build.network, 'host', `${name}: builds reach the package registries`);
      assert.equal(build.args.BASE_IMAGE, 'debian:bookworm-slim', name);
      const text = fs.readFileSync(path.join(STACK, build.dockerfile), 'utf8');
      const froms = [...text.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)];
      assert.equal(froms[0][1], '${BASE_IMAGE}', `${build.dockerfile} starts from the one base`);
      const stages = new Set(froms.map((m) => m[2]).filter(Boolean));
      for (const m of froms.slice(1)) assert.ok(stages.has(m[1]), `${build.dockerfile}: FROM ${m[1]} is one of its own stages`);
      assert.match(text, /certs\/extra-ca\.crt/, `${build.dockerfile} trusts the extra CA`);
    }
    // Kafka and the Spark connector from the poms the native stack uses, Airflow from its constraints
    assert.match(fs.readFileSync(path.join(STACK, 'kafka/Dockerfile'), 'utf8'), /versions\/kafka-pom\.xml[\s\S]*-Dkafka\.version=\$\{KAFKA_VERSION\}/);
    for (const f of ['spark/Dockerfile', 'airflow/Dockerfile']) assert.match(fs.readFileSync(path.join(STACK, f), 'utf8'), /versions\/spark-kafka-pom\.xml[\s\S]*-Dspark\.version=\$\{SPARK_VERSION\}/, f);
    assert.match(fs.readFileSync(path.join(STACK, 'airflow/Dockerfile'), 'utf8'), /-c "\/build\/airflow-constraints-\$\{AIRFLOW_VERSION\}\.txt"/);
    assert.ok(fs.existsSync(path.join(STACK, 'versions', `airflow-constraints-${versions.airflow}.txt`)));
    assert.ok(fs.existsSync(path.join(STACK, 'versions', `airflow-constraints-${versions.airflow3}.txt`)));
    assert.equal(fs.readFileSync(path.join(STACK, 'certs', 'extra-ca.crt'), 'utf8'), '', 'no extra CA unless the user adds one');
  });

  it('has health checks and depends_on conditions, and a one-shot airflow-init', () => {
    for (const name of ['postgres', 'broker', 'spark-master', 'airflow-webserver', 'lineage', 'lineage3', ...AIRFLOW3.filter((n) => n !== 'airflow3-init')]) {
      assert.ok(services[name].healthcheck?.test, `${name} has no health check`);
    }
    const deps = (name: string) => services[name].depends_on as Record<string, { condition: string }>;
    assert.equal(deps('airflow-webserver')['airflow-init'].condition, 'service_completed_successfully');
    assert.equal(deps('airflow-webserver').postgres.condition, 'service_healthy');
    assert.equal(deps('airflow-scheduler').broker.condition, 'service_healthy');
    assert.equal(deps('airflow-scheduler')['spark-master'].condition, 'service_healthy');
    assert.equal(deps('kafka-ui').broker.condition, 'service_healthy');
    assert.equal(deps('spark-worker')['spark-master'].condition, 'service_healthy');
    assert.equal(model.services.find((s) => s.name === 'airflow-init')!.oneShot, true);
    assert.equal(model.services.find((s) => s.name === 'airflow3-init')!.oneShot, true);
    for (const name of ['airflow-api-server', 'airflow3-scheduler', 'airflow-dag-processor', 'airflow-triggerer']) assert.equal(deps(name)['airflow3-init'].condition, 'service_completed_successfully', name);
    assert.equal(deps('airflow3-scheduler').broker.condition, 'service_healthy');
  });

  it('initialises Airflow idempotently (admin user, spark_cluster and spark_default connections) and accepts basic auth on the API', () => {
    const init = fs.readFileSync(path.join(STACK, 'airflow/init.sh'), 'utf8');
    // the admin user: created, or given the stack's password (from the environment) when it changed
    assert.match(init, /python3 \/opt\/datapipeline\/admin_user\.py/);
    const admin = fs.readFileSync(path.join(STACK, 'airflow/admin_user.py'), 'utf8');
    assert.match(admin, /if user is None:[\s\S]*add_user[\s\S]*elif check_password_hash\(user\.password, password\):[\s\S]*else:\s*sm\.reset_password/);
    assert.match(init, /for conn in spark_cluster spark_default; do/);
    assert.match(init, /airflow connections get "\$conn" -o json/);
    assert.match(services['airflow-webserver'].environment!.AIRFLOW__API__AUTH_BACKENDS, /basic_auth/);
  });

  it('names no fixed secret key: each stack makes its own, shared by its Airflow components through a volume', () => {
    const raw = fs.readFileSync(COMPOSE, 'utf8');
    assert.doesNotMatch(raw, /datapipeline-local-dev/);
    assert.doesNotMatch(fs.readFileSync(path.join(STACK, '.env'), 'utf8'), /^AIRFLOW_SECRET_KEY=/m);
    for (const name of ['airflow-webserver', 'airflow-scheduler', 'airflow-api-server', 'airflow3-scheduler']) {
      assert.equal(services[name].environment!.AIRFLOW_SECRET_KEY, '', name);
      assert.ok((services[name].volumes as string[]).includes('airflow-secrets:/opt/airflow/secrets'), name);
    }
    assert.equal(services['airflow-webserver'].environment!.AIRFLOW__WEBSERVER__SECRET_KEY_CMD, 'cat /opt/airflow/secrets/secret_key');
    for (const key of ['AIRFLOW__API__SECRET_KEY_CMD', 'AIRFLOW__API_AUTH__JWT_SECRET_CMD']) assert.equal(services['airflow-api-server'].environment![key], 'cat /opt/airflow/secrets/secret_key', key);
    for (const name of ['airflow-webserver', 'airflow-api-server']) assert.ok(!Object.keys(services[name].environment!).some((k) => /^AIRFLOW__.*(SECRET_KEY|JWT_SECRET)$/.test(k)), `${name} names no key itself`);
  });

  it('keeps data in named volumes, task logs and checkpoints in the workspace, and runs as the workspace owner', () => {
    const volumes = Object.keys(model.raw.volumes as Record<string, unknown>);
    assert.deepEqual(volumes.sort(), ['airflow-ivy', 'airflow-secrets', 'kafka-cluster-1', 'kafka-cluster-2', 'kafka-cluster-3', 'kafka-data', 'postgres-data', 'spark-ivy']);
    assert.ok((services['spark-master'].volumes as string[]).some((v) => v.startsWith('spark-ivy:')));
    for (const name of ['airflow-scheduler', 'spark-worker']) assert.ok((services[name].volumes as string[]).includes('./checkpoints:/opt/checkpoints'), name);
    assert.ok((services['airflow-scheduler'].volumes as string[]).includes('./logs:/opt/airflow/logs'));
    for (const name of ['broker', 'spark-master', 'airflow-scheduler']) assert.match(String(services[name].user), /^\d+:0$/, `${name} runs as DATAPIPELINE_UID`);
    const raw = fs.readFileSync(COMPOSE, 'utf8');
    assert.match(raw, /user: "\$\{DATAPIPELINE_UID:-50000\}:0"/);
  });

  it('shows the services in the view as the native backend names them, with their UIs', () => {
    const view = model.services.map((s) => toServiceStatus(s, undefined, s.labels['datapipeline.id'] ?? s.name));
    const by = Object.fromEntries(view.map((s) => [s.id, s]));
    assert.ok(by.kafka, 'broker is not shown as "kafka"');
    assert.deepEqual(
      view.flatMap((s) => s.ports.filter((p) => p.url).map((p) => `${p.name} ${p.url}`)).sort(),
      // Airflow 2's webserver and Airflow 3's API server (one of them runs)
      ['Airflow UI http://127.0.0.1:8085', 'Airflow UI http://127.0.0.1:8085', 'Kafka UI http://127.0.0.1:8090', 'OpenLineage http://127.0.0.1:5055', 'OpenLineage http://127.0.0.1:5055', 'Spark UI http://127.0.0.1:8080'],
    );
    assert.deepEqual(view.filter((s) => s.ports.some((p) => p.name === 'Airflow UI')).map((s) => s.id).sort(), ['airflow-api-server', 'airflow-webserver']);
    assert.equal(by.kafka.ports[0].name, 'Kafka bootstrap');
  });
});
