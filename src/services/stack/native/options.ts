/** What a native backend is given, and what its state folder recorded of the last start. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAirflowMajor, type AirflowMajor } from '../airflowVersion';
import { DEFAULT_SCALE, parseScale, type StackScale } from '../scale';
import type { StackEndpoints } from '../types';
import type { AirflowDatabase } from './airflowConfig';
import { endpointValues, mergePorts, type NativePorts } from './ports';
import type { ServiceGroup } from './services';
import type { ProjectPaths } from './layout';

export interface NativeBackendOptions {
  /** the stack folder (dags/, scripts/, native/) */
  stackDir: string;
  /** installs: kafka/libs, spark/venv, spark/kafka-jars, airflow/venv */
  cacheDir: string;
  /** pids, logs, Kafka data, Airflow home */
  stateDir: string;
  /** default: the ports this state folder last started with, else the compose ports */
  ports?: Partial<NativePorts>;
  /** Kafka brokers (1 or 3) and Spark workers (1-3); default: what this state folder last started with, else 1 and 1 */
  scale?: Partial<StackScale>;
  /** Airflow 2 (2.8.1) or 3 (AIRFLOW3_VERSION of stack/.env); default: what this state folder last started with, else 2 */
  airflow?: AirflowMajor;
  /** limit the stack to these service groups (default: all) */
  groups?: ServiceGroup[];
  /** environment the services and tools run with (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** Airflow metadata DB URL (default SQLite in the state folder) */
  airflowSqlAlchemyConn?: string;
  /** Airflow's metadata database: the stack's own PostgreSQL (default), sqlite, or a URL (see AirflowDatabase) */
  airflowDatabase?: AirflowDatabase;
  /** per-service health wait; default 3 min (Airflow 8 min) */
  startTimeoutMs?: number;
  /** the workspace's project (services/project/detect.ts): Airflow runs its DAGs, jobs, plugins and include folder; default: the stack folder's */
  project?: ProjectPaths;
}

/** The brokers, workers and Airflow a state folder's stack last started with (a damaged file is ignored). */
export function recordedScale(stateDir: string): { scale: Partial<StackScale>; airflow?: AirflowMajor; project?: string; layer?: string } {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(stateDir, 'scale.json'), 'utf8')) as Partial<StackScale> & { airflow?: unknown; project?: unknown; layer?: unknown };
    const text = (x: unknown) => (typeof x === 'string' ? x : undefined);
    // layer: the project's requirements layer Airflow's processes run on ('' none; undefined: not recorded)
    return { scale: parseScale(v), airflow: parseAirflowMajor(v.airflow), project: text(v.project), layer: text(v.layer) };
  } catch {
    return { scale: {} };
  }
}

/** The ports a state folder's stack last started with (so the CLI finds a stack started on other ports). */
export function recordedPorts(stateDir: string): Partial<NativePorts> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'ports.json'), 'utf8')) as Partial<NativePorts>;
  } catch {
    return undefined;
  }
}

/** The addresses of the stack a state folder last started (its brokers, workers and ports). */
export function recordedEndpoints(stateDir: string): StackEndpoints {
  const scale = { ...DEFAULT_SCALE, ...recordedScale(stateDir).scale };
  return endpointValues(mergePorts(recordedPorts(stateDir), scale), scale);
}
