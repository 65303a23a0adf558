/**
 * The Docker backend: the bundled compose stack (or any compose project) driven through the
 * compose CLI for up/down/restart, and read through dockerode (containers by the compose project
 * label, state and health, the events stream, logs, exec). No `vscode` import.
 */
import type Dockerode from 'dockerode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import {
  classifyDockerError,
  containerLogs,
  createDocker,
  describeEndpoint,
  DockerUnavailableError,
  execInContainer,
  listProjectContainers,
  pingDocker,
  watchProjectEvents,
  type ContainerSummary,
  type DockerEvent,
} from '../../docker/client';
import { ComposeNotFoundError, ComposeProject, detectCompose, type ComposeCli, type RunResult } from '../../docker/compose';
import { loadComposeModel, type ComposeModel, type ComposeService } from '../../docker/composeFile';
import { mapToContainerPath, parseComposeBindMounts } from '../../spark/containerPaths';
import { parseAppId } from '../../spark/driverOutput';
import { buildSparkSubmitArgv } from '../../spark/submitPlanner';
import { describePortInUse, findPortsInUse } from '../../util/ports';
import { nullLogger, type Logger } from '../../util/logger';
import {
  StackError,
  type Disposable,
  type LogOptions,
  type OperationOptions,
  type ServiceId,
  type ServicePort,
  type ServiceStatus,
  type SparkSubmitIO,
  type SparkSubmitRequest,
  type SparkSubmitResult,
  type StackBackend,
  type StackEndpoints,
} from '../types';
import { tarFiles } from './tar';

export const DEFAULT_PROJECT = 'datapipeline';
const PID_MARK = 'datapipeline-submit-pid ';

/** Compose service names whose shared service id differs (the bundled stack calls Kafka "broker"). */
const ID_LABEL = 'datapipeline.id';
const LABEL_LABEL = 'datapipeline.label';

export interface DockerBackendOptions {
  /** folder holding the compose file and its .env */
  stackDir: string;
  /** compose file name inside stackDir (default: the first of compose.yaml, docker-compose.yaml, …) */
  composeFile?: string;
  /** fixed project name (default "datapipeline"), so the extension finds its own containers */
  projectName?: string;
  /** argv prefix of the compose CLI (setting datapipeline.docker.composeCommand) */
  composeCommand?: string[];
  /** environment for the compose CLI and DOCKER_HOST (default process.env) */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** how long start() waits for every service to be healthy (default 10 min: first start builds images) */
  healthTimeoutMs?: number;
  /** spark-submit inside the spark-master service */
  sparkSubmitPath?: string;
  /** compose service exec'd into by submitSpark */
  sparkService?: string;
  /** shown to the user (once) when compose is v1 or a fallback */
  onWarning?: (message: string) => void;
}

/** Turns the daemon/CLI faults into one StackError with the next step. */
function toStackError(err: unknown): StackError {
  if (err instanceof StackError) return err;
  if (err instanceof DockerUnavailableError) return new StackError(err.message, { nextStep: err.nextStep, cause: err });
  if (err instanceof ComposeNotFoundError) return new StackError(err.message, { nextStep: err.nextStep, cause: err });
  return new StackError(err instanceof Error ? err.message : String(err), { cause: err });
}

/** Lines of compose output that say an image could not be pulled, and the image when named. */
export function findPullFailure(output: string): { image?: string; line: string } | undefined {
  const lines = output.split(/\r?\n/);
  const re =
    /(pull access denied|manifest unknown|manifest for .* not found|repository does not exist|no such host|Temporary failure in name resolution|failed to resolve reference|TLS handshake timeout|i\/o timeout|toomanyrequests|Error response from daemon: Get "https?:\/\/|error pulling image|not found: manifest unknown)/i;
  for (const line of lines) {
    if (!re.test(line)) continue;
    const m = /(?:for|image|repository|Pulling)\s+([\w./-]+(?::[\w.-]+)?)/i.exec(line);
    return { image: m?.[1], line: line.trim() };
  }
  return undefined;
}

/** "Container for service web is unhealthy" (v1) / "container dp-web-1 is unhealthy" (v2) → the service. */
export function findUnhealthyDependency(output: string, services: string[]): string | undefined {
  for (const line of output.split(/\r?\n/)) {
    if (!/unhealthy|didn't complete successfully|exited with code/i.test(line)) continue;
    const named = (/service\s+"?([\w.-]+)"?/i.exec(line) ?? /ERROR: for\s+([\w.-]+)\s+Container/.exec(line))?.[1];
    if (named && services.includes(named)) return named;
    const byContainer = services.find((s) => new RegExp(`[-_]${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[-_]\\d+`).test(line));
    if (byContainer) return byContainer;
  }
  return undefined;
}

/**
 * A progress step from a line of `compose up` output, or undefined for noise: v1 "Creating
 * dp_web_1 ... done", v2 " Container dp-web-1  Started", image pulls and builds.
 */
export function composeProgressStep(line: string): string | undefined {
  const v2 = /^\s*Container\s+(\S+)\s+(Creating|Created|Recreate|Recreated|Starting|Started|Waiting|Healthy|Exited)\s*$/.exec(line);
  if (v2) return `${v2[2]} ${v2[1]}`;
  const v1 = /^(Creating|Starting|Recreating)\s+(\S+)\s+\.\.\./.exec(line);
  if (v1) return `${v1[1]} ${v1[2]}`;
  const image = /^\s*(?:\S+\s+)?(Pulling|Pulled|Building|Built)\b(.*)$/.exec(line);
  if (image) return `${image[1]}${image[2]}`.trim();
  return undefined;
}

/** Is the service where start() wants it: healthy, running without a health check, or a one-shot that exited 0? */
export function serviceReady(svc: ComposeService, c: ContainerSummary | undefined): boolean {
  if (!c) return false;
  if (svc.oneShot) return c.state === 'exited' && c.exitCode === 0;
  if (c.state !== 'running' || c.restarting) return false;
  return c.health === 'healthy' || c.health === 'none';
}

/** Why the service cannot become ready any more (undefined while it still may). */
export function serviceFailure(svc: ComposeService, c: ContainerSummary | undefined): string | undefined {
  if (!c) return undefined;
  if (svc.oneShot) {
    if ((c.state === 'exited' || c.state === 'dead') && c.exitCode !== 0) return `exited with code ${c.exitCode}`;
    return undefined;
  }
  if (c.state === 'exited' || c.state === 'dead') return `exited with code ${c.exitCode ?? '?'}`;
  if (c.health === 'unhealthy') return `is unhealthy${c.healthOutput ? ` (health check: ${c.healthOutput.split('\n').slice(-1)[0]})` : ''}`;
  return undefined;
}

/** The view's status of one compose service from its container (or none). */
export function toServiceStatus(svc: ComposeService, c: ContainerSummary | undefined, id: ServiceId = svc.name): ServiceStatus {
  const ports: ServicePort[] = svc.ports.map((p) => {
    const host = p.host === '0.0.0.0' || p.host === '' ? '127.0.0.1' : p.host;
    return {
      name: p.name ?? (p.containerPort ? `port ${p.containerPort}` : `port ${p.port}`),
      host,
      port: p.port,
      url: p.http ? `http://${host}:${p.port}` : undefined,
    };
  });
  const label = svc.labels[LABEL_LABEL] ?? svc.name;
  if (!c) return { id, label, state: 'stopped', health: 'none', ports, detail: 'not created' };
  let state: ServiceStatus['state'];
  let detail: string | undefined;
  switch (c.state) {
    case 'running':
      state = c.health === 'starting' ? 'starting' : 'running';
      if (c.health === 'unhealthy') detail = `unhealthy${c.healthOutput ? `: ${c.healthOutput.split('\n').slice(-1)[0]}` : ''}`;
      break;
    case 'restarting':
      state = 'starting';
      detail = 'restarting';
      break;
    case 'created':
      state = 'starting';
      detail = 'created, waiting for its dependencies';
      break;
    case 'exited':
    case 'dead':
      state = 'exited';
      detail = svc.oneShot && c.exitCode === 0 ? 'completed' : `exited with code ${c.exitCode ?? '?'}`;
      break;
    case 'paused':
      state = 'stopped';
      detail = 'paused';
      break;
    default:
      state = 'unknown';
  }
  return { id, label, state, health: c.health, exitCode: c.exitCode, pid: c.pid, ports, detail };
}

export class DockerBackend implements StackBackend {
  readonly kind = 'docker' as const;
  readonly projectName: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private docker?: Dockerode;
  private cli?: Promise<ComposeCli>;
  private readonly listeners = new Set<() => void>();
  private stopEvents?: () => void;

  constructor(private readonly opts: DockerBackendOptions) {
    this.projectName = opts.projectName ?? DEFAULT_PROJECT;
    this.env = opts.env ?? process.env;
    this.log = opts.log ?? nullLogger;
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
    try {
      await pingDocker(this.client());
    } catch (err) {
      if (err instanceof DockerUnavailableError && err.reason === 'daemon-down' && !onPath('docker', this.env)) {
        throw new StackError('Docker is not installed (no docker command on PATH, and no daemon answers).', {
          nextStep: 'Install Docker Engine or Docker Desktop, or set datapipeline.stack.backend to "native" to run the stack as local processes.',
          cause: err,
        });
      }
      throw toStackError(err);
    }
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
    return { compose: new ComposeProject(cli, this.projectName, model.file, model.dir, this.env), model };
  }

  private idOf(svc: ComposeService): ServiceId {
    return svc.labels[ID_LABEL] ?? svc.name;
  }

  /** Compose service name for a service id (ids may be aliases, e.g. kafka → broker). */
  private serviceName(model: ComposeModel, id: ServiceId): string {
    const svc = model.services.find((s) => s.name === id || this.idOf(s) === id);
    if (!svc) throw new StackError(`The stack has no service "${id}".`, { nextStep: `Services: ${model.services.map((s) => s.name).join(', ')}.` });
    return svc.name;
  }

  private async containers(): Promise<ContainerSummary[]> {
    try {
      return await listProjectContainers(this.client(), this.projectName);
    } catch (err) {
      throw toStackError((err as NodeJS.ErrnoException)?.code ? classifyDockerError(err, describeEndpoint(this.client())) : err);
    }
  }

  /** The newest container of each service. */
  private byService(list: ContainerSummary[]): Map<string, ContainerSummary> {
    const out = new Map<string, ContainerSummary>();
    for (const c of list) {
      const prev = out.get(c.service);
      if (!prev || (c.startedAt ?? '') > (prev.startedAt ?? '') || (prev.state !== 'running' && c.state === 'running')) out.set(c.service, c);
    }
    return out;
  }

  async provision(opts: OperationOptions = {}): Promise<void> {
    await this.ping();
    const { compose, model } = await this.project();
    if (!model.services.some((s) => (model.raw.services as Record<string, { build?: unknown }>)[s.name]?.build)) return;
    opts.onProgress?.({ step: 'Building images', percent: 0 });
    const r = await compose.run(['build'], { signal: opts.signal, onLine: (l) => this.log.debug(`compose build: ${l}`) });
    if (r.code !== 0) throw this.composeFailure('build', r, model);
  }

  async start(opts: OperationOptions = {}): Promise<void> {
    const progress = opts.onProgress ?? (() => undefined);
    progress({ step: 'Checking Docker', percent: 0 });
    await this.ping();
    const { compose, model } = await this.project();
    throwIfAborted(opts.signal);
    await this.checkPorts(model);
    progress({ step: `Starting ${model.services.length} services (${compose.cli.command.join(' ')} up)`, percent: 5 });
    const r = await compose.up([], {
      signal: opts.signal,
      onLine: (line) => {
        this.log.debug(`compose up: ${line}`);
        const step = composeProgressStep(line);
        if (step) progress({ step, percent: 10 });
      },
    });
    if (opts.signal?.aborted) {
      await this.rollback(compose, 'cancelled');
      throw new StackError('Start Stack was cancelled; the services already started were stopped.');
    }
    if (r.code !== 0) {
      let err = this.composeFailure('up', r, model);
      // compose names the dependent service; the containers say which one actually failed.
      const culprit = await this.firstFailure(model).catch(() => undefined);
      if (culprit && !findPullFailure(`${r.stdout}\n${r.stderr}`)) err = culprit;
      else if (err.service) err.opts.logTail = await this.tail(err.service);
      await this.rollback(compose, err.message);
      throw err;
    }
    try {
      await this.waitReady(model, model.services, opts, 10);
    } catch (err) {
      await this.rollback(compose, err instanceof Error ? err.message : String(err));
      throw err;
    }
    progress({ step: 'Every service is healthy', percent: 100 });
  }

  /** The first service that failed (exited or unhealthy), as a StackError with its last log lines. */
  private async firstFailure(model: ComposeModel): Promise<StackError | undefined> {
    const current = this.byService(await this.containers());
    for (const svc of model.services) {
      const failure = serviceFailure(svc, current.get(svc.name));
      if (!failure) continue;
      return new StackError(`${svc.name} ${failure}.`, {
        service: svc.name,
        logTail: await this.tail(svc.name),
        nextStep: `Look at the logs of ${svc.name} (Show Logs), fix it, then start again.`,
      });
    }
    return undefined;
  }

  /** Stops what up started so no half-started stack is left behind (containers are kept for their logs). */
  private async rollback(compose: ComposeProject, why: string): Promise<void> {
    this.log.warn(`start failed (${why}); stopping the stack's containers`);
    const r = await compose.run(['stop', '-t', '5']).catch((e: unknown) => ({ code: 1, stdout: '', stderr: String(e) }));
    if (r.code !== 0) this.log.error(`compose stop after a failed start: ${r.stderr.trim()}`);
  }

  /** Host ports the stack publishes must be free, except those its own running containers hold. */
  private async checkPorts(model: ComposeModel): Promise<void> {
    const running = this.byService(await this.containers());
    const wanted: Array<{ port: number; host: string; service: string }> = [];
    for (const svc of model.services) {
      const c = running.get(svc.name);
      if (c && c.state === 'running') continue;
      for (const p of svc.ports) wanted.push({ port: p.port, host: p.host === '0.0.0.0' ? '127.0.0.1' : p.host, service: svc.name });
    }
    for (const w of wanted) {
      const [busy] = await findPortsInUse([w.port], w.host);
      if (!busy) continue;
      const envName = Object.entries(model.env).find(([k, v]) => /PORT$/.test(k) && v === String(w.port))?.[0];
      throw new StackError(`${describePortInUse(busy)} The ${w.service} service needs it.`, {
        service: w.service,
        nextStep: `Stop that program, or change ${envName ?? 'the port'} in ${path.join(model.dir, '.env')}.`,
      });
    }
  }

  /** One clear error from a failed compose command: an image that cannot be pulled, an unhealthy dependency, or the CLI's last lines. */
  private composeFailure(what: string, r: RunResult, model: ComposeModel): StackError {
    const output = `${r.stdout}\n${r.stderr}`;
    const tail = output.split(/\r?\n/).filter((l) => l.trim()).slice(-15);
    const pull = findPullFailure(output);
    if (pull) {
      return new StackError(`An image could not be pulled${pull.image ? ` (${pull.image})` : ''}: ${pull.line}`, {
        logTail: tail,
        nextStep: 'Check your network connection and registry access (docker login), or build/load the image locally, then start again.',
      });
    }
    const names = model.services.map((s) => s.name);
    const service = findUnhealthyDependency(output, names);
    if (service) {
      return new StackError(`compose ${what} failed: ${tail.filter((l) => /unhealthy|exited|complete/i.test(l)).slice(-1)[0] ?? tail.slice(-1)[0]}`, {
        service,
        logTail: tail,
        nextStep: `Look at the logs of ${service} (Show Logs), fix it, then start again.`,
      });
    }
    return new StackError(`compose ${what} failed (exit code ${r.code}): ${tail.slice(-1)[0] ?? 'no output'}`, {
      logTail: tail,
      nextStep: 'See the DataPipeline log for the full compose output.',
    });
  }

  /**
   * Waits until every service in `services` is ready, reporting each as it becomes healthy; wakes
   * on docker events and re-reads every second. Throws naming the failing service with its last log lines.
   */
  private async waitReady(model: ComposeModel, services: ComposeService[], opts: OperationOptions, basePercent: number): Promise<void> {
    const progress = opts.onProgress ?? (() => undefined);
    const timeoutMs = this.opts.healthTimeoutMs ?? 10 * 60_000;
    const deadline = Date.now() + timeoutMs;
    const seen = new Set<string>();
    let wake: (() => void) | undefined;
    const sub = this.onDidChange(() => wake?.());
    try {
      for (;;) {
        throwIfAborted(opts.signal);
        const current = this.byService(await this.containers());
        for (const svc of services) {
          const c = current.get(svc.name);
          const failure = serviceFailure(svc, c);
          if (failure) {
            throw new StackError(`${svc.name} ${failure}.`, {
              service: svc.name,
              logTail: await this.tail(svc.name),
              nextStep: `Look at the logs of ${svc.name} (Show Logs), fix it, then start again.`,
            });
          }
          if (!seen.has(svc.name) && serviceReady(svc, c)) {
            seen.add(svc.name);
            const pct = basePercent + Math.round(((100 - basePercent) * seen.size) / services.length);
            progress({ step: `${svc.name} ${svc.oneShot ? 'completed' : 'healthy'} (${seen.size}/${services.length})`, percent: Math.min(99, pct), service: this.idOf(svc) });
          }
        }
        if (seen.size === services.length) return;
        if (Date.now() > deadline) {
          const late = services.filter((s) => !seen.has(s.name));
          const first = late[0];
          throw new StackError(
            `${late.map((s) => s.name).join(', ')} did not become healthy within ${Math.round(timeoutMs / 1000)} s.`,
            { service: first.name, logTail: await this.tail(first.name), nextStep: `Look at the logs of ${first.name} (Show Logs), then start again.` },
          );
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
          opts.signal?.addEventListener('abort', wake, { once: true });
        });
        wake = undefined;
      }
    } finally {
      sub.dispose();
    }
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

  async stop(opts: OperationOptions = {}): Promise<void> {
    await this.ping();
    const { compose } = await this.project();
    opts.onProgress?.({ step: 'Stopping the stack (compose down)', percent: 10 });
    const r = await compose.down({ signal: opts.signal, onLine: (l) => this.log.debug(`compose down: ${l}`) });
    if (r.code !== 0) throw this.composeFailure('down', r, this.model());
    opts.onProgress?.({ step: 'Stack stopped', percent: 100 });
  }

  /** Removes the containers and the named volumes (Kafka topics, Airflow DB, checkpoints, Ivy cache). */
  async reset(opts: OperationOptions = {}): Promise<void> {
    await this.ping();
    const { compose } = await this.project();
    opts.onProgress?.({ step: 'Removing containers and data volumes (compose down -v)', percent: 10 });
    const r = await compose.down({ volumes: true, signal: opts.signal });
    if (r.code !== 0) throw this.composeFailure('down -v', r, this.model());
  }

  async restart(service?: ServiceId, opts: OperationOptions = {}): Promise<void> {
    if (!service) {
      await this.stop({ signal: opts.signal });
      await this.start(opts);
      return;
    }
    await this.ping();
    const { compose, model } = await this.project();
    const name = this.serviceName(model, service);
    opts.onProgress?.({ step: `Restarting ${name}`, percent: 10 });
    const svc = model.services.find((s) => s.name === name)!;
    const r = await compose.run(['up', '-d', '--no-deps', '--force-recreate', name], { signal: opts.signal, onLine: (l) => this.log.debug(`compose restart: ${l}`) });
    if (r.code !== 0) throw this.composeFailure('restart', r, model);
    await this.waitReady(model, [svc], opts, 20);
  }

  async status(): Promise<ServiceStatus[]> {
    const model = this.model();
    const current = this.byService(await this.containers());
    return model.services.map((svc) => toServiceStatus(svc, current.get(svc.name), this.idOf(svc)));
  }

  async logs(service: ServiceId, onLine: (line: string) => void, opts: LogOptions = {}): Promise<void> {
    const name = this.serviceName(this.model(), service);
    const c = this.byService(await this.containers()).get(name);
    if (!c) throw new StackError(`${name} has no container yet.`, { service: name, nextStep: 'Start the stack first.' });
    await containerLogs(this.client(), c.id, onLine, { follow: opts.follow, tail: opts.tail ?? 200, signal: opts.signal });
  }

  /** One events stream for every listener, opened with the first and closed with the last. */
  onDidChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    if (!this.stopEvents) {
      this.stopEvents = watchProjectEvents(
        this.client(),
        this.projectName,
        (e: DockerEvent) => {
          // Health checks run as execs every interval: those are not state changes.
          if (e.Action.startsWith('exec_')) return;
          for (const l of [...this.listeners]) l();
        },
        (err) => this.log.debug(`docker events: ${String(err)}`),
      );
    }
    return {
      dispose: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0 && this.stopEvents) {
          this.stopEvents();
          this.stopEvents = undefined;
        }
      },
    };
  }

  endpoints(): StackEndpoints {
    const env = safeEnv(this.opts.stackDir, this.env);
    const port = (name: string, def: number) => Number(env[name] || def);
    return {
      kafkaBootstrap: `127.0.0.1:${port('KAFKA_PORT', 9092)}`,
      sparkMasterUrl: `spark://127.0.0.1:${port('SPARK_MASTER_PORT', 7077)}`,
      sparkUiUrl: `http://127.0.0.1:${port('SPARK_MASTER_UI_PORT', 8080)}`,
      airflowUrl: `http://127.0.0.1:${port('AIRFLOW_PORT', 8085)}`,
      kafkaUiUrl: `http://127.0.0.1:${port('KAFKA_UI_PORT', 8090)}`,
    };
  }

  /**
   * spark-submit (client mode) inside the spark-master container: the file is mapped through the
   * service's bind mounts, or copied in when it lies outside them.
   */
  async submitSpark(req: SparkSubmitRequest, io: SparkSubmitIO): Promise<SparkSubmitResult> {
    const model = this.model();
    const serviceName = this.opts.sparkService ?? 'spark-master';
    const c = this.byService(await this.containers()).get(serviceName);
    if (!c || c.state !== 'running') {
      throw new StackError(`${serviceName} is not running.`, { service: serviceName, nextStep: 'Start the stack, then submit again.' });
    }
    const mounts = parseComposeBindMounts(fs.readFileSync(model.file, 'utf8'), model.dir, serviceName, { ...model.env });
    const mapping = mapToContainerPath(req.file, mounts);
    if (mapping.kind === 'copy') {
      this.log.info(mapping.reason);
      // Extracted under /tmp (present in every image) so no existing folder's mode is touched.
      const archive = tarFiles([{ path: path.posix.relative('/tmp', mapping.containerPath), content: fs.readFileSync(req.file) }]);
      await this.client().getContainer(c.id).putArchive(archive, { path: '/tmp' });
    }
    const kafkaJars = (model.env.SPARK_KAFKA_JARS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const masterUrl = model.env.SPARK_MASTER_URL || 'spark://spark-master:7077';
    const argv = buildSparkSubmitArgv(req, { masterUrl, file: mapping.containerPath, kafkaJars });
    let appId: string | undefined;
    const scan = (chunk: string) => {
      for (const line of chunk.split(/\r?\n/)) appId ??= parseAppId(line);
    };
    // The docker API cannot signal an exec: a tiny wrapper prints spark-submit's pid in the
    // container (then execs it with the argv unchanged), so Cancel can send it SIGTERM.
    const submit = this.opts.sparkSubmitPath ?? '/opt/spark/bin/spark-submit';
    const cmd = ['sh', '-c', `echo "${PID_MARK}$$"; exec "$0" "$@"`, submit, ...argv];
    let pid: string | undefined;
    let head = '';
    const onAbort = () => {
      if (!pid) return;
      void execInContainer(this.client(), c.id, ['kill', '-TERM', pid], { onStdout: () => undefined, onStderr: () => undefined }).catch(() => undefined);
    };
    io.signal?.addEventListener('abort', onAbort, { once: true });
    let r: { exitCode: number };
    try {
      r = await execInContainer(this.client(), c.id, cmd, {
        onStdout: (chunk) => {
          let s = chunk;
          if (pid === undefined) {
            head += s;
            const nl = head.indexOf('\n');
            if (nl < 0) return;
            const first = head.slice(0, nl);
            pid = first.startsWith(PID_MARK) ? first.slice(PID_MARK.length).trim() : '';
            s = pid ? head.slice(nl + 1) : head;
            head = '';
            if (!s) return;
          }
          scan(s);
          io.onStdout(s);
        },
        onStderr: (s) => {
          scan(s);
          io.onStderr(s);
        },
        signal: io.signal,
      });
    } finally {
      io.signal?.removeEventListener('abort', onAbort);
    }
    if (io.signal?.aborted) onAbort();
    return { exitCode: r.exitCode, appId };
  }
}

/** Is `cmd` an executable file in one of env.PATH's folders? */
export function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

function safeEnv(dir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  try {
    return loadComposeModel(dir, undefined, env).env;
  } catch {
    return {};
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StackError('The operation was cancelled.');
}

export function createDockerBackend(opts: DockerBackendOptions): DockerBackend {
  return new DockerBackend(opts);
}
