/**
 * How each native service runs: its argv, environment, working folder, first-start preparation
 * (Kafka storage format, PostgreSQL initdb, Airflow init) and health check; and the environments
 * the stack's tools, DAGs and spark-submit see. No process is started here (see NativeBackend).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OperationOptions, StackError } from '../types';
import {
  AirflowDatabase, airflowConfigEnv, airflowDatabaseName, AirflowMajor, endpointValues, HOST, instanceIndex, isKafkaBroker, isSparkWorker, kafkaDataDir, kafkaLog4j2, kafkaServerProperties, MEMORY,
  NativeLayout, NativePorts, NativeServiceId, pipelineEnv, portOf, postgresUrl, StackScale, workerUiPort, containerPathMap,
} from './config';
import { stackAirflowPassword } from '../airflowPassword';
import { airflowInit, retireOtherProjectDags } from './airflowInit';
import type { HealthResult } from './health';
import { probeHealth } from './healthProbe';
import { nativeService } from './services';
import type { NativePostgres } from './postgres';
import { localConnectorJars, Prerequisites, run } from './provision';
import { linkOpenlineageJar, sparkLineageConf, venvPyspark } from './openlineage';
import type { Secrets } from './secrets';

export interface ServiceSpec {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  prepare?: (opts: OperationOptions) => Promise<void>;
  health: () => Promise<HealthResult>;
  timeoutMs: number;
}

/** JVM options of the stack's daemons (Kafka, the Spark master and worker): small and steady, not fast. */
const LEAN_JVM = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:ReservedCodeCacheSize=48m'];

export interface SpecContext {
  layout: NativeLayout;
  ports: NativePorts;
  scale: StackScale;
  airflow: AirflowMajor;
  /** the environment the backend was given */
  env: NodeJS.ProcessEnv;
  database: AirflowDatabase;
  /** overrides every service's health wait */
  startTimeoutMs?: number;
  postgres: NativePostgres;
  logPath(service: NativeServiceId): string;
  notProvisioned(what: string): StackError;
}

export class ServiceSpecs {
  /** the other projects' DAGs retired, once per backend (its DAGs folder is fixed) */
  private retired?: Promise<void>;

  constructor(private readonly c: SpecContext) {}

  /** The pyspark installation (SPARK_HOME) inside the Spark venv. */
  sparkHome(): string {
    const home = venvPyspark(this.c.layout.sparkVenv);
    if (!home) {
      throw new StackError(`Spark is not installed in ${this.c.layout.sparkVenv}.`, {
        nextStep: 'Provision the native stack first: npm run stack -- provision (or DataPipeline: Start Stack).',
      });
    }
    return home;
  }

  javaHome(pre?: Prerequisites): string | undefined {
    return this.c.env.JAVA_HOME || pre?.javaHome;
  }

  /** Environment for tools run during provisioning (Maven needs JAVA_HOME). */
  toolEnv(pre: Prerequisites): NodeJS.ProcessEnv {
    const env = { ...this.c.env };
    if (pre.javaHome && !env.JAVA_HOME) env.JAVA_HOME = pre.javaHome;
    return env;
  }

  /** What DAGs, jobs and spark-submit see: endpoints, scripts dir, connector jars, Spark/Java homes. */
  baseEnv(pre?: Prerequisites): NodeJS.ProcessEnv {
    const l = this.c.layout;
    const env: NodeJS.ProcessEnv = { ...this.c.env, ...pipelineEnv(this.c.ports, l, localConnectorJars(l), this.c.env, this.c.scale) };
    const javaHome = this.javaHome(pre);
    if (javaHome) {
      env.JAVA_HOME = javaHome;
      env.PATH = `${path.join(javaHome, 'bin')}:${env.PATH ?? ''}`;
    }
    env.SPARK_LOCAL_IP = HOST;
    env.SPARK_LOCAL_HOSTNAME = 'localhost';
    env.SPARK_PUBLIC_DNS = HOST;
    return env;
  }

  /** OpenLineage on (the default); DATAPIPELINE_LINEAGE=off in the backend's environment turns it off. */
  lineageOn(): boolean {
    return (this.c.env.DATAPIPELINE_LINEAGE ?? '').toLowerCase() !== 'off';
  }

  sparkEnv(pre: Prerequisites): NodeJS.ProcessEnv {
    const sparkHome = this.sparkHome();
    const env = this.baseEnv(pre);
    env.SPARK_HOME = sparkHome;
    env.SPARK_DAEMON_MEMORY = MEMORY.sparkDaemon;
    env.SPARK_DAEMON_JAVA_OPTS = `${LEAN_JVM.join(' ')} ${env.SPARK_DAEMON_JAVA_OPTS ?? ''}`.trim();
    env.SPARK_LOG_DIR = path.join(this.c.layout.sparkDir, 'logs');
    env.SPARK_WORKER_DIR = path.join(this.c.layout.sparkDir, 'work');
    env.SPARK_NO_DAEMONIZE = '1';
    env.PYSPARK_PYTHON = path.join(this.c.layout.sparkVenv, 'bin', 'python');
    return env;
  }

  airflowEnv(pre: Prerequisites, secrets: Secrets): NodeJS.ProcessEnv {
    const l = this.c.layout;
    const env = {
      ...this.baseEnv(pre),
      ...airflowConfigEnv(this.c.ports, l, {
        sqlAlchemyConn: this.sqlAlchemyConn(secrets),
        secretKey: secrets.secretKey,
        fernetKey: secrets.fernetKey,
      }, this.c.airflow),
    };
    // SparkSubmitOperator runs `spark-submit` from PATH: the Airflow venv carries pyspark
    const venvBin = path.join(l.airflowVenv, 'bin');
    env.PATH = `${venvBin}:${env.PATH ?? ''}`;
    env.PYSPARK_PYTHON = path.join(venvBin, 'python');
    // its spark-submit finds its own pyspark; a SPARK_HOME from the user's shell would win over it
    delete env.SPARK_HOME;
    // and its defaults (airflowSparkDefaults): the executors import what the project's tasks import
    env.SPARK_CONF_DIR = airflowSparkConfDir(l);
    // the stack's own Python first: its cluster policy (run tags, container paths), whatever the
    // project's plugins folder holds, and the container paths of the project's compose file
    // (/opt/airflow/scripts) resolved to its folders (native/python/sitecustomize.py)
    const bundled = path.dirname(l.nativeDir);
    env.PYTHONPATH = [path.join(l.nativeDir, 'python'), path.join(bundled, 'plugins'), ...(l.requirementsLayer ? [l.requirementsLayer] : []), ...(env.PYTHONPATH ? [env.PYTHONPATH] : [])].join(path.delimiter);
    env.DATAPIPELINE_PATH_MAP = JSON.stringify(containerPathMap(l));
    if (!this.lineageOn()) {
      // DATAPIPELINE_LINEAGE=off: no OpenLineage events (the provider disabled, the stack's listener idle)
      env.AIRFLOW__OPENLINEAGE__DISABLED = 'True';
      delete env.AIRFLOW__OPENLINEAGE__TRANSPORT;
      delete env.DATAPIPELINE_LINEAGE_URL;
    }
    env.PYTHONUNBUFFERED = '1';
    return env;
  }

  private sqlAlchemyConn(secrets: Secrets): string | undefined {
    const db = this.c.database;
    if (db === 'sqlite') return undefined; // the default: sqlite in the Airflow home
    if (db === 'postgres') return postgresUrl(this.c.ports, secrets.postgresPassword!, this.c.airflow);
    return db.url;
  }

  /** How to run, prepare and health-check one service. */
  spec(s: NativeServiceId, pre: Prerequisites, secrets: Secrets): ServiceSpec {
    const l = this.c.layout;
    const timeoutMs = this.c.startTimeoutMs ?? nativeService(s).entry.startTimeoutMs;
    const health = async () => (await probeHealth([s], this.c, { forStart: true })).get(s)!;
    const e = endpointValues(this.c.ports, this.c.scale);
    if (isKafkaBroker(s)) {
      const index = instanceIndex(s);
      const brokers = this.c.scale.kafkaBrokers;
      const dataDir = kafkaDataDir(l, index, brokers);
      // each broker of a cluster has its own config beside its data
      const confDir = brokers === 1 ? l.kafkaDir : path.dirname(dataDir);
      const props = path.join(confDir, brokers === 1 ? 'server.properties' : `server-${index + 1}.properties`);
      const log4j = path.join(l.kafkaDir, 'log4j2.properties');
      const java = path.join(this.javaHome(pre) ?? '', 'bin', 'java');
      const javaBin = fs.existsSync(java) ? java : pre.java;
      const cp = path.join(l.kafkaLibs, '*');
      // a one-node development broker: the serial collector and the client compiler only (~80 MB
      // less than G1 with C2, which a broker this size does not need)
      const jvm = [`-Xms${MEMORY.kafkaHeap}`, `-Xmx${MEMORY.kafkaHeap}`, ...LEAN_JVM, '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, `-Dkafka.logs.dir=${path.join(l.kafkaDir, 'logs')}`];
      const env = this.baseEnv(pre);
      return {
        argv: [javaBin, ...jvm, '-cp', cp, 'kafka.Kafka', props],
        env,
        cwd: l.kafkaDir,
        timeoutMs,
        health,
        prepare: async (o) => {
          if (!fs.existsSync(l.kafkaLibs)) throw this.c.notProvisioned('Kafka');
          fs.mkdirSync(dataDir, { recursive: true });
          fs.writeFileSync(props, kafkaServerProperties(this.c.ports, dataDir, { index, brokers }));
          fs.writeFileSync(log4j, kafkaLog4j2());
          if (fs.existsSync(path.join(dataDir, 'meta.properties'))) return;
          o.onProgress?.({ step: `Formatting Kafka storage${brokers > 1 ? ` of broker ${index + 1}` : ''} (first start)`, percent: 0, service: s });
          const r = await run(javaBin, ['-Xmx256m', `-Dlog4j2.configurationFile=${log4j}`, '-cp', cp, 'kafka.tools.StorageTool', 'format', `--cluster-id=${secrets.kafkaClusterId}`, '-c', props], {
            env,
            signal: o.signal,
            timeoutMs: 120_000,
          });
          fs.mkdirSync(l.logsDir, { recursive: true });
          fs.appendFileSync(this.c.logPath(s), r.stdout + r.stderr);
          if (r.code !== 0) {
            throw new StackError(`Formatting the Kafka storage in ${dataDir} failed (exit ${r.code}).`, {
              service: s,
              logTail: (r.stdout + r.stderr).split('\n').filter(Boolean).slice(-20),
              nextStep: 'If the data folder is damaged, reset the stack data (npm run stack -- reset), then start again.',
            });
          }
        },
      };
    }
    if (s === 'spark-master' || isSparkWorker(s)) {
      const index = instanceIndex(s);
      const uiPort = workerUiPort(this.c.ports, index);
      const workDir = path.join(l.sparkDir, index === 0 ? 'work' : `work-${index + 1}`);
      const sparkClass = () => path.join(this.sparkHome(), 'bin', 'spark-class');
      const env = () => this.sparkEnv(pre);
      if (!fs.existsSync(l.sparkVenv)) throw this.c.notProvisioned('Spark');
      const argv =
        s === 'spark-master'
          ? [sparkClass(), 'org.apache.spark.deploy.master.Master', '--host', HOST, '--port', String(this.c.ports.sparkMaster), '--webui-port', String(this.c.ports.sparkMasterUi)]
          : [
              sparkClass(),
              'org.apache.spark.deploy.worker.Worker',
              '--host', HOST,
              '--webui-port', String(uiPort),
              '--cores', String(MEMORY.sparkWorkerCores),
              '--memory', MEMORY.sparkWorkerMemory,
              '--work-dir', workDir,
              e.sparkMasterUrl,
            ];
      return {
        argv,
        env: env(),
        cwd: l.sparkDir,
        timeoutMs,
        prepare: async () => {
          fs.mkdirSync(workDir, { recursive: true });
          fs.mkdirSync(path.join(l.sparkDir, 'logs'), { recursive: true });
        },
        health,
      };
    }
    const script = nativeService(s).entry.run;
    if (script) {
      // a catalog service run as a Python script of the stack folder (the OpenLineage receiver)
      const dataDir = path.join(l.stateDir, s);
      // a program of the stack: the extension's own copy (beside native/), never a workspace's
      const argv = [pre.python, ...script.python({ port: portOf(this.c.ports), stackDir: path.dirname(l.nativeDir), dataDir })];
      return {
        argv,
        env: { ...this.c.env, PYTHONUNBUFFERED: '1' },
        cwd: dataDir,
        timeoutMs,
        prepare: async () => {
          fs.mkdirSync(dataDir, { recursive: true });
        },
        health,
      };
    }
    switch (s) {
      case 'postgres': {
        return {
          argv: this.c.postgres.argv(),
          env: this.c.env,
          cwd: l.postgresDir,
          timeoutMs,
          prepare: (o) => this.c.postgres.init(secrets.postgresPassword, o),
          health,
        };
      }
      case 'airflow-webserver':
      case 'airflow-api-server':
      case 'airflow-scheduler':
      case 'airflow-dag-processor':
      case 'airflow-triggerer': {
        const major = this.c.airflow;
        const airflow = path.join(l.airflowVenv, 'bin', 'airflow');
        if (!fs.existsSync(airflow)) throw this.c.notProvisioned(`Airflow ${major}`);
        const env = this.airflowEnv(pre, secrets);
        const pid = path.join(l.runDir, `${s}.airflow.pid`);
        const startedAt = Date.now();
        const port = String(this.c.ports.airflow);
        const argv: Record<typeof s, string[]> = {
          'airflow-webserver': [airflow, 'webserver', '--hostname', HOST, '--port', port, '--pid', pid, '--workers', String(MEMORY.airflowWebWorkers)],
          'airflow-api-server': [airflow, 'api-server', '--host', HOST, '--port', port, '--pid', pid, '--workers', String(MEMORY.airflowWebWorkers)],
          'airflow-scheduler': [airflow, 'scheduler', '--skip-serve-logs', '--pid', pid],
          'airflow-dag-processor': [airflow, 'dag-processor', '--pid', pid],
          'airflow-triggerer': [airflow, 'triggerer', '--skip-serve-logs', '--pid', pid],
        };
        // a heartbeat older than this start belongs to the process before
        const fresh = (h: HealthResult): HealthResult => {
          const beat = /heartbeat (\S+)/.exec(h.detail)?.[1];
          return { ok: h.ok && (beat ? Date.parse(beat) >= startedAt - 2000 : false), detail: h.detail };
        };
        return {
          argv: argv[s],
          env,
          cwd: l.airflowHome,
          timeoutMs,
          prepare: async (o) => {
            fs.rmSync(pid, { force: true });
            fs.mkdirSync(airflowSparkConfDir(l), { recursive: true });
            // the OpenLineage Spark listener on the classpath of the pyspark the tasks submit with
            const listener = this.lineageOn() && linkOpenlineageJar(l, venvPyspark(l.airflowVenv));
            fs.writeFileSync(path.join(airflowSparkConfDir(l), 'spark-defaults.conf'), airflowSparkDefaults(l, listener ? `http://${HOST}:${this.c.ports.lineage}` : undefined));
            await airflowInit(airflow, env, l, this.c.ports.sparkMaster, o, {
              airflow: major,
              python: path.join(l.airflowVenv, 'bin', 'python'),
              database: this.c.database === 'postgres' ? airflowDatabaseName(major) : undefined,
              adminPassword: stackAirflowPassword(l.stateDir),
            });
            // once per start for all of Airflow's processes
            this.retired ??= retireOtherProjectDags(path.join(l.airflowVenv, 'bin', 'python'), env, l, o).catch(() => undefined);
            await this.retired;
          },
          health: async () => {
            const h = await health();
            return nativeService(s).entry.health === 'airflow-web' ? h : fresh(h);
          },
        };
      }
      default:
        throw new Error(`No native service "${s}".`);
    }
  }
}

/** The Spark conf folder of the spark-submit Airflow's tasks run (a SparkSubmitOperator's). */
export function airflowSparkConfDir(l: NativeLayout): string {
  return path.join(l.airflowHome, 'spark-conf');
}

/**
 * The defaults of that spark-submit: the executors' Python workers get the project's requirements
 * layer on their PYTHONPATH (Spark adds spark.executorEnv.PYTHONPATH to its own), as the driver has it
 * from Airflow's environment; they run the driver's Python (PYSPARK_PYTHON, the Airflow venv's). A
 * DAG's own --conf wins over these.
 */
export function airflowSparkDefaults(l: NativeLayout, lineageUrl?: string): string {
  const lines = ['# spark-submit of Airflow\'s tasks on the native stack: written by DataPipeline at each start'];
  // a properties file: a backslash escapes
  if (l.requirementsLayer) lines.push(`spark.executorEnv.PYTHONPATH ${l.requirementsLayer.replace(/\\/g, '\\\\')}`);
  if (lineageUrl) lines.push(...Object.entries(sparkLineageConf(lineageUrl)).map(([k, v]) => `${k} ${v}`));
  return `${lines.join('\n')}\n`;
}



