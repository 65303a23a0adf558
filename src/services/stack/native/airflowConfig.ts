/** The native Airflow's configuration: its database, AIRFLOW__* settings (2.8.1 and 3.x). Pure (unit-tested). */
import * as path from 'node:path';
import type { AirflowMajor } from '../airflowVersion';
import { HOST } from '../catalog';
import type { NativeLayout } from './layout';
import { MEMORY } from './memory';
import type { NativePorts } from './ports';

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
    ...(airflow === 2 ? PARSE_AT_ONCE_AIRFLOW2 : PARSE_AT_ONCE_AIRFLOW3),
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
    ...lineageEnv(`http://${HOST}:${ports.lineage}`),
    ...local,
    ...(airflow === 3 ? airflow3ConfigEnv(ports, l, s) : {}),
  };
}

/**
 * Save → seen: a saved DAG file is parsed at once, a new one found within 1 s (the Docker stack's
 * compose file sets the same). Airflow re-parses a file whose modification time is newer than its
 * last parse on its next loop (about 1 s; `modified_time` is its default sort mode, set here so a
 * user's airflow.cfg cannot turn it off); unchanged files wait `min_file_process_interval`. New files
 * are found when the DAGs folder is listed: every second instead of every 30 s (Airflow 3: every bundle
 * refresh, checked every second). Airflow also holds back a changed DAG's serialized form for 30 s
 * after the last write, and its webserver (Airflow 2: every 10 s) or API server (Airflow 3: for 30 s)
 * serves the copy it has: 0 here, so the REST API lists a changed task as soon as the file is parsed.
 */
export const PARSE_AT_ONCE_AIRFLOW2: Record<string, string> = {
  AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: '1',
  AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL: '30',
  AIRFLOW__SCHEDULER__FILE_PARSING_SORT_MODE: 'modified_time',
  AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL: '0',
  AIRFLOW__CORE__MIN_SERIALIZED_DAG_FETCH_INTERVAL: '0',
};
export const PARSE_AT_ONCE_AIRFLOW3: Record<string, string> = {
  AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '1',
  AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL: '1',
  AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL: '30',
  AIRFLOW__DAG_PROCESSOR__FILE_PARSING_SORT_MODE: 'modified_time',
  // Airflow 3 reads it too: the DAG processor's writes, and how long its API server trusts a cached DAG
  AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL: '0',
};

/** The OpenLineage namespace of the stack's Airflow tasks and Spark applications. */
export const LINEAGE_NAMESPACE = 'datapipeline';

/**
 * Where Airflow's OpenLineage provider sends each task's run events (the stack's receiver) and the
 * stack's listener (plugins/datapipeline_lineage.py) its Kafka offsets. Both backends: the Docker
 * stack gives the receiver's address on its network (http://lineage:5055).
 */
export function lineageEnv(receiverUrl: string): Record<string, string> {
  return {
    AIRFLOW__OPENLINEAGE__TRANSPORT: JSON.stringify({ type: 'http', url: receiverUrl, endpoint: 'api/v1/lineage', timeout: 5 }),
    AIRFLOW__OPENLINEAGE__NAMESPACE: LINEAGE_NAMESPACE,
    DATAPIPELINE_LINEAGE_URL: receiverUrl,
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
    AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES: '1',
  };
}

