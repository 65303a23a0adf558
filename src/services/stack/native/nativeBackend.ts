/**
 * The native stack backend: the catalog's services as local processes on 127.0.0.1, supervised and
 * recorded in a state folder so any later caller (CLI, extension, tests) can see, stop or restart
 * exactly them. This file is the lifecycle; how each service runs is in serviceSpecs.ts, its health
 * in healthProbe.ts, its rows in statusRows.ts, processes and their records in processes.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AirflowRunIO, AirflowRunResult, Disposable, LogOptions, OperationOptions, ServiceId, ServiceStatus, SparkSubmitIO, SparkSubmitRequest, SparkSubmitResult, StackBackend, StackEndpoints, StackError, StackProgress,
} from '../types';
import {
  HOST, AirflowDatabase, AirflowMajor, ALL_GROUPS, DEFAULT_SCALE, endpointValues, layout as makeLayout, MAX_SCALE, mergePorts, NativeLayout, NativePorts, NativeServiceId, airflowName, otherAirflow, parseScale, SERVICE_ORDER, SERVICE_GROUP, SERVICE_LABEL, ServiceGroup, servicesFor, StackScale,
} from './config';
import { probeHealth } from './healthProbe';
import { nativeService, resolveInStack } from './services';
import { startWaves } from '../catalog';
import { portOf } from './ports';
import { rowStatus, stackRows } from './statusRows';
import { pssBytes, rssBytes } from '../../util/procfs';
import { abortError, ProcessStore, tailLines } from './processes';
import { checkDisk, checkPrerequisites, Prerequisites, provisionSteps, run, runSteps, stepsNeeded } from './provision';
import { applyRequirementsLayer } from './requirementsLayer';
import { isAirflowProcess } from './services';
import { extensionRoot } from '../../util/paths';
import { withStateLock } from './stateLock';
import { NativePostgres, postgresUser, rootPostgresDir } from './postgres';
import { stackSecrets } from './secrets';
import { lastStackOwner, recordStackStart, type StackOwner } from '../owner';
import { ServiceSpecs } from './serviceSpecs';
import { followLog } from './logFollow';
import { RecordWatch } from './recordWatch';
import { checkPortsFree, foreignHealthyGroups, stopProcesses, waitHealthy } from './startChecks';
import { describeResetTargets, resetTargets, type ResetTarget } from './resetTargets';
import { recordedEndpoints, recordedPorts, recordedScale, type NativeBackendOptions } from './options';
import { nativeSparkSubmitArgv, submitNative } from './sparkSubmit';
import { spawnStreaming } from './airflowRun';
import { freePort } from '../../util/ports';
import { RUNNER_MODULE } from '../../airflow/taskRun';


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
  private readonly watch: RecordWatch;
  /** the running stack's addresses when it differs from this backend's configuration (see endpoints()) */
  private live?: StackEndpoints;
  private prereq?: Prerequisites;
  private readonly postgres: NativePostgres;
  private readonly specs: ServiceSpecs;

  constructor(private readonly opts: NativeBackendOptions) {
    const recorded = recordedScale(opts.stateDir);
    this.scale = { ...DEFAULT_SCALE, ...recorded.scale, ...parseScale(opts.scale) };
    this.airflow = opts.airflow ?? recorded.airflow ?? 2;
    this.ports = mergePorts({ ...recordedPorts(opts.stateDir), ...opts.ports }, this.scale);
    this.groups = opts.groups?.length ? ALL_GROUPS.filter((g) => opts.groups!.includes(g)) : [...ALL_GROUPS];
    this.layout = makeLayout(opts.stackDir, opts.cacheDir, opts.stateDir, this.airflow, opts.project);
    // The stack's programs and versions are the extension's, never a workspace's: the supervisor, and the
    // versions, poms, constraints and requirements that provision the venvs and jars every workspace shares
    // (a project's .env holds its own variables). A workspace gives its DAGs, jobs, plugins and requirements.
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
    this.watch = new RecordWatch(this.layout.runDir, () => this.signature());
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

  /**
   * Where the stack answers: as it runs when it was started elsewhere (the CLI, another window) with
   * other brokers, workers or ports and this backend was given none (read again at each status), else as configured.
   */
  endpoints(): StackEndpoints {
    return this.live ?? endpointValues(this.ports, this.scale);
  }

  private followRunning(rows: ServiceStatus[]): void {
    const given = Object.keys(this.opts.scale ?? {}).length > 0 || Object.keys(this.opts.ports ?? {}).length > 0;
    if (given || !rows.some((r) => r.pid !== undefined)) {
      this.live = undefined;
      return;
    }
    this.live = recordedEndpoints(this.layout.stateDir);
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
  async reloadRequirements(opts: OperationOptions = {}): Promise<void> {
    const airflow = this.services.filter((s) => SERVICE_GROUP[s] === 'airflow');
    // not running: the next start makes the layer
    if (!airflow.some((s) => isAirflowProcess(s) && !!this.store.alive(s))) return;
    await this.locked("installing the project's requirements", opts, () => this.startServices(airflow, opts));
    this.fire();
  }

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

  /** "Kafka topics and messages: /…/kafka/data", for each target that exists. */
  describeReset(): string[] {
    return describeResetTargets(this.layout);
  }

  private resetTargets(): ResetTarget[] {
    return resetTargets(this.layout);
  }

  checkpointDirs(): string[] {
    return [path.join(this.layout.sparkDir, 'checkpoints')];
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
    return resolveInStack(service, this);
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
    const { airflow: last, project, layer } = recordedScale(this.layout.stateDir);
    // another project's DAGs, or this project's requirements changed: Airflow's processes restart with
    // this project's DAGs and layer (its database and runs stay)
    const serving = servicesFor(['airflow'], this.scale, this.airflow).filter((s) => isAirflowProcess(s) && !!this.store.alive(s));
    if (serving.length && last === this.airflow) {
      if (project && project !== this.layout.dagsDir) {
        opts.onProgress?.({ step: `Restarting Airflow with the DAGs of ${this.layout.dagsDir} (it served ${project})`, percent: 0 });
        await this.stopServices([...serving].reverse(), opts);
      } else if (layer !== undefined && layer !== (this.layout.requirementsLayer ?? '')) {
        // only the processes that import the DAGs and run their tasks: the web server reads the
        // serialized DAGs from the database and keeps serving
        const importing = serving.filter((s) => nativeService(s).entry.health !== 'airflow-web');
        opts.onProgress?.({ step: `Restarting ${importing.map((s) => SERVICE_LABEL[s]).join(', ')} with the project's requirements as they are now (${path.basename(this.opts.project?.requirements ?? 'requirements.txt')} changed)`, percent: 0 });
        await this.stopServices([...importing].reverse(), opts);
      }
    }
    if (!last || last === this.airflow) return;
    const other = this.otherAirflowAlive(true);
    if (!other.length) return;
    opts.onProgress?.({ step: `Stopping Airflow ${last} (the stack now runs Airflow ${this.airflow}; each keeps its own database)`, percent: 0 });
    await this.stopServices([...other].reverse(), opts);
  }

  private async startServices(ids: NativeServiceId[], opts: OperationOptions): Promise<void> {
    const airflowToo = ids.some((s) => SERVICE_GROUP[s] === 'airflow');
    if (airflowToo) {
      // the project's requirements layer is made (or found in the cache) before anything stops: a
      // requirement Airflow's constraints refuse leaves the running Airflow as it was
      await applyRequirementsLayer(this.layout, this.airflow, this.opts.project?.requirements, this.env, opts);
      await this.stopOtherAirflow(opts);
    }
    let toStart = ids.filter((s) => !this.store.alive(s));
    if (toStart.length === 0) return;
    const foreign = await foreignHealthyGroups(toStart, { store: this.store, scale: this.scale, airflow: this.airflow, status: () => this.status() });
    for (const g of foreign) {
      opts.onProgress?.({ step: `${g} is already running and healthy (started outside ${this.layout.stateDir}): using it`, percent: 0 });
    }
    toStart = toStart.filter((s) => !foreign.includes(SERVICE_GROUP[s]));
    if (toStart.length === 0) return;
    await checkPortsFree(toStart, this.ports);
    const pre = await this.prerequisites();
    const secrets = stackSecrets(this.layout.stateDir);
    fs.writeFileSync(path.join(this.layout.stateDir, 'ports.json'), JSON.stringify(this.ports, null, 2));
    const layer = toStart.some((s) => isAirflowProcess(s)) ? (this.layout.requirementsLayer ?? '') : recordedScale(this.layout.stateDir).layer;
    fs.writeFileSync(path.join(this.layout.stateDir, 'scale.json'), JSON.stringify({ ...this.scale, airflow: this.airflow, project: this.layout.dagsDir, layer }, null, 2));
    // the catalog's waves: Airflow's processes together once its PostgreSQL is healthy, the brokers of a cluster together
    const waves = startWaves(toStart.map(nativeService)).map((w) => w.map((x) => x.id as NativeServiceId));
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
          await waitHealthy(s, spec, this.store, opts.signal);
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

  private stopServices(ids: NativeServiceId[], opts: OperationOptions): Promise<void> {
    return stopProcesses(ids, this.store, this.ports, opts);
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

  async runAirflow(argv: string[], io: AirflowRunIO, opts: { debug?: boolean } = {}): Promise<AirflowRunResult> {
    const python = path.join(this.layout.airflowVenv, 'bin', 'python');
    if (!fs.existsSync(python)) throw this.notProvisioned('Airflow');
    const env = await this.airflowProcessEnv();
    // Debug Task: debugpy on a free loopback port
    const debugPort = opts.debug ? await freePort(HOST) : undefined;
    io.onStart?.({ pathMap: [], debugPort });
    const args = ['-m', RUNNER_MODULE, ...(debugPort ? ['--debug-listen', `${HOST}:${debugPort}`] : []), ...argv];
    return { exitCode: await spawnStreaming(python, args, { env, cwd: this.layout.airflowHome }, io) };
  }

  /** The environment of a process of the stack's Airflow (home, database, DAGs folder, connections). */
  private async airflowProcessEnv(): Promise<NodeJS.ProcessEnv> {
    return this.specs.airflowEnv(await this.prerequisites(), stackSecrets(this.layout.stateDir));
  }

  /** Runs the `airflow` CLI of the native stack with its environment (home, DB, DAGs folder). */
  async airflowCli(args: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const airflow = path.join(this.layout.airflowVenv, 'bin', 'airflow');
    if (!fs.existsSync(airflow)) throw this.notProvisioned('Airflow');
    const env = await this.airflowProcessEnv();
    return run(airflow, args, { env, cwd: this.layout.airflowHome, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  // ---------------------------------------------------------------- status, logs, events

  async status(): Promise<ServiceStatus[]> {
    const health = await probeHealth(this.services, { ports: this.ports, scale: this.scale, airflow: this.airflow, postgres: this.postgres });
    const rows = stackRows({ groups: this.groups, scale: this.scale, airflow: this.airflow }, portOf(this.ports));
    const out = rows
      .filter((row) => this.services.includes(row.id as NativeServiceId))
      .map((row) => {
        const s = row.id as NativeServiceId;
        return rowStatus(row, {
          health: health.get(s),
          running: this.store.alive(s),
          exit: this.store.read(s) ? this.store.readExit(s) : undefined,
          startTimeoutMs: nativeService(s).entry.startTimeoutMs,
          logPath: this.store.logPath(s),
          stateDir: this.layout.stateDir,
        });
      });
    // the other Airflow, while it still runs: shown, so nothing runs unseen (Start Stack switches)
    const other = airflowName(otherAirflow(this.airflow));
    const otherRows = stackRows({ groups: ['airflow'], scale: this.scale, airflow: otherAirflow(this.airflow) }, portOf(this.ports));
    const stale = this.otherAirflowAlive().map((s): ServiceStatus => {
      const row = otherRows.find((r) => r.id === s)!;
      return { ...row, label: `${row.label} (${other})`, state: 'running', health: 'none', pid: this.store.alive(s)?.pid, detail: `${other} still runs: Start Stack switches to ${airflowName(this.airflow)}` };
    });
    this.followRunning(out);
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

  async logs(service: ServiceId, onLine: (line: string) => void, opts: LogOptions = {}): Promise<void> {
    const ids = this.resolve(service);
    const file = this.store.logPath(ids[0]);
    return followLog(file, onLine, opts);
  }

  /** Fires when a service starts, stops or exits, whoever did it (see RecordWatch). */
  onDidChange(listener: () => void): Disposable {
    return this.watch.onDidChange(listener);
  }

  private signature(): string {
    return this.services.map((s) => `${s}:${this.store.alive(s)?.pid ?? (this.store.readExit(s)?.code ?? '-')}`).join(',');
  }

  private fire(): void {
    this.watch.fire();
  }

  // ---------------------------------------------------------------- spark-submit

  /** The spark-submit argv (without the program) for a request, against this stack's master. */
  sparkSubmitArgv(req: SparkSubmitRequest): string[] {
    return nativeSparkSubmitArgv(req, this.endpoints().sparkMasterUrl, this.layout, this.specs.lineageOn() ? `http://${HOST}:${this.ports.lineage}` : undefined);
  }

  async submitSpark(req: SparkSubmitRequest, io: SparkSubmitIO): Promise<SparkSubmitResult> {
    const sparkHome = this.specs.sparkHome();
    return submitNative(req, io, { sparkHome, env: this.specs.baseEnv(this.prereq), argv: this.sparkSubmitArgv(req), sparkVenv: this.layout.sparkVenv });
  }

  dispose(): void {
    this.watch.dispose();
  }
}

export type { NativeBackendOptions };

export function createNativeBackend(opts: NativeBackendOptions): NativeBackend {
  return new NativeBackend(opts);
}
