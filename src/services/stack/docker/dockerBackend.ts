/**
 * The Docker backend: the bundled compose stack (or any compose project) driven through the
 * compose CLI for up/down/restart, and read through dockerode (containers by the compose project
 * label, state and health, the events stream, logs, exec). No `vscode` import.
 */
import type Dockerode from 'dockerode';
import * as path from 'node:path';
import {
  classifyDockerError, containerLogs, createDocker, describeEndpoint, listProjectContainers, pingDocker, watchProjectEvents, type ContainerSummary, type DockerEvent,
} from '../../docker/client';
import { ComposeProject, detectCompose, type ComposeCli } from '../../docker/compose';
import { loadComposeModel, type ComposeModel, type ComposeService } from '../../docker/composeFile';
import { DEFAULT_SCALE, parseScale, type StackScale } from '../scale';
import { otherAirflow, type AirflowMajor } from '../airflowVersion';
import { nullLogger, type Logger } from '../../util/logger';
import {
  type AirflowRunIO, type AirflowRunResult, StackError, type Disposable, type LogOptions, type OperationOptions, type ServiceId, type ServiceStatus, type SparkSubmitIO, type SparkSubmitRequest, type SparkSubmitResult, type StackBackend, type StackEndpoints,
} from '../types';
import { StackImages } from './images';
import { composeEnv, describeVolumes, isCore, isOtherAirflow, servicesToStart } from './startSet';
import { catalogEndpoints, composePortOf } from '../catalog';
import { checkPorts, firstFailure, rollback, waitReady, type StartWatch } from './startWait';
import { idOf, instances, KAFKA_CLUSTER_PROFILE, runningTopology, scaleVariables, SPARK_WORKER_SERVICE, type Instance } from './topology';
import { dockerSubmitSpark } from './sparkSubmit';
import { dockerRunAirflow } from './airflowRun';
import { SharedEvents } from '../../util/sharedEvents';
import { composeFailure, composeProgressStep, findPullFailure, pingError, throwIfAborted, toStackError } from './composeOutput';
import { LABEL_LABEL, toServiceStatus } from './serviceStatus';
import type { DockerBackendOptions } from './options';
import { which } from '../../util/which';
import { lastStackOwner, recordStackStart, sameStack, type StackOwner } from '../owner';
import { stateDir as defaultStateDir } from '../../util/paths';
import { isOwnCompose, ownCompose } from './foreignEndpoints';
import { NO_PROJECT_IMAGES, PROJECT_IMAGE_VARIABLES, PROJECT_SPARK_IMAGE_VARIABLE, projectFolderVariables, ProjectImages } from './projectImage';

export const DEFAULT_PROJECT = 'datapipeline';

export type { DockerBackendOptions };
export { AIRFLOW_PROFILE, scaleVariables } from './topology';
export { buildInputsHash, BUILD_HASH_LABEL } from './buildInputs';
export { composeProgressStep, findPullFailure, buildStep, findUnhealthyDependency, shortInstruction } from './composeOutput';
export { serviceFailure, serviceReady, toServiceStatus } from './serviceStatus';

export class DockerBackend implements StackBackend {
  readonly kind = 'docker' as const;
  readonly projectName: string;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private readonly images: StackImages;
  private docker?: Dockerode;
  private cli?: Promise<ComposeCli>;
  private readonly events = new SharedEvents((fire) =>
    watchProjectEvents(
      this.client(),
      this.projectName,
      (e: DockerEvent) => {
        // Health checks run as execs every interval: those are not state changes.
        if (!e.Action.startsWith('exec_')) fire();
      },
      (err) => this.log.debug(`docker events: ${String(err)}`),
    ),
  );
  /** optional services left out of the last start, and why (shown in the Stack view) */
  private readonly leftOut = new Map<string, string>();
  /** the project's image over each Airflow's (a project on the bundled stack) */
  private readonly projectImages: ProjectImages;
  /** lifecycle operations run one at a time (two Start Stack at once would race compose) */
  private lifecycle: Promise<unknown> = Promise.resolve();

  /** brokers and workers: the setting's, else what the running stack shows (read with its containers) */
  private scale: StackScale;
  /** the Airflow it runs: the setting's, else what the running stack shows, else 2 */
  private airflow: AirflowMajor;

  constructor(private readonly opts: DockerBackendOptions) {
    this.projectName = opts.projectName ?? DEFAULT_PROJECT;
    this.baseEnv = opts.env ?? process.env;
    this.log = opts.log ?? nullLogger;
    this.images = new StackImages(() => this.client(), this.log, opts);
    this.scale = { ...DEFAULT_SCALE, ...parseScale(opts.scale) };
    this.airflow = opts.airflow ?? 2;
    this.projectImages = new ProjectImages(opts.project, () => loadComposeModel(opts.stackDir, opts.composeFile, this.stackImagesEnv), this.log);
    if (opts.project) this.reloadRequirements = (o) => this.start(o);
  }

  /** The Airflow (2 or 3) this stack runs. */
  get airflowMajor(): AirflowMajor {
    return this.airflow;
  }

  private otherAirflow(svc: ComposeService): boolean {
    return isOtherAirflow(svc, this.airflow);
  }

  private core(svc: ComposeService): boolean {
    return isCore(svc, this.airflow);
  }

  /** The environment for compose and the file's interpolation: the process's, with the scale's and the project's variables. */
  private get env(): NodeJS.ProcessEnv {
    const images: Record<string, string> = {};
    for (const [major, plan] of this.projectImages.plans()) images[PROJECT_IMAGE_VARIABLES[major - 2]] = plan.tag;
    const spark = this.projectImages.sparkPlans().get(this.airflow);
    if (spark) images[PROJECT_SPARK_IMAGE_VARIABLE] = spark.tag;
    return { ...this.baseEnv, ...scaleVariables(this.scale), ...projectFolderVariables(this.opts.project), ...images };
  }

  /** The environment without the project's images: the stack's own images, as they are built. */
  private get stackImagesEnv(): NodeJS.ProcessEnv {
    return { ...this.baseEnv, ...scaleVariables(this.scale), ...NO_PROJECT_IMAGES };
  }

  /** Without a setting, the scale and Airflow follow the stack as it runs. */
  private followScale(list: ContainerSummary[]): void {
    const running = runningTopology(list);
    if (!this.opts.airflow && running.airflow) this.airflow = running.airflow;
    if (this.opts.scale && Object.keys(this.opts.scale).length) return;
    if (running.scale) this.scale = running.scale;
  }

  get stackDir(): string {
    return this.opts.stackDir;
  }

  /** The compose file, .env and interpolation, read fresh (users edit them). */
  model(): ComposeModel {
    return loadComposeModel(this.opts.stackDir, this.opts.composeFile, this.env);
  }

  private client(): Dockerode {
    this.docker ??= createDocker(this.env);
    return this.docker;
  }

  /** The daemon answers (throws a StackError naming the fault and the next step). */
  async ping(): Promise<void> {
    await pingDocker(this.client()).catch((err: unknown) => {
      throw pingError(err, !!which('docker', this.env));
    });
  }


  /** The compose CLI, detected once; v1 or a fallback is reported through onWarning. */
  composeCli(): Promise<ComposeCli> {
    this.cli ??= detectCompose(this.opts.composeCommand ?? ['docker', 'compose'], this.env).then(
      (cli) => {
        if (cli.warning) {
          this.log.warn(cli.warning);
          this.opts.onWarning?.(cli.warning);
        }
        this.log.info(`compose: ${cli.command.join(' ')} ${cli.version}`);
        return cli;
      },
      (err) => {
        this.cli = undefined;
        throw toStackError(err);
      },
    );
    return this.cli;
  }

  private async project(): Promise<{ compose: ComposeProject; model: ComposeModel }> {
    const model = this.model();
    const cli = await this.composeCli();
    return { compose: new ComposeProject(cli, this.projectName, model.file, model.dir, this.composeEnv(model)), model };
  }

  private composeEnv(model: ComposeModel): NodeJS.ProcessEnv {
    return composeEnv(this.env, model, this.stateDir);
  }

  /** Runs lifecycle operations one after the other. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.lifecycle.then(op, op);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  private profileArgs(model: ComposeModel): string[] {
    return [...new Set(model.services.flatMap((s) => s.profiles))].flatMap((p) => ['--profile', p]);
  }

  /** The services Start Stack brings up (see servicesToStart), the optional ones left out noted for the Stack view. */
  private servicesToStart(model: ComposeModel, opts: OperationOptions): Promise<ComposeService[]> {
    this.leftOut.clear();
    return servicesToStart(model, { airflow: this.airflow, scale: this.scale, leftOut: this.leftOut, log: this.log, available: (image) => this.images.available(image, opts.signal) }, opts);
  }

  /** Compose service name for a service id (ids may be aliases, e.g. kafka → broker). */
  private serviceName(model: ComposeModel, id: ServiceId): string {
    // an instance of the scaled worker ("spark-worker-2") is its service's
    const base = /^(.+)-(\d)$/.exec(id);
    const scaled = base && base[1] === SPARK_WORKER_SERVICE ? base[1] : undefined;
    // ids are shared by both Airflows' services (airflow-scheduler): the one of the Airflow it runs
    const match = (s: ComposeService) => s.name === id || idOf(s) === id || s.name === scaled;
    const svc = model.services.find((s) => !this.otherAirflow(s) && match(s)) ?? model.services.find(match);
    if (!svc) throw new StackError(`The stack has no service "${id}".`, { nextStep: `Services: ${model.services.map((s) => s.name).join(', ')}.` });
    return svc.name;
  }

  private async containers(): Promise<ContainerSummary[]> {
    try {
      return await listProjectContainers(this.client(), this.projectName, this.opts.dockerTimeoutMs);
    } catch (err) {
      throw toStackError((err as NodeJS.ErrnoException)?.code ? classifyDockerError(err, describeEndpoint(this.client())) : err);
    }
  }

  /** The newest container of each service (of each instance of a scaled one: "spark-worker-2", …). */
  private byService(list: ContainerSummary[]): Map<string, ContainerSummary> {
    this.followScale(list);
    const out = new Map<string, ContainerSummary>();
    for (const c of list) {
      const key = c.number > 1 ? `${c.service}-${c.number}` : c.service;
      const prev = out.get(key);
      if (!prev || (c.startedAt ?? '') > (prev.startedAt ?? '') || (prev.state !== 'running' && c.state === 'running')) out.set(key, c);
    }
    return out;
  }

  private instances(services: ComposeService[]): Instance[] {
    return instances(services, this.scale, (svc) => svc.labels[LABEL_LABEL] ?? svc.name);
  }

  /** Builds the images the stack needs that are missing (what Start Stack would build first). */
  async provision(opts: OperationOptions = {}): Promise<void> {
    return this.serial(async () => {
      await this.ping();
      const { compose } = await this.project();
      // the stack's own images (a project's is built by a start, over them)
      const model = loadComposeModel(this.opts.stackDir, this.opts.composeFile, this.stackImagesEnv);
      await this.images.buildMissing(compose, model, model.services.filter((s) => this.core(s)), opts, [0, 100], NO_PROJECT_IMAGES);
    });
  }

  start(opts: OperationOptions = {}): Promise<void> {
    return this.serial(async () => {
      await this.startNow(opts);
      recordStackStart(this.stateDir, this.stackDir, 'docker');
    });
  }

  /**
   * A project on the bundled stack: its requirements (or packages) changed while the stack runs: its
   * image is built anew and compose recreates the services on it (the others, unchanged, keep
   * running). A refused requirement fails the build: the running containers stay as they were.
   * Undefined for a compose file run as it is (its images hold its requirements).
   */
  readonly reloadRequirements?: (opts?: OperationOptions) => Promise<void>;

  /** Where the extension and `npm run stack` keep what they share (who started the stack, its secrets). */
  private get stateDir(): string {
    return this.opts.stateDir ?? defaultStateDir(this.env);
  }

  async runningFrom(): Promise<StackOwner | undefined> {
    const running = (await this.containers()).filter((c) => c.state === 'running');
    if (!running.length) return undefined;
    const owner = lastStackOwner(this.stateDir);
    // compose labels each container with the folder it was started from: the truth when the record is older
    const dir = running[0].workingDir;
    if (owner && (!dir || sameStack(owner.stackDir, dir))) return owner;
    return dir ? { stackDir: dir, backend: 'docker', startedAt: running[0].startedAt ?? '' } : owner;
  }

  private async startNow(opts: OperationOptions): Promise<void> {
    const progress = opts.onProgress ?? (() => undefined);
    progress({ step: 'Checking Docker', percent: 0 });
    await this.ping();
    // the project's image is named by what it is built from, read anew at each start (a DAG's packages
    // may have changed), after the extra CA is in place (a build input of the stack's images)
    if (this.opts.project) {
      this.images.syncExtraCa({ dir: this.opts.stackDir });
      this.projectImages.forget();
    }
    const { compose, model } = await this.project();
    throwIfAborted(opts.signal);
    let services = await this.servicesToStart(model, opts);
    // switching Airflow: the other one's containers go (its database stays in PostgreSQL), freeing its port
    await this.removeOtherAirflow(compose, model, opts);
    // a port already in use is named before anything is built or started
    await checkPorts(model, services, this.watch());
    // a project's images over the stack's (the stack's own built first), else the stack's as the file names them
    if (!(await this.projectImages.ensure(this.airflow, { docker: this.client(), images: this.images, compose, services }, opts))) {
      await this.images.buildMissing(compose, model, services, opts, [5, 60]);
    }
    throwIfAborted(opts.signal);
    services = await this.images.pullMissing(model, services, opts, this.leftOut);
    this.images.ensureBindSources(model, services);
    progress({ step: `Starting ${services.length} services (${compose.cli.command.join(' ')} up)`, percent: 60 });
    const names = services.map((s) => s.name);
    // the Spark worker scaled; named services of a profile (brokers 2 and 3) start without --profile
    const scaleArgs = names.includes(SPARK_WORKER_SERVICE) ? ['--scale', `${SPARK_WORKER_SERVICE}=${this.scale.sparkWorkers}`] : [];
    const r = await compose.run(['up', '-d', '--remove-orphans', ...scaleArgs, ...names], {
      signal: opts.signal,
      onLine: (line) => {
        this.log.debug(`compose up: ${line}`);
        const step = composeProgressStep(line);
        if (step) progress({ step, percent: 62 });
      },
    });
    if (opts.signal?.aborted) {
      await rollback(compose, 'cancelled', this.watch());
      throw new StackError('Start Stack was cancelled; the services already started were stopped.');
    }
    if (r.code !== 0) {
      let err = composeFailure('up', r, model.services.map((x) => x.name));
      // compose names the dependent service; the containers say which one actually failed.
      const culprit = await firstFailure(model, this.watch()).catch(() => undefined);
      if (culprit && !findPullFailure(`${r.stdout}\n${r.stderr}`)) err = culprit;
      else if (err.service) err.opts.logTail = await this.tail(err.service);
      await rollback(compose, err.message, this.watch());
      throw err;
    }
    try {
      await waitReady(services, opts, 65, this.watch());
    } catch (err) {
      await rollback(compose, toStackError(err).message, this.watch());
      throw err;
    }
    progress({ step: 'Every service is healthy', percent: 100 });
  }

  /** Stops and removes the containers of the Airflow the stack does not run now (not its data). */
  private async removeOtherAirflow(compose: ComposeProject, model: ComposeModel, opts: OperationOptions): Promise<void> {
    const others = new Set(model.services.filter((s) => this.otherAirflow(s)).map((s) => s.name));
    const present = [...new Set((await this.containers()).filter((c) => others.has(c.service)).map((c) => c.service))];
    if (!present.length) return;
    opts.onProgress?.({ step: `Stopping Airflow ${otherAirflow(this.airflow)} (${present.join(', ')}); its database stays`, percent: 4 });
    const r = await compose.run(['rm', '--stop', '--force', ...present], { signal: opts.signal, onLine: (l) => this.log.debug(`compose rm: ${l}`) });
    if (r.code !== 0) throw composeFailure('rm', r, model.services.map((x) => x.name));
  }

  /** What a start reads of the running stack (see startWait.ts). */
  private watch(): StartWatch {
    return {
      containers: async () => this.byService(await this.containers()),
      instances: (services) => this.instances(services),
      tail: (service) => this.tail(service),
      onDidChange: (l) => this.onDidChange(l),
      log: this.log,
      healthTimeoutMs: this.opts.healthTimeoutMs,
    };
  }

  /** The last lines of a service's log (for error messages); [] when it has no container. */
  async tail(service: string, lines = 20): Promise<string[]> {
    const out: string[] = [];
    try {
      const c = this.byService(await this.containers()).get(service);
      if (!c) return [];
      await containerLogs(this.client(), c.id, (l) => out.push(l), { follow: false, tail: lines });
    } catch (err) {
      this.log.debug(`could not read the logs of ${service}: ${String(err)}`);
    }
    return out.slice(-lines);
  }

  stop(opts: OperationOptions = {}): Promise<void> {
    return this.serial(() => this.stopNow(opts));
  }

  private async stopNow(opts: OperationOptions): Promise<void> {
    await this.ping();
    const { compose, model } = await this.project();
    opts.onProgress?.({ step: 'Stopping the stack (compose down)', percent: 10 });
    const r = await compose.run([...this.profileArgs(model), 'down', '--remove-orphans'], { signal: opts.signal, onLine: (l) => this.log.debug(`compose down: ${l}`) });
    if (r.code !== 0) throw composeFailure('down', r, model.services.map((x) => x.name));
    opts.onProgress?.({ step: 'Stack stopped', percent: 100 });
  }

  /** Removes the containers and the named volumes (Kafka topics, Airflow DB, Ivy caches); logs/ and checkpoints/ in the workspace stay. */
  reset(opts: OperationOptions = {}): Promise<void> {
    return this.serial(async () => {
      await this.ping();
      const { compose, model } = await this.project();
      opts.onProgress?.({ step: 'Removing containers and data volumes (compose down -v)', percent: 10 });
      const r = await compose.run([...this.profileArgs(model), 'down', '--remove-orphans', '-v'], { signal: opts.signal });
      if (r.code !== 0) throw composeFailure('down -v', r, model.services.map((x) => x.name));
      // compose removes the volumes this scale's services use; the other scale's Kafka data (the
      // single broker's, or the cluster's first broker's) is named by no service now: removed here
      for (const name of this.dataVolumes()) {
        await this.client()
          .getVolume(name)
          .remove()
          .catch((e: { statusCode?: number }) => {
            if (e?.statusCode !== 404) throw new StackError(`Reset could not remove the volume ${name}: ${String((e as Error)?.message ?? e)}`, { nextStep: `Remove it by hand: docker volume rm ${name}` });
          });
      }
    });
  }

  /** The stack's checkpoints folder, bind-mounted into the containers as /opt/checkpoints. */
  checkpointDirs(): string[] {
    return [path.join(this.opts.stackDir, 'checkpoints')];
  }

  /** The named volumes Reset removes (for the confirmation that says exactly what is deleted). */
  dataVolumes(): string[] {
    return Object.keys((this.model().raw.volumes as Record<string, unknown> | undefined) ?? {}).map((v) => `${this.projectName}_${v}`);
  }

  /** "Kafka topics and messages: volume datapipeline_kafka-data", for each volume Reset removes. */
  describeReset(): string[] {
    return describeVolumes(Object.keys((this.model().raw.volumes as Record<string, unknown> | undefined) ?? {}), this.projectName);
  }

  restart(service?: ServiceId, opts: OperationOptions = {}): Promise<void> {
    return this.serial(() => this.restartNow(service, opts));
  }

  private async restartNow(service: ServiceId | undefined, opts: OperationOptions): Promise<void> {
    if (!service) {
      await this.stopNow({ signal: opts.signal });
      await this.startNow(opts);
      return;
    }
    await this.ping();
    const { compose, model } = await this.project();
    const name = this.serviceName(model, service);
    opts.onProgress?.({ step: `Restarting ${name}`, percent: 10 });
    const svc = model.services.find((s) => s.name === name)!;
    // the scaled worker keeps its count (up without --scale would go back to the file's 1)
    const scaleArgs = name === SPARK_WORKER_SERVICE ? ['--scale', `${SPARK_WORKER_SERVICE}=${this.scale.sparkWorkers}`] : [];
    // DataPipeline's stack: recreated, so a changed .env or image applies; a file of the user's own: restarted
    // as `docker compose restart` does, keeping what its container holds (a broker whose file gives it no volume keeps its topics)
    const args = isOwnCompose(model, this.opts.project) ? ['restart', name] : ['up', '-d', '--no-deps', '--force-recreate', ...scaleArgs, name];
    const r = await compose.run(args, { signal: opts.signal, onLine: (l) => this.log.debug(`compose restart: ${l}`) });
    if (r.code !== 0) throw composeFailure('restart', r, model.services.map((x) => x.name));
    await waitReady([svc], opts, 20, this.watch());
  }

  async status(): Promise<ServiceStatus[]> {
    const model = this.model();
    const current = this.byService(await this.containers());
    // brokers 2 and 3 show while the stack is a cluster (or one of them still has a container)
    // the other Airflow's services show only while they still have a container
    const shown = model.services.filter((svc) => {
      if (this.otherAirflow(svc)) return current.has(svc.name);
      return !svc.profiles.includes(KAFKA_CLUSTER_PROFILE) || this.scale.kafkaBrokers === 3 || current.has(svc.name);
    });
    return this.instances(shown).map(({ svc, key, id, label }) => {
      const st = toServiceStatus(svc, current.get(key), id);
      if (label) st.label = label;
      // left out of the last start (its image cannot be had, or a service it needs): why, in place of "not created"
      const note = this.leftOut.get(svc.name);
      if (note && st.state === 'stopped') st.detail = note;
      if (this.core(svc) || svc.profiles.includes(KAFKA_CLUSTER_PROFILE)) return st;
      st.optional = true;
      return st;
    });
  }

  async logs(service: ServiceId, onLine: (line: string) => void, opts: LogOptions = {}): Promise<void> {
    const name = this.serviceName(this.model(), service);
    const current = this.byService(await this.containers());
    // one instance of a scaled service by its own key ("spark-worker-2"), else the service's
    const c = current.get(service) ?? current.get(name);
    if (!c) throw new StackError(`${name} has no container yet.`, { service: name, nextStep: 'Start the stack first.' });
    await containerLogs(this.client(), c.id, onLine, { follow: opts.follow, tail: opts.tail ?? 200, signal: opts.signal });
  }

  /** One events stream for every listener, opened with the first and closed with the last. */
  onDidChange(listener: () => void): Disposable {
    return this.events.add(listener);
  }

  /**
   * The stack's addresses: its .env's ports, for the brokers and Airflow it runs (followed in
   * status()); a compose file of the user's own: the ports it publishes for its Airflow, Kafka and
   * Spark master (foreignEndpoints), the defaults for what it does not publish.
   */
  endpoints(): StackEndpoints {
    const model = this.safeModel();
    const own = catalogEndpoints(composePortOf(model?.env ?? {}), { scale: this.scale, airflow: this.airflow, backend: 'docker' });
    return { ...own, ...ownCompose(model, this.opts.project)?.endpoints };
  }

  /** What the views cannot reach through a compose file of the user's own, with the setting to set (none for DataPipeline's). */
  endpointNotes(): string[] {
    return ownCompose(this.safeModel(), this.opts.project)?.notes ?? [];
  }

  ownComposeFile(): string | undefined {
    return ownCompose(this.safeModel(), this.opts.project)?.file;
  }

  /** spark-submit (client mode) inside the Spark master's container (see dockerSubmitSpark): the stack's spark-master, or a file of the user's own's. */
  async runAirflow(argv: string[], io: AirflowRunIO, opts: { debug?: boolean } = {}): Promise<AirflowRunResult> {
    const containers = this.byService(await this.containers());
    return dockerRunAirflow(argv, io, { model: this.model(), client: this.client(), containers, airflow: this.airflow, debug: opts.debug });
  }

  async submitSpark(req: SparkSubmitRequest, io: SparkSubmitIO): Promise<SparkSubmitResult> {
    const model = this.model();
    const sparkService = this.opts.sparkService ?? ownCompose(model, this.opts.project)?.services.sparkMaster ?? 'spark-master';
    const container = this.byService(await this.containers()).get(sparkService);
    return dockerSubmitSpark(req, io, { model, client: this.client(), log: this.log, sparkService, container, sparkSubmitPath: this.opts.sparkSubmitPath });
  }

  private safeModel(): ComposeModel | undefined {
    try {
      return this.model();
    } catch {
      return undefined;
    }
  }
}

export function createDockerBackend(opts: DockerBackendOptions): DockerBackend {
  return new DockerBackend(opts);
}
