import { strict as assert } from 'node:assert';
import {
  airflowConfigEnv,
  connectorExtras,
  DEFAULT_PORTS,
  jarArtifact,
  kafkaClusterId,
  kafkaServerProperties,
  layout,
  mergePorts,
  parseJavaMajor,
  parseAirflowDatabase,
  parsePins,
  parsePythonVersion,
  parseServiceGroups,
  pipelineEnv,
  postgresArgs,
  postgresUrl,
  pythonSupported,
  resolveServiceName,
  servicePorts,
  servicesFor,
  endpointValues,
  kafkaDataDir,
  parseScale,
} from '../../src/services/stack/native/config';
import { hexToAddress, parseProcNetTcp, parseProcStat, parseVmRss } from '../../src/services/util/procfs';

const L = layout('/p/stack', '/c', '/s');

describe('native stack configuration', function () {
  it('parses service groups in start order and names an unknown one', function () {
    assert.deepEqual(parseServiceGroups(undefined), ['kafka', 'spark', 'airflow']);
    assert.deepEqual(parseServiceGroups('all'), ['kafka', 'spark', 'airflow']);
    assert.deepEqual(parseServiceGroups(' Airflow , kafka,kafka'), ['kafka', 'airflow']);
    assert.throws(() => parseServiceGroups('kafka,zookeeper'), /Unknown service group "zookeeper".*kafka, spark, airflow/);
    assert.deepEqual(servicesFor(['spark']), ['spark-master', 'spark-worker']);
  });

  it('resolves user-facing service names, including the compose name "broker"', function () {
    assert.deepEqual(resolveServiceName('broker'), ['kafka']);
    assert.deepEqual(resolveServiceName('airflow'), ['lineage', 'airflow-webserver', 'airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer']);
    assert.deepEqual(resolveServiceName('spark-worker'), ['spark-worker']);
    assert.deepEqual(resolveServiceName('postgres'), ['postgres']);
    assert.throws(() => resolveServiceName('hive'), /Unknown service "hive". Known services: kafka, kafka-2, kafka-3, spark-master, spark-worker, spark-worker-2, spark-worker-3, lineage, postgres/);
  });

  it('scales to 3 Kafka brokers and up to 3 Spark workers: the services, their ports, and what is refused', function () {
    assert.deepEqual(servicesFor(['kafka', 'spark'], { kafkaBrokers: 3, sparkWorkers: 2 }), ['kafka', 'kafka-2', 'kafka-3', 'spark-master', 'spark-worker', 'spark-worker-2']);
    assert.deepEqual(servicesFor(['kafka'], { kafkaBrokers: 1, sparkWorkers: 3 }), ['kafka']);
    assert.deepEqual(servicePorts('kafka-3', DEFAULT_PORTS).map((p) => p.port), [9096, 9097]);
    assert.deepEqual(servicePorts('spark-worker-2', DEFAULT_PORTS).map((p) => p.port), [8082]);
    assert.equal(endpointValues(DEFAULT_PORTS, { kafkaBrokers: 3, sparkWorkers: 1 }).kafkaBootstrap, '127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096');
    assert.equal(endpointValues(DEFAULT_PORTS).kafkaBootstrap, '127.0.0.1:9092');
    assert.throws(() => parseScale({ kafkaBrokers: 2 }), /Kafka brokers must be 1 or 3/);
    assert.throws(() => parseScale({ sparkWorkers: '4' }), /Spark workers must be 1, 2 or 3/);
    assert.deepEqual(parseScale({ kafkaBrokers: '3' }), { kafkaBrokers: 3 });
    // the third broker's ports would land on the worker UI's if it were moved there
    assert.throws(() => mergePorts({ sparkWorkerUi: 9096 }, { kafkaBrokers: 3, sparkWorkers: 1 }), /Port 9096 is configured for both sparkWorkerUi and kafka \(broker 3\)/);
    assert.doesNotThrow(() => mergePorts({ sparkWorkerUi: 9096 }));
  });

  it('renders each broker of a 3-broker cluster: its own node id and ports, a quorum of 3, replication factor 3, data apart', function () {
    const props = kafkaServerProperties(DEFAULT_PORTS, '/s/kafka/cluster-3/broker-2', { index: 1, brokers: 3 }).split('\n');
    assert.ok(props.includes('node.id=2'));
    assert.ok(props.includes('controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097'));
    assert.ok(props.includes('listeners=PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095'));
    assert.ok(props.includes('advertised.listeners=PLAINTEXT://127.0.0.1:9094'));
    assert.ok(props.includes('default.replication.factor=3'));
    assert.ok(props.includes('offsets.topic.replication.factor=3'));
    assert.ok(props.includes('transaction.state.log.min.isr=2'));
    assert.equal(kafkaDataDir(L, 1, 3), '/s/kafka/cluster-3/broker-2');
    assert.equal(kafkaDataDir(L, 0, 1), '/s/kafka/data');
  });

  it('refuses invalid or duplicate ports, naming both settings', function () {
    assert.deepEqual(mergePorts({ kafka: 29092 }), { ...DEFAULT_PORTS, kafka: 29092 });
    assert.throws(() => mergePorts({ airflow: 8080 }), /Port 8080 is configured for both sparkMasterUi and airflow/);
    assert.throws(() => mergePorts({ kafka: 70000 }), /Invalid port for kafka: 70000/);
  });

  it('renders a single-node KRaft broker reachable from the host on 127.0.0.1 only', function () {
    const props = kafkaServerProperties({ ...DEFAULT_PORTS, kafka: 24092, kafkaController: 24093 }, '/s/kafka/data');
    const lines = props.split('\n');
    assert.ok(lines.includes('process.roles=broker,controller'));
    assert.ok(lines.includes('listeners=PLAINTEXT://127.0.0.1:24092,CONTROLLER://127.0.0.1:24093'));
    assert.ok(lines.includes('advertised.listeners=PLAINTEXT://127.0.0.1:24092'));
    assert.ok(lines.includes('controller.quorum.voters=1@127.0.0.1:24093'));
    assert.ok(lines.includes('log.dirs=/s/kafka/data'));
    assert.ok(lines.includes('num.partitions=3'));
  });

  it('gives DAGs and jobs the native endpoints through the documented env names', function () {
    const env = pipelineEnv(DEFAULT_PORTS, L, ['/c/spark/kafka-jars/a.jar', '/c/spark/kafka-jars/b.jar'], { INPUT_TOPIC: 'in2', OTHER: 'x' });
    assert.equal(env.KAFKA_BOOTSTRAP_SERVERS, '127.0.0.1:9092');
    assert.equal(env.SPARK_MASTER_URL, 'spark://127.0.0.1:7077');
    assert.equal(env.DATAPIPELINE_SCRIPTS_DIR, '/p/stack/scripts');
    assert.equal(env.SPARK_KAFKA_JARS, '/c/spark/kafka-jars/a.jar,/c/spark/kafka-jars/b.jar');
    assert.equal(env.INPUT_TOPIC, 'in2');
    assert.equal(env.OTHER, undefined);
  });

  it('runs Airflow on 127.0.0.1 with the stack DAGs, SQLite + SequentialExecutor by default, LocalExecutor on Postgres', function () {
    const keys = { secretKey: 's', fernetKey: 'f' };
    const sqlite = airflowConfigEnv(DEFAULT_PORTS, L, keys);
    assert.equal(sqlite.AIRFLOW__CORE__DAGS_FOLDER, '/p/stack/dags');
    assert.equal(sqlite.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, 'sqlite:////s/airflow/airflow.db');
    assert.equal(sqlite.AIRFLOW__CORE__EXECUTOR, 'SequentialExecutor');
    assert.equal(sqlite.AIRFLOW__WEBSERVER__WEB_SERVER_HOST, '127.0.0.1');
    assert.equal(sqlite.AIRFLOW__WEBSERVER__WEB_SERVER_PORT, '8085');
    assert.match(sqlite.AIRFLOW__API__AUTH_BACKENDS, /basic_auth/);
    assert.equal(sqlite.AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION, 'True');
    const pg = airflowConfigEnv(DEFAULT_PORTS, L, { ...keys, sqlAlchemyConn: postgresUrl(DEFAULT_PORTS, 'p/w+') });
    assert.equal(pg.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, 'postgresql+psycopg2://airflow:p%2Fw%2B@127.0.0.1:5432/airflow');
    assert.equal(pg.AIRFLOW__CORE__EXECUTOR, 'LocalExecutor');
    assert.equal(pg.AIRFLOW__CORE__PARALLELISM, '2');
  });

  it('keeps Airflow on the stack\u2019s own PostgreSQL by default, SQLite only when named; the server listens on 127.0.0.1 only', function () {
    assert.equal(parseAirflowDatabase(undefined), 'postgres');
    assert.equal(parseAirflowDatabase('sqlite'), 'sqlite');
    assert.deepEqual(parseAirflowDatabase('postgresql://u:p@127.0.0.1:5433/af'), { url: 'postgresql://u:p@127.0.0.1:5433/af' });
    assert.throws(() => parseAirflowDatabase('oracle'), /"oracle" is not an Airflow database: use postgres \(default\), sqlite, or a postgresql:\/\/ URL/);
    const args = postgresArgs(DEFAULT_PORTS, '/s/postgres/data', '/s/postgres/run');
    assert.deepEqual(args.slice(0, 4), ['-D', '/s/postgres/data', '-p', '5432']);
    assert.ok(args.includes('listen_addresses=127.0.0.1'));
    assert.ok(args.includes('unix_socket_directories=/s/postgres/run'));
    assert.deepEqual(servicesFor(['airflow']), ['lineage', 'postgres', 'airflow-webserver', 'airflow-scheduler']);
  });

  it('reads Java and Python versions and knows which Pythons Airflow 2.8.1 supports', function () {
    assert.equal(parseJavaMajor('openjdk version "17.0.15" 2025-04-15'), 17);
    assert.equal(parseJavaMajor('java version "1.8.0_392"'), 8);
    assert.equal(parseJavaMajor('nonsense'), undefined);
    const v = parsePythonVersion('Python 3.11.7\n')!;
    assert.deepEqual(v, { major: 3, minor: 11, text: '3.11.7' });
    assert.equal(pythonSupported(v), true);
    assert.equal(pythonSupported({ major: 3, minor: 8 }), false);
    assert.equal(pythonSupported({ major: 3, minor: 12 }), false);
  });

  it('parses the Airflow pins file and rejects a line that is not name==version', function () {
    const pins = parsePins('# constraints\nFlask_AppBuilder==4.3.10\napache-airflow==2.8.1  # core\n\n');
    assert.equal(pins.get('flask-appbuilder'), '4.3.10');
    assert.equal(pins.get('apache-airflow'), '2.8.1');
    assert.throws(() => parsePins('requests>=2'), /Bad pin line: "requests>=2"/);
  });

  it('keeps only connector jars pyspark does not already ship', function () {
    assert.equal(jarArtifact('kafka-clients-3.4.1.jar'), 'kafka-clients');
    assert.equal(jarArtifact('spark-sql-kafka-0-10_2.12-3.5.0.jar'), 'spark-sql-kafka-0-10_2.12');
    assert.deepEqual(
      connectorExtras(['spark-sql-kafka-0-10_2.12-3.5.0.jar', 'kafka-clients-3.4.1.jar', 'commons-pool2-2.11.1.jar', 'slf4j-api-2.0.7.jar'], ['slf4j-api-2.0.7.jar', 'zstd-jni-1.5.5-4.jar']),
      ['commons-pool2-2.11.1.jar', 'kafka-clients-3.4.1.jar', 'spark-sql-kafka-0-10_2.12-3.5.0.jar'],
    );
  });

  it('makes a Kafka cluster id', function () {
    assert.match(kafkaClusterId(Buffer.alloc(16, 7)), /^[A-Za-z0-9_-]{22}$/);
    // never a leading "-" (a tool would read `-t -xyz` as an option: StorageTool refused 1 start in 64)
    for (let b = 0; b < 256; b++) assert.doesNotMatch(kafkaClusterId(Buffer.alloc(16, b)), /^-/, `first byte ${b}`);
    assert.throws(() => kafkaClusterId(Buffer.alloc(8)));
  });
});

describe('native stack /proc parsing', function () {
  it('lists listening sockets with their address and inode', function () {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51234 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:2384 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 51299 1 0000000000000000 20 4 30 10 -1',
      '   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    assert.deepEqual(parseProcNetTcp(text), [
      { localAddress: '127.0.0.1', port: 9092, inode: 51234 },
      { localAddress: '0.0.0.0', port: 8080, inode: 777 },
    ]);
  });

  it('decodes IPv6 addresses, including IPv4-mapped loopback', function () {
    assert.equal(hexToAddress('0000000000000000FFFF00000100007F'), '::ffff:127.0.0.1');
    assert.equal(hexToAddress('00000000000000000000000000000000'), '::');
    assert.equal(hexToAddress('00000000000000000000000001000000'), '::1');
  });

  it('parses /proc/PID/stat even when the program name has spaces and parentheses', function () {
    const st = parseProcStat('4121 (java (main) x) S 4100 4100 4100 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 30 0 987654 1000 200')!;
    assert.equal(st.pid, 4121);
    assert.equal(st.comm, 'java (main) x');
    assert.equal(st.state, 'S');
    assert.equal(st.ppid, 4100);
    assert.equal(st.pgrp, 4100);
    assert.equal(st.startTime, 987654);
  });

  it('reads VmRSS in bytes', function () {
    assert.equal(parseVmRss('Name:\tjava\nVmRSS:\t  393216 kB\nThreads: 40\n'), 393216 * 1024);
    assert.equal(parseVmRss('Name:\tkthreadd\n'), 0);
  });
});

describe('native stack: a workspace gives DAGs and jobs, never the shared venvs\' packages', function () {
  it("a project's stack/versions and .env are not what provisions the shared cache: the extension's are", () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const os = require('node:os') as typeof import('node:os');
    const path = require('node:path') as typeof import('node:path');
    const { NativeBackend } = require('../../src/services/stack/native/nativeBackend') as typeof import('../../src/services/stack/native/nativeBackend');
    const { provisionSteps } = require('../../src/services/stack/native/provision') as typeof import('../../src/services/stack/native/provision');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-ws-'));
    try {
      const stack = path.join(dir, 'project', 'stack');
      fs.mkdirSync(path.join(stack, 'versions'), { recursive: true });
      fs.mkdirSync(path.join(stack, 'dags'));
      // a project's own files: its pins and requirements, and a .env of its compose variables
      fs.cpSync(path.join(__dirname, '../../stack/versions'), path.join(stack, 'versions'), { recursive: true });
      fs.writeFileSync(path.join(stack, 'versions', 'airflow-requirements.txt'), 'leaky-package==1.0\n');
      fs.writeFileSync(path.join(stack, '.env'), 'POSTGRES_USER=airflow\nAIRFLOW_UID=50000\n');
      const backend = new NativeBackend({ stackDir: stack, cacheDir: path.join(dir, 'cache'), stateDir: path.join(dir, 'state') });
      const bundled = path.resolve(__dirname, '../../stack');
      assert.equal(backend.layout.dagsDir, path.join(stack, 'dags'), 'the DAGs are the project\'s');
      assert.equal(backend.layout.versionsDir, path.join(bundled, 'versions'));
      assert.equal(backend.layout.envFile, path.join(bundled, '.env'));
      assert.equal(backend.layout.nativeDir, path.join(bundled, 'native'));
      const pre = { python: 'python3', pythonVersion: '3.11.2', pythonMinor: '3.11', java: 'java', javaMajor: 17 } as unknown as Parameters<typeof provisionSteps>[1];
      const steps = provisionSteps(backend.layout, pre);
      assert.ok(steps.length >= 4, 'the .env of the project is not read for versions (no "no valid KAFKA_VERSION")');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('native stack: OpenLineage settings', function () {
  it('the spark-submit of Airflow\u2019s tasks turns the listener on only when it is on the classpath; Airflow gets the provider\u2019s transport', () => {
    const { airflowSparkDefaults } = require('../../src/services/stack/native/serviceSpecs') as typeof import('../../src/services/stack/native/serviceSpecs');
    const { airflowConfigEnv, layout } = require('../../src/services/stack/native/config') as typeof import('../../src/services/stack/native/config');
    const l = layout('/s', '/c', '/st');
    const on = airflowSparkDefaults(l, 'http://127.0.0.1:5055').split('\n');
    assert.ok(on.includes('spark.extraListeners io.openlineage.spark.agent.OpenLineageSparkListener'));
    assert.ok(on.includes('spark.openlineage.transport.url http://127.0.0.1:5055'));
    assert.ok(on.includes('spark.openlineage.namespace datapipeline'));
    assert.ok(!airflowSparkDefaults(l).includes('openlineage'), 'no jar, no listener (a missing listener class would fail every job)');
    const env = airflowConfigEnv({ ...DEFAULT_PORTS, lineage: 25055 }, l, { fernetKey: 'f', secretKey: 's' });
    assert.deepEqual(JSON.parse(env.AIRFLOW__OPENLINEAGE__TRANSPORT), { type: 'http', url: 'http://127.0.0.1:25055', endpoint: 'api/v1/lineage', timeout: 5 });
    assert.equal(env.DATAPIPELINE_LINEAGE_URL, 'http://127.0.0.1:25055');
    assert.equal(env.AIRFLOW__OPENLINEAGE__NAMESPACE, 'datapipeline');
  });
});
