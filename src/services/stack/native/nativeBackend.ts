/**
 * The native stack backend: Kafka (KRaft), a Spark standalone master + worker and Airflow
 * (webserver + scheduler) as local processes on 127.0.0.1, supervised and recorded in a state
 * folder so any later caller (CLI, extension, tests) can see, stop or restart exactly them.
 *
 * This file is the lifecycle (provision, start in waves, stop, restart, reset, status, change
 * events, spark-submit). How each service runs is in serviceSpecs.ts; PostgreSQL in postgres.ts,
 * Airflow's first start in airflowInit.ts, the stack's secrets in secrets.ts, processes and their
 * records in processes.ts.
 */
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
  AirflowMajor,
  ALL_GROUPS,
  brokerPorts,
  DEFAULT_SCALE,
  endpointValues,
  HOST,
  instanceIndex,
  isKafkaBroker,
  isSparkWorker,
  layout as makeLayout,
  MAX_SCALE,
  MEMORY,
  mergePorts,
  MOVE_PORTS_HINT,
  NativeLayout,
  NativePorts,
  NativeServiceId,
  airflowName,
  otherAirflow,
  parseAirflowMajor,
  parseScale,
  resolveServiceName,
  SERVICE_ORDER,
  SERVICE_GROUP,
  SERVICE_LABEL,
  ServiceGroup,
  servicePorts,
  servicesFor,
  StackScale,
  workerUiPort,
} from './config';
import { airflowHealth, HealthResult, kafkaHealth, sparkMasterHealth } from './health';
import { canBind, describeHolder, findPortHolders, pssBytes, rssBytes } from '../../util/procfs';
import { abortError, ProcessStore, sleep, tailLines } from './processes';
import { checkDisk, checkPrerequisites, localConnectorJars, Prerequisites, provisionSteps, run, runSteps, stepsNeeded } from './provision';
import { which } from '../../util/which';
import { extensionRoot } from '../../util/paths';
import { withStateLock } from './stateLock';
import { NativePostgres, postgresUser, rootPostgresDir } from './postgres';
import { stackSecrets } from './secrets';
import { lastStackOwner, recordStackStart, type StackOwner } from '../owner';
import { ServiceSpecs, type ServiceSpec } from './serviceSpecs';
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
}

const STOP_GRACE_MS = 20000;
/** run/ records change in bursts (a temp file, then its rename): read them once the burst is over */
const WATCH_DEBOUNCE_MS = 100;
/** for what leaves no record: a supervisor killed with SIGKILL */
const FALLBACK_POLL_MS = 30_000;

/** Provisioning needs roughly this much free disk (Airflow venv ~1 GB, pyspark ~350 MB, jars). */
const DISK_NEEDED = 3 * 2 ** 30;

export class NativeBackend implements StackBackend {
  readonly kind = 'native' as const;
  readonly ports: NativePorts;
  readonly scale: StackScale;
  readonly airflow: AirflowMajor;
  readonly groups: ServiceGroup[];
  readonly layout: NativeLayout;
  private readonly env: NodeJS.ProcessEnv;
  private readonly store: ProcessStore;
  private readonly events = new EventEmitter();
  private pollTimer?: NodeJS.Timeout;
  private watcher?: fs.FSWatcher;
  private watchDebounce?: NodeJS.Timeout;
  private lastSignature = '';
  private prereq?: Prerequisites;
  private readonly postgres: NativePostgres;
  private readonly specs: ServiceSpecs;

  constructor(private readonly opts: NativeBackendOptions) {
    const recorded = recordedScale(opts.stateDir);
    this.scale = { ...DEFAULT_SCALE, ...recorded.scale, ...parseScale(opts.scale) };
    this.airflow = opts.airflow ?? recorded.airflow ?? 2;
    this.ports = mergePorts({ ...recordedPorts(opts.stateDir), ...opts.ports }, this.scale);
    this.groups = opts.groups?.length ? ALL_GROUPS.filter((g) => opts.groups!.includes(g)) : [...ALL_GROUPS];
    this.layout = makeLayout(opts.stackDir, opts.cacheDir, opts.stateDir, this.airflow);
    // The stack's programs and versions are the extension's, never a workspace's: the supervisor, and
    // the versions, poms, constraints and requirements that provision the venvs and jars in the cache,
    // which every workspace shares (a project's stack/versions must not install its packages there,
    // and a project's .env holds its own variables). A workspace gives its DAGs, jobs and plugins.
    const bundled = path.join(extensionRoot(__dirname), 'stack');
    this.layout.nativeDir = path.join(bundled, 'native');
    this.layout.versionsDir = path.join(bundled, 'versions');
    this.layout.envFile = path.join(bundled, '.env');
    // PostgreSQL refuses to run as root: run as root (CI, containers), it runs as "nobody", and its
    // data cannot live under a home folder nobody may enter (/root is 0700)
    const pgUser = postgresUser();
    if (pgUser) this.layout.postgresDir = rootPostgresDir(opts.stateDir);
    this.env = opts.env ?? process.env;
    this.store = new ProcessStore(this.layout.runDir, this.layout.logsDir);
    const notProvisioned = (what: string) => this.notProvisioned(what);
    this.postgres = new NativePostgres({ layout: this.layout, ports: this.ports, env: this.env, logPath: this.store.logPath('postgres'), notProvisioned: () => notProvisioned('PostgreSQL') }, pgUser);
    this.specs = new ServiceSpecs({
      layout: this.layout,
      ports: this.ports,
      scale: this.scale,
      airflow: this.airflow,
      env: this.env,
      database: this.database,
      startTimeoutMs: opts.startTimeoutMs,
      postgres: this.postgres,
      logPath: (s) => this.store.logPath(s),
      notProvisioned,
    });
  }

  /** The services this backend manages, in start order. */
  get services(): NativeServiceId[] {
    // the stack's own PostgreSQL runs only when Airflow keeps its metadata there
    return servicesFor(this.groups, this.scale, this.airflow).filter((s) => s !== 'postgres' || this.database === 'postgres');
  }

  /** Where Airflow keeps its metadata (an explicit airflowSqlAlchemyConn wins, as before). */
  get database(): AirflowDatabase {
    if (this.opts.airflowSqlAlchemyConn) return { url: this.opts.airflowSqlAlchemyConn };
    return this.opts.airflowDatabase ?? 'postgres';
  }

  endpoints(): StackEndpoints {
    return endpointValues(this.ports, this.scale);
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
    return stepsNeeded(provisionSteps(this.layout, pre, { postgres: this.database === 'postgres', airflow: this.airflow })).map((s) => s.name);
  }

  async provision(opts: OperationOptions = {}): Promise<void> {
    const pre = await this.prerequisites();
    const steps = provisionSteps(this.layout, pre, { postgres: this.database === 'postgres', airflow: this.airflow });
    if (stepsNeeded(steps).length === 0) return;
    await checkDisk(this.layout.cacheDir, DISK_NEEDED);
    const logFile = path.join(this.layout.cacheDir, 'logs', 'native-provision.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    await withStateLock(
      path.join(this.layout.cacheDir, 'provision-run'),
      'provisioning the native stack',
      () => runSteps(steps, { env: this.specs.toolEnv(pre), signal: opts.signal, log: (s) => fs.appendFileSync(logFile, s) }, opts.onProgress),
      { signal: opts.signal, onWait: (o) => opts.onProgress?.({ step: `Waiting for ${o} to finish provisioning`, percent: 0 }) },
    );
  }

  // ---------------------------------------------------------------- lifecycle

  async start(opts: OperationOptions = {}): Promise<void> {
    await this.provision(opts);
    await this.locked('starting the native stack', opts, () => this.startServices(this.services, opts));
    recordStackStart(this.layout.stateDir, this.stackDir, 'native');
    this.fire();
  }

  get stackDir(): string {
    return this.opts.stackDir;
  }

  async runningFrom(): Promise<StackOwner | undefined> {
    if (!this.allServiceIds().some((s) => this.store.alive(s))) return undefined;
    return lastStackOwner(this.layout.stateDir) ?? { stackDir: this.stackDir, backend: 'native', startedAt: '' };
  }

  async stop(opts: OperationOptions = {}): Promise<void> {
    // the other Airflow too, when it still runs (its setting changed, the stack not restarted since)
    const others = this.otherAirflowAlive();
    const ids = SERVICE_ORDER.filter((s) => this.services.includes(s) || others.includes(s));
    await this.locked('stopping the native stack', opts, () => this.stopServices([...ids].reverse(), opts));
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
      for (const home of ['airflow', 'airflow3']) fs.rmSync(path.join(this.layout.stateDir, home, '.initialized'), { force: true });
      opts.onProgress?.({ step: 'Kafka data, the Airflow database (PostgreSQL and SQLite), Airflow logs and Spark checkpoints deleted', percent: 100 });
    });
    this.fire();
  }

  checkpointDirs(): string[] {
    return [path.join(this.layout.sparkDir, 'checkpoints')];
  }

  /** What reset deletes, each with what it is: the confirmation lists exactly these. */
  private resetTargets(): Array<{ what: string; path: string }> {
    const l = this.layout;
    return [
      { what: 'Kafka topics and messages', path: l.kafkaData },
      { what: 'Kafka topics and messages of the 3-broker cluster', path: path.join(l.kafkaDir, 'cluster-3') },
      { what: 'the Airflow database (PostgreSQL: DAG runs, connections, users)', path: path.join(l.postgresDir, 'data') },
      // both Airflows' homes (Airflow 3 keeps its own; its PostgreSQL database is in the data above)
      ...[path.join(l.stateDir, 'airflow'), path.join(l.stateDir, 'airflow3')].flatMap((home) => [
        { what: `the Airflow database (SQLite${home.endsWith('3') ? ', Airflow 3' : ''})`, path: path.join(home, 'airflow.db') },
        { what: `Airflow task logs${home.endsWith('3') ? ' (Airflow 3)' : ''}`, path: path.join(home, 'logs') },
      ]),
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

  /** Every service any scale runs (a reset must find each one stopped). */
  private allServiceIds(): NativeServiceId[] {
    return [...new Set([...servicesFor(ALL_GROUPS, MAX_SCALE, 2), ...servicesFor(ALL_GROUPS, MAX_SCALE, 3)])];
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
    // "spark" names the master and however many workers this stack runs
    const mine = ids.filter((s) => this.services.includes(s));
    if (mine.length === 0 && ids.every((s) => SERVICE_GROUP[s] === 'airflow')) {
      const own = this.services.filter((s) => SERVICE_GROUP[s] === 'airflow' && s !== 'postgres');
      throw new StackError(`${ids.join(', ')} is not part of this stack: it runs Airflow ${this.airflow} (${own.join(', ')}).`, {
        nextStep: `Use one of ${own.join(', ')}, or switch Airflow (setting datapipeline.stack.airflowVersion, or --airflow ${otherAirflow(this.airflow)}).`,
      });
    }
    if (mine.length === 0) {
      throw new StackError(`${ids.join(', ')} is not part of this stack (it runs ${this.scale.kafkaBrokers} Kafka broker${this.scale.kafkaBrokers === 1 ? '' : 's'} and ${this.scale.sparkWorkers} Spark worker${this.scale.sparkWorkers === 1 ? '' : 's'}).`, {
        nextStep: 'Start it with more (npm run stack -- up --kafka-brokers 3 --spark-workers 2, or the settings datapipeline.stack.kafkaBrokers / sparkWorkers).',
      });
    }
    return mine;
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
    const candidates = groups.filter((g) => servicesFor([g], this.scale, this.airflow).every((s) => !this.store.alive(s)));
    if (candidates.length === 0) return [];
    const status = await this.status();
    return candidates.filter((g) =>
      servicesFor([g], this.scale, this.airflow).every((s) => {
        const st = status.find((x) => x.id === s);
        return st?.state === 'running' && st.health === 'healthy';
      }),
    );
  }

  /**
   * The other Airflow's services still running from this state folder (the setting changed, the
   * stack not restarted yet). With `shared`, also the ids both Airflows have (airflow-scheduler):
   * only when the stack last ran the other Airflow is that process the other's.
   */
  private otherAirflowAlive(shared = false): NativeServiceId[] {
    if (!this.groups.includes('airflow')) return [];
    return servicesFor(['airflow'], this.scale, otherAirflow(this.airflow)).filter(
      (s) => (shared ? s !== 'postgres' : !this.services.includes(s)) && !!this.store.alive(s),
    );
  }

  /**
   * The other Airflow's processes (the stack ran 2.8.1 and now runs 3, or back): stopped before this
   * one starts on the same port. Only processes; each keeps its own database and home.
   */
  private async stopOtherAirflow(opts: OperationOptions): Promise<void> {
    const last = recordedScale(this.layout.stateDir).airflow;
    if (!last || last === this.airflow) return;
    const other = this.otherAirflowAlive(true);
    if (!other.length) return;
    opts.onProgress?.({ step: `Stopping Airflow ${last} (the stack now runs Airflow ${this.airflow}; each keeps its own database)`, percent: 0 });
    await this.stopServices([...other].reverse(), opts);
  }

  private async startServices(ids: NativeServiceId[], opts: OperationOptions): Promise<void> {
    if (ids.some((s) => SERVICE_GROUP[s] === 'airflow')) await this.stopOtherAirflow(opts);
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
    const secrets = stackSecrets(this.layout.stateDir);
    fs.writeFileSync(path.join(this.layout.stateDir, 'ports.json'), JSON.stringify(this.ports, null, 2));
    fs.writeFileSync(path.join(this.layout.stateDir, 'scale.json'), JSON.stringify({ ...this.scale, airflow: this.airflow }, null, 2));
    // Airflow's processes start together once its PostgreSQL is healthy (they need it; not each
    // other), and so do the brokers of a cluster (a KRaft quorum of 3 elects no leader until 2 run)
    const airflowProcess = (s: NativeServiceId) => SERVICE_GROUP[s] === 'airflow' && s !== 'postgres';
    const together = (a: NativeServiceId, b: NativeServiceId) => (airflowProcess(a) && airflowProcess(b)) || (isKafkaBroker(a) && isKafkaBroker(b));
    const waves: NativeServiceId[][] = [];
    for (const s of toStart) {
      const last = waves[waves.length - 1];
      if (last && together(last[0], s)) last.push(s);
      else waves.push([s]);
    }
    const started: NativeServiceId[] = [];
    const progress = (step: string, done: number, service?: ServiceId) =>
      opts.onProgress?.({ step, percent: Math.round((done / toStart.length) * 100), service } as StackProgress);
    let done = 0;
    try {
      for (const wave of waves) {
        const specs = wave.map((s) => [s, this.specs.spec(s, pre, secrets)] as const);
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

  /** The pyspark installation (SPARK_HOME) inside the Spark venv. */
  sparkHome(): string {
    return this.specs.sparkHome();
  }

  private notProvisioned(what: string): StackError {
    return new StackError(`${what} is not installed in ${this.layout.cacheDir}.`, {
      nextStep: 'Provision the native stack first: npm run stack -- provision (or DataPipeline: Start Stack).',
    });
  }

  /** Runs the `airflow` CLI of the native stack with its environment (home, DB, DAGs folder). */
  async airflowCli(args: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const airflow = path.join(this.layout.airflowVenv, 'bin', 'airflow');
    if (!fs.existsSync(airflow)) throw this.notProvisioned('Airflow');
    const env = this.specs.airflowEnv(await this.prerequisites(), stackSecrets(this.layout.stateDir));
    return run(airflow, args, { env, cwd: this.layout.airflowHome, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  // ---------------------------------------------------------------- status, logs, events

  async status(): Promise<ServiceStatus[]> {
    const e = this.endpoints();
    const g = this.groups;
    const brokers = this.services.filter(isKafkaBroker);
    const [kafka, spark, airflow, postgres] = await Promise.all([
      Promise.all(brokers.map((b) => kafkaHealth(`${HOST}:${brokerPorts(this.ports, instanceIndex(b)).kafka}`, 3000))),
      g.includes('spark') ? sparkMasterHealth(e.sparkUiUrl, false) : undefined,
      g.includes('airflow') ? airflowHealth(e.airflowUrl, 3000, this.airflow) : undefined,
      this.services.includes('postgres') ? this.postgres.status() : undefined,
    ]);
    const out = this.services.map((s) => {
      let h: HealthResult | undefined;
      if (isKafkaBroker(s)) h = kafka[brokers.indexOf(s)];
      else if (s === 'spark-master') h = spark;
      else if (isSparkWorker(s)) {
        const alive = (spark?.status?.workers ?? []).some((w) => w.state === 'ALIVE' && w.webUiAddress.endsWith(`:${workerUiPort(this.ports, instanceIndex(s))}`));
        h = { ok: !!spark?.ok && alive, detail: alive ? `registered with the master, ${MEMORY.sparkWorkerCores} cores, ${MEMORY.sparkWorkerMemory}` : 'not registered with the master' };
      } else if (s === 'postgres') h = postgres;
      else if (s === 'airflow-webserver' || s === 'airflow-api-server') h = airflow?.web;
      else if (s === 'airflow-dag-processor') h = airflow?.dagProcessor;
      else if (s === 'airflow-triggerer') h = airflow?.triggerer;
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
    // the other Airflow, while it still runs: shown, so nothing runs unseen (Start Stack switches)
    const other = airflowName(otherAirflow(this.airflow));
    const stale = this.otherAirflowAlive().map((s): ServiceStatus => ({
      id: s,
      label: `${SERVICE_LABEL[s]} (${other})`,
      ports: servicePorts(s, this.ports).map((p) => ({ name: p.name, host: HOST, port: p.port, url: p.url })),
      state: 'running',
      health: 'none',
      pid: this.store.alive(s)?.pid,
      detail: `${other} still runs: Start Stack switches to ${airflowName(this.airflow)}`,
    }));
    return [...out, ...stale];
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

  /**
   * Fires when a service starts, stops or exits, whoever did it (this window, the CLI, a crash):
   * the supervisor writes the run and exit records in the state folder's run/ directory, and a
   * watch on it reads the records again ~100 ms after they change. A slow poll stays for what
   * leaves no record (a supervisor killed with SIGKILL).
   */
  onDidChange(listener: () => void): Disposable {
    this.events.on('change', listener);
    this.ensureWatching();
    return {
      dispose: () => {
        this.events.off('change', listener);
        if (this.events.listenerCount('change') === 0) this.stopWatching();
      },
    };
  }

  private signature(): string {
    return this.services.map((s) => `${s}:${this.store.alive(s)?.pid ?? (this.store.readExit(s)?.code ?? '-')}`).join(',');
  }

  /** True when the records changed (and listeners were told). */
  private check(): boolean {
    const sig = this.signature();
    if (sig === this.lastSignature) return false;
    this.lastSignature = sig;
    this.events.emit('change');
    return true;
  }

  private ensureWatching(): void {
    if (this.pollTimer) return;
    this.lastSignature = this.signature();
    try {
      fs.mkdirSync(this.layout.runDir, { recursive: true });
      this.watcher = fs.watch(this.layout.runDir, () => {
        if (this.watchDebounce) return;
        this.watchDebounce = setTimeout(() => {
          this.watchDebounce = undefined;
          // an exit record is written just before its supervisor exits: look again once it has
          if (!this.check()) setTimeout(() => this.check(), 1000).unref();
        }, WATCH_DEBOUNCE_MS);
        this.watchDebounce.unref();
      });
      this.watcher.on('error', () => this.watcher?.close());
      this.watcher.unref();
    } catch {
      // no watch here (a file system without inotify): the poll below sees changes, slower
      this.watcher = undefined;
    }
    this.pollTimer = setInterval(() => this.check(), this.watcher ? FALLBACK_POLL_MS : 3000);
    this.pollTimer.unref();
  }

  private stopWatching(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.watchDebounce) clearTimeout(this.watchDebounce);
    this.watcher?.close();
    this.pollTimer = this.watchDebounce = this.watcher = undefined;
  }

  private fire(): void {
    this.lastSignature = this.signature();
    this.events.emit('change');
  }

  // ---------------------------------------------------------------- spark-submit

  /** The spark-submit argv (without the program) for a request, against this stack's master. */
  sparkSubmitArgv(req: SparkSubmitRequest): string[] {
    const local = isLocalMaster(req);
    return buildSparkSubmitArgv(req, {
      masterUrl: this.endpoints().sparkMasterUrl,
      kafkaJars: localConnectorJars(this.layout),
      defaultConf: {
        ...(local ? { 'spark.driver.host': HOST, 'spark.driver.bindAddress': HOST } : {}),
        'spark.pyspark.python': path.join(this.layout.sparkVenv, 'bin', 'python'),
        'spark.ui.showConsoleProgress': 'false',
      },
    });
  }

  async submitSpark(req: SparkSubmitRequest, io: SparkSubmitIO): Promise<SparkSubmitResult> {
    const sparkHome = this.specs.sparkHome();
    const submit = path.join(sparkHome, 'bin', 'spark-submit');
    const env = this.specs.baseEnv(this.prereq);
    env.SPARK_HOME = sparkHome;
    env.PYSPARK_PYTHON = path.join(this.layout.sparkVenv, 'bin', 'python');
    if (!isLocalMaster(req)) {
      // a cluster elsewhere reaches the driver by this machine's name, not 127.0.0.1
      delete env.SPARK_LOCAL_IP;
      delete env.SPARK_LOCAL_HOSTNAME;
      delete env.SPARK_PUBLIC_DNS;
    }
    if (!env.JAVA_HOME && !which('java', env)) {
      throw new StackError('Java was not found: spark-submit needs Java 17.', { nextStep: 'Install a Java 17 JDK and put it on PATH or set JAVA_HOME.' });
    }
    return runSparkSubmit(submit, this.sparkSubmitArgv(req), { env, cwd: path.dirname(req.file) }, io);
  }

  dispose(): void {
    this.stopWatching();
    this.events.removeAllListeners();
  }
}

/** The stack's own master or another on this machine: executors reach the driver on 127.0.0.1. */
function isLocalMaster(req: SparkSubmitRequest): boolean {
  return !req.master || /^spark:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(req.master);
}

/** The brokers, workers and Airflow a state folder's stack last started with (a damaged file is ignored). */
function recordedScale(stateDir: string): { scale: Partial<StackScale>; airflow?: AirflowMajor } {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(stateDir, 'scale.json'), 'utf8')) as Partial<StackScale> & { airflow?: unknown };
    return { scale: parseScale(v), airflow: parseAirflowMajor(v.airflow) };
  } catch {
    return { scale: {} };
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
