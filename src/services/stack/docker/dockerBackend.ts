/**
 * The Docker backend: the bundled compose stack (or any compose project) driven through the
 * compose CLI for up/down/restart, and read through dockerode (containers by the compose project
 * label, state and health, the events stream, logs, exec). No `vscode` import.
 */
import type Dockerode from 'dockerode';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'node:fs';
import {
  classifyDockerError,
  containerLogs,
  createDocker,
  dockerCall,
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
import { DEFAULT_SCALE, parseScale, type StackScale } from '../scale';
import { otherAirflow, type AirflowMajor } from '../airflowVersion';
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
import { which } from '../../util/which';
import { lastStackOwner, recordStackStart, sameStack, type StackOwner } from '../owner';
import { DEFAULT_STACK_ADMIN_PASSWORD, stackAirflowPassword } from '../airflowPassword';
import { stateDir as defaultStateDir } from '../../util/paths';
import { stackSecrets } from '../native/secrets';

export const DEFAULT_PROJECT = 'datapipeline';
/** image label holding buildInputsHash() of what the image was built from */
export const BUILD_HASH_LABEL = 'datapipeline.build-hash';

/** Folders of a compose project that are data or job code, not image build inputs. */
const NOT_BUILD_INPUTS = new Set(['dags', 'scripts', 'plugins', 'logs', 'checkpoints', 'native', 'node_modules', '.git']);

/**
 * A hash of everything an image of the stack is built from: the Dockerfiles and the files they
 * copy (every file of the project folder but its DAGs, jobs, data and the compose file itself)
 * and the build arguments' values. An image whose label differs was built from something else.
 */
export function buildInputsHash(model: ComposeModel): string {
  const h = crypto.createHash('sha256');
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!rel && (NOT_BUILD_INPUTS.has(e.name) || e.name === '.env' || e.name === path.basename(model.file))) continue;
      if (e.name === '__pycache__' || e.name.endsWith('.md')) continue;
      const p = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) h.update(r).update('\0').update(fs.readFileSync(p)).update('\0');
    }
  };
  walk(model.dir, '');
  for (const k of ['BASE_IMAGE', 'KAFKA_VERSION', 'SPARK_VERSION', 'AIRFLOW_VERSION']) h.update(`${k}=${model.env[k] ?? ''}\0`);
  return h.digest('hex').slice(0, 16);
}
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
  /** the state folder shared with the native backend and the CLI (default: DATAPIPELINE_STATE or the cache's) */
  stateDir?: string;
  /** how long one request to the daemon may take (default DOCKER_CALL_TIMEOUT_MS) */
  dockerTimeoutMs?: number;
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
  /**
   * An extra CA bundle (PEM) the images trust while they are built (setting
   * datapipeline.docker.extraCaFile): copied to <stackDir>/certs/extra-ca.crt before a build.
   */
  extraCaFile?: string;
  /** ms to try pulling an optional service's image (Kafka UI) before starting without it (default 60 s) */
  pullTimeoutMs?: number;
  /** shown to the user (once) when compose is v1 or a fallback */
  onWarning?: (message: string) => void;
  /** Kafka brokers (1 or 3) and Spark workers (1-3); default: what the running stack has, else 1 and 1 */
  scale?: Partial<StackScale>;
  /** Airflow 2 (AIRFLOW_VERSION, default) or 3 (AIRFLOW3_VERSION of stack/.env); default: what the running stack has */
  airflow?: AirflowMajor;
}

/** The bundled stack's scaled services: the cluster's brokers 2 and 3 (a profile) and the Spark worker (compose --scale). */
const KAFKA_CLUSTER_PROFILE = 'kafka-cluster';
/** The bundled stack's Airflow services: 2.8.1's in one profile, 3.x's in another (never both: they share the port). */
export const AIRFLOW_PROFILE = { 2: 'airflow2', 3: 'airflow3' } as const;
const SPARK_WORKER_SERVICE = 'spark-worker';

/**
 * The compose variables of a scale: for 3 brokers the quorum, replication factors, the data volume
 * kept apart from the single broker's and the DAGs' bootstrap list; nothing for 1 (the file's defaults).
 */
export function scaleVariables(scale: StackScale): Record<string, string> {
  if (scale.kafkaBrokers < 3) return {};
  return {
    KAFKA_QUORUM_VOTERS: '1@broker:9093,2@broker-2:9093,3@broker-3:9093',
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_MIN_ISR: '2',
    KAFKA_DATA_VOLUME: 'kafka-cluster-1',
    KAFKA_BOOTSTRAP_SERVERS: 'broker:19092,broker-2:19092,broker-3:19092',
  };
}

/** The Airflow secret key earlier versions of the stack's .env and compose file shipped (known to anyone). */
const LEGACY_SECRET_KEY = 'datapipeline-local-dev';

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

/**
 * A step of an image build from a line of build output: the classic builder's "Step 5/17 : RUN …"
 * and BuildKit's "#8 [java 2/3] RUN …" (plain) or " => [airflow java 2/3] RUN …" (tty).
 */
export function buildStep(line: string): { step: number; total: number; instruction: string; stage?: string } | undefined {
  const classic = /^\s*Step (\d+)\/(\d+) : (.*)$/.exec(line);
  if (classic) return { step: Number(classic[1]), total: Number(classic[2]), instruction: classic[3].trim() };
  const kit = /^\s*(?:#\d+|=>)\s+\[(?:([\w.-]+)\s+)?(?:([\w.-]+)\s+)?(\d+)\/(\d+)\]\s+(.*?)(?:\s+\d+(?:\.\d+)?s)?$/.exec(line);
  if (kit) return { step: Number(kit[3]), total: Number(kit[4]), instruction: kit[5].trim(), stage: kit[2] ?? kit[1] };
  return undefined;
}

/** An instruction as a progress line: the keyword and the start of its arguments. */
export function shortInstruction(instruction: string, max = 60): string {
  const one = instruction.replace(/\s*\\\s*/g, ' ').replace(/\s+/g, ' ').replace(/^RUN set -eux; /, 'RUN ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
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
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private docker?: Dockerode;
  private cli?: Promise<ComposeCli>;
  private readonly listeners = new Set<() => void>();
  private stopEvents?: () => void;
  /** optional services left out of the last start, and why (shown in the Stack view) */
  private readonly leftOut = new Map<string, string>();
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
    this.scale = { ...DEFAULT_SCALE, ...parseScale(opts.scale) };
    this.airflow = opts.airflow ?? 2;
  }

  /** The Airflow (2 or 3) this stack runs. */
  get airflowMajor(): AirflowMajor {
    return this.airflow;
  }

  /** A service of the Airflow the stack does not run now (its profile is the other Airflow's). */
  private otherAirflow(svc: ComposeService): boolean {
    return svc.profiles.includes(AIRFLOW_PROFILE[otherAirflow(this.airflow)]);
  }

  /** Started by Start Stack whatever the options: no profile, or the profile of the Airflow it runs. */
  private core(svc: ComposeService): boolean {
    return !svc.profiles.length || svc.profiles.includes(AIRFLOW_PROFILE[this.airflow]);
  }

  /** The environment for compose and the file's interpolation: the process's, with the scale's variables. */
  private get env(): NodeJS.ProcessEnv {
    return { ...this.baseEnv, ...scaleVariables(this.scale) };
  }

  /** Without a setting, the scale follows the stack as it runs (broker-2 there: 3 brokers; the workers counted). */
  private followScale(list: ContainerSummary[]): void {
    const live = list.filter((c) => c.state !== 'exited' && c.state !== 'dead');
    if (!this.opts.airflow && live.length) {
      // the Airflow 3 API server, or 2.8.1's webserver, says which Airflow runs
      if (live.some((c) => c.service === 'airflow-api-server')) this.airflow = 3;
      else if (live.some((c) => c.service === 'airflow-webserver')) this.airflow = 2;
    }
    if (this.opts.scale && Object.keys(this.opts.scale).length) return;
    if (!live.length) return;
    const workers = live.filter((c) => c.service === SPARK_WORKER_SERVICE).length;
    this.scale = {
      kafkaBrokers: live.some((c) => c.service === 'broker-2') ? 3 : 1,
      sparkWorkers: (Math.min(3, Math.max(1, workers)) as StackScale['sparkWorkers']),
    };
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
      if (err instanceof DockerUnavailableError && err.reason === 'daemon-down' && !which('docker', this.env)) {
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
    return { compose: new ComposeProject(cli, this.projectName, model.file, model.dir, this.composeEnv(model)), model };
  }

  /**
   * The compose CLI's environment: the containers run as the owner of the stack folder
   * (DATAPIPELINE_UID), so what they write into the workspace is the user's, not root's; every
   * profile of the file is named, so down and status cover the optional services too.
   */
  private composeEnv(model: ComposeModel): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.env };
    // a stack folder copied by an earlier version names the fixed key everyone knew: give it the
    // stack's own (the state's secrets, which the native backend uses too; the environment wins
    // over .env in compose)
    if (model.env.AIRFLOW_SECRET_KEY === LEGACY_SECRET_KEY && !env.AIRFLOW_SECRET_KEY) env.AIRFLOW_SECRET_KEY = stackSecrets(this.stateDir).secretKey;
    // the admin password the user set for the local stack (both backends use it); else the .env's
    const password = stackAirflowPassword(this.stateDir);
    if (password !== DEFAULT_STACK_ADMIN_PASSWORD) env.AIRFLOW_ADMIN_PASSWORD = password;
    if (!model.env.DATAPIPELINE_UID) {
      try {
        env.DATAPIPELINE_UID = String(fs.statSync(model.dir).uid);
      } catch {
        // folder gone: compose reports it
      }
    }
    return env;
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

  private async imageExists(image: string): Promise<boolean> {
    return (await this.imageLabels(image)) !== undefined;
  }

  /** The image's labels, undefined when there is no such image. */
  private async imageLabels(image: string): Promise<Record<string, string> | undefined> {
    const docker = this.client();
    try {
      return (await dockerCall(docker, `inspect of image ${image}`, (abortSignal) => docker.getImage(image).inspect({ abortSignal } as object))).Config?.Labels ?? {};
    } catch (e) {
      if (e instanceof DockerUnavailableError) throw toStackError(e);
      return undefined;
    }
  }

  /** Pulls an image (false when it cannot be had within the timeout). */
  private async tryPull(image: string, signal?: AbortSignal): Promise<boolean> {
    const docker = this.client();
    const timeoutMs = this.opts.pullTimeoutMs ?? 60_000;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        signal?.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
        docker.pull(image, (err: Error | null, stream?: NodeJS.ReadableStream) => {
          if (err || !stream) {
            clearTimeout(timer);
            reject(err ?? new Error('no stream'));
            return;
          }
          docker.modem.followProgress(stream, (e: Error | null) => {
            clearTimeout(timer);
            if (e) reject(e);
            else resolve();
          });
        });
      });
      return this.imageExists(image);
    } catch (err) {
      this.log.info(`pull ${image}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }

  /**
   * The services Start Stack brings up: every service without a profile, and the optional ones
   * (a profile, an upstream image: Kafka UI) when their image is here or can be pulled. The others
   * are left out with a one-line reason for the Stack view.
   */
  private async servicesToStart(model: ComposeModel, opts: OperationOptions): Promise<ComposeService[]> {
    this.leftOut.clear();
    const out: ComposeService[] = [];
    if (this.airflow === 3 && !model.services.some((s) => s.profiles.includes(AIRFLOW_PROFILE[3])) && model.services.some((s) => s.profiles.includes(AIRFLOW_PROFILE[2]))) {
      throw new StackError(`${model.file} has no Airflow 3 services (profile "${AIRFLOW_PROFILE[3]}").`, {
        nextStep: 'Use the bundled stack\u2019s compose file (DataPipeline: Add Stack to Workspace), or set datapipeline.stack.airflowVersion to 2.',
      });
    }
    for (const svc of model.services) {
      if (this.core(svc)) {
        out.push(svc);
        continue;
      }
      // the other Airflow's services never start beside this one's
      if (this.otherAirflow(svc)) continue;
      // brokers 2 and 3 run when the stack is a 3-broker cluster
      if (svc.profiles.includes(KAFKA_CLUSTER_PROFILE)) {
        if (this.scale.kafkaBrokers === 3) out.push(svc);
        continue;
      }
      if (svc.built || !svc.image) continue; // opt-in services of the user's own file
      if ((await this.imageExists(svc.image)) || (await this.tryPull(svc.image, opts.signal))) {
        out.push(svc);
        continue;
      }
      const label = svc.labels[LABEL_LABEL] ?? svc.name;
      const note = `image ${svc.image} not available; the rest of the stack runs`;
      this.leftOut.set(svc.name, note);
      this.log.warn(`${label}: ${note}`);
      opts.onProgress?.({ step: `${label}: ${note}`, percent: 3 });
    }
    return out;
  }

  /**
   * Bind-mounted folders of the stack (logs/, checkpoints/) that do not exist yet: made now, owned
   * like the stack folder. Docker would create them as root, and the containers (running as the
   * folder's owner) could not write there.
   */
  private ensureBindSources(model: ComposeModel, services: ComposeService[]): void {
    let owner: fs.Stats;
    try {
      owner = fs.statSync(model.dir);
    } catch {
      return;
    }
    const text = fs.readFileSync(model.file, 'utf8');
    for (const svc of services) {
      for (const m of parseComposeBindMounts(text, model.dir, svc.name, { ...model.env })) {
        if (fs.existsSync(m.source) || !m.source.startsWith(model.dir + path.sep)) continue;
        fs.mkdirSync(m.source, { recursive: true });
        try {
          fs.chownSync(m.source, owner.uid, owner.gid);
        } catch {
          // not root: the folder is ours already
        }
      }
    }
  }

  /** The extra CA bundle of the setting, where the images' builds read it. */
  private syncExtraCa(model: ComposeModel): void {
    const src = this.opts.extraCaFile;
    if (!src) return;
    let pem: string;
    try {
      pem = fs.readFileSync(src, 'utf8');
    } catch (e) {
      throw new StackError(`The extra CA file ${src} (datapipeline.docker.extraCaFile) cannot be read: ${(e as Error).message}`, {
        nextStep: 'Point the setting at a PEM file, or clear it.',
      });
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
      throw new StackError(`${src} (datapipeline.docker.extraCaFile) holds no PEM certificate.`, { nextStep: 'Point the setting at a PEM bundle (-----BEGIN CERTIFICATE-----).' });
    }
    const dest = path.join(model.dir, 'certs', 'extra-ca.crt');
    const current = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : undefined;
    if (current === pem) return;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, pem);
  }

  /**
   * Builds the images the services need that are not there yet, one image at a time, reporting
   * "image k of n: step s of t (instruction)". A failed build names the image and keeps the
   * build log's tail; cancelling stops the build.
   */
  private async buildMissing(compose: ComposeProject, model: ComposeModel, services: ComposeService[], opts: OperationOptions, span: [number, number]): Promise<void> {
    const byImage = new Map<string, ComposeService>();
    for (const svc of services) if (svc.built && svc.image && !byImage.has(svc.image)) byImage.set(svc.image, svc);
    // missing, or built from other Dockerfiles/versions than these (an update of the extension)
    const hash = buildInputsHash(model);
    const missing: Array<[string, ComposeService]> = [];
    for (const [image, svc] of byImage) {
      const labels = await this.imageLabels(image);
      if (!labels || labels[BUILD_HASH_LABEL] !== hash) missing.push([image, svc]);
    }
    if (missing.length === 0) return;
    this.syncExtraCa(model);
    const [from, to] = span;
    for (let k = 0; k < missing.length; k++) {
      const [image, svc] = missing[k];
      throwIfAborted(opts.signal);
      const head = `Building ${image} (image ${k + 1} of ${missing.length})`;
      const at = (frac: number) => Math.round(from + ((to - from) * (k + frac)) / missing.length);
      opts.onProgress?.({ step: head, percent: at(0) });
      const tail: string[] = [];
      let last: ReturnType<typeof buildStep>;
      const r = await compose.run(['build', svc.name], {
        extraEnv: { DATAPIPELINE_BUILD_HASH: hash },
        signal: opts.signal,
        onLine: (line) => {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          this.log.debug(`build ${image}: ${line}`);
          const st = buildStep(line);
          if (!st) return;
          last = st;
          const where = `${st.stage ? `${st.stage} ` : ''}step ${st.step} of ${st.total}`;
          opts.onProgress?.({ step: `${head}: ${where}, ${shortInstruction(st.instruction)}`, percent: at(Math.min(0.99, st.step / st.total)) });
        },
      });
      if (opts.signal?.aborted) throw new StackError(`Start Stack was cancelled while building ${image}; nothing was started.`);
      if (r.code !== 0) {
        const where = last ? ` at step ${last.step} of ${last.total} (${shortInstruction(last.instruction)})` : '';
        throw new StackError(`Building the image ${image} failed${where}.`, {
          service: svc.name,
          logTail: tail.filter((l) => l.trim()).slice(-25),
          nextStep:
            'Read the build log (DataPipeline log). Builds download from Debian, PyPI and Maven Central: check the network; ' +
            'behind a TLS-intercepting proxy put its CA in stack/certs/extra-ca.crt (or set datapipeline.docker.extraCaFile), then start again.',
        });
      }
    }
  }

  private idOf(svc: ComposeService): ServiceId {
    return svc.labels[ID_LABEL] ?? svc.name;
  }

  /** Compose service name for a service id (ids may be aliases, e.g. kafka → broker). */
  private serviceName(model: ComposeModel, id: ServiceId): string {
    // an instance of the scaled worker ("spark-worker-2") is its service's
    const base = /^(.+)-(\d)$/.exec(id);
    const scaled = base && base[1] === SPARK_WORKER_SERVICE ? base[1] : undefined;
    // ids are shared by both Airflows' services (airflow-scheduler): the one of the Airflow it runs
    const match = (s: ComposeService) => s.name === id || this.idOf(s) === id || s.name === scaled;
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

  /**
   * What runs of each service: one instance, or N of the scaled Spark worker (keys "spark-worker",
   * "spark-worker-2", …, as byService keys their containers), each with its id and label.
   */
  private instances(services: ComposeService[]): Array<{ svc: ComposeService; key: string; id: ServiceId; label?: string }> {
    return services.flatMap((svc) => {
      const n = svc.name === SPARK_WORKER_SERVICE ? this.scale.sparkWorkers : 1;
      return Array.from({ length: n }, (_, i) =>
        i === 0 ? { svc, key: svc.name, id: this.idOf(svc) } : { svc, key: `${svc.name}-${i + 1}`, id: `${this.idOf(svc)}-${i + 1}`, label: `${svc.labels[LABEL_LABEL] ?? svc.name} ${i + 1}` },
      );
    });
  }

  /** Builds the images the stack needs that are missing (what Start Stack would build first). */
  async provision(opts: OperationOptions = {}): Promise<void> {
    return this.serial(async () => {
      await this.ping();
      const { compose, model } = await this.project();
      await this.buildMissing(compose, model, model.services.filter((s) => this.core(s)), opts, [0, 100]);
    });
  }

  start(opts: OperationOptions = {}): Promise<void> {
    return this.serial(async () => {
      await this.startNow(opts);
      recordStackStart(this.stateDir, this.stackDir, 'docker');
    });
  }

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
    const { compose, model } = await this.project();
    throwIfAborted(opts.signal);
    const services = await this.servicesToStart(model, opts);
    // switching Airflow: the other one's containers go (its database stays in PostgreSQL), freeing its port
    await this.removeOtherAirflow(compose, model, opts);
    // a port already in use is named before anything is built or started
    await this.checkPorts(model, services);
    await this.buildMissing(compose, model, services, opts, [5, 60]);
    throwIfAborted(opts.signal);
    this.ensureBindSources(model, services);
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
      await this.waitReady(model, services, opts, 65);
    } catch (err) {
      await this.rollback(compose, err instanceof Error ? err.message : String(err));
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
    if (r.code !== 0) throw this.composeFailure('rm', r, model);
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

  /**
   * Stops what up started so no half-started stack is left behind. Containers that ran are kept for
   * their logs; those compose created but never started (waiting on a dependency that failed) are
   * removed, or the Stack view would go on showing them as "waiting for its dependencies".
   */
  private async rollback(compose: ComposeProject, why: string): Promise<void> {
    this.log.warn(`start failed (${why}); stopping the stack's containers`);
    const r = await compose.run(['stop', '-t', '5']).catch((e: unknown) => ({ code: 1, stdout: '', stderr: String(e) }));
    if (r.code !== 0) this.log.error(`compose stop after a failed start: ${r.stderr.trim()}`);
    const neverStarted = (await this.containers().catch(() => [] as ContainerSummary[])).filter((c) => c.state === 'created').map((c) => c.service);
    if (!neverStarted.length) return;
    const rm = await compose.run(['rm', '-f', ...new Set(neverStarted)]).catch((e: unknown) => ({ code: 1, stdout: '', stderr: String(e) }));
    if (rm.code !== 0) this.log.error(`compose rm of never-started containers: ${rm.stderr.trim()}`);
  }

  /** Host ports the stack publishes must be free, except those its own running containers hold. */
  private async checkPorts(model: ComposeModel, services: ComposeService[] = model.services): Promise<void> {
    const running = this.byService(await this.containers());
    const wanted: Array<{ port: number; host: string; service: string }> = [];
    for (const svc of services) {
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
        const wanted = this.instances(services);
        for (const { svc, key, id } of wanted) {
          const c = current.get(key);
          const failure = serviceFailure(svc, c);
          if (failure) {
            throw new StackError(`${key} ${failure}.`, {
              service: key,
              logTail: await this.tail(key),
              nextStep: `Look at the logs of ${key} (Show Logs), fix it, then start again.`,
            });
          }
          if (!seen.has(key) && serviceReady(svc, c)) {
            seen.add(key);
            const pct = basePercent + Math.round(((100 - basePercent) * seen.size) / wanted.length);
            progress({ step: `${key} ${svc.oneShot ? 'completed' : 'healthy'} (${seen.size}/${wanted.length})`, percent: Math.min(99, pct), service: id });
          }
        }
        if (seen.size === wanted.length) return;
        if (Date.now() > deadline) {
          const late = wanted.filter((w) => !seen.has(w.key)).map((w) => w.key);
          const first = late[0];
          throw new StackError(
            `${late.join(', ')} did not become healthy within ${Math.round(timeoutMs / 1000)} s.`,
            { service: first, logTail: await this.tail(first), nextStep: `Look at the logs of ${first} (Show Logs), then start again.` },
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

  stop(opts: OperationOptions = {}): Promise<void> {
    return this.serial(() => this.stopNow(opts));
  }

  private async stopNow(opts: OperationOptions): Promise<void> {
    await this.ping();
    const { compose, model } = await this.project();
    opts.onProgress?.({ step: 'Stopping the stack (compose down)', percent: 10 });
    const r = await compose.run([...this.profileArgs(model), 'down', '--remove-orphans'], { signal: opts.signal, onLine: (l) => this.log.debug(`compose down: ${l}`) });
    if (r.code !== 0) throw this.composeFailure('down', r, model);
    opts.onProgress?.({ step: 'Stack stopped', percent: 100 });
  }

  /** Removes the containers and the named volumes (Kafka topics, Airflow DB, Ivy caches); logs/ and checkpoints/ in the workspace stay. */
  reset(opts: OperationOptions = {}): Promise<void> {
    return this.serial(async () => {
      await this.ping();
      const { compose, model } = await this.project();
      opts.onProgress?.({ step: 'Removing containers and data volumes (compose down -v)', percent: 10 });
      const r = await compose.run([...this.profileArgs(model), 'down', '--remove-orphans', '-v'], { signal: opts.signal });
      if (r.code !== 0) throw this.composeFailure('down -v', r, model);
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
    const what: Record<string, string> = {
      'kafka-data': 'Kafka topics and messages',
      'kafka-cluster-1': 'Kafka topics and messages of the 3-broker cluster (broker 1)',
      'kafka-cluster-2': 'Kafka topics and messages of the 3-broker cluster (broker 2)',
      'kafka-cluster-3': 'Kafka topics and messages of the 3-broker cluster (broker 3)',
      'postgres-data': 'the Airflow databases of 2.8.1 and 3 (DAG runs, connections, users)',
      'airflow-ivy': 'the Airflow Ivy cache (--packages downloads)',
      'airflow-secrets': "Airflow's secret key (a new one is made)",
      'spark-ivy': 'the Spark Ivy cache (--packages downloads)',
    };
    return [
      'the stack\u2019s containers',
      ...Object.keys((this.model().raw.volumes as Record<string, unknown> | undefined) ?? {}).map((v) => `${what[v] ?? 'data'}: volume ${this.projectName}_${v}`),
    ];
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
    const r = await compose.run(['up', '-d', '--no-deps', '--force-recreate', ...scaleArgs, name], { signal: opts.signal, onLine: (l) => this.log.debug(`compose restart: ${l}`) });
    if (r.code !== 0) throw this.composeFailure('restart', r, model);
    await this.waitReady(model, [svc], opts, 20);
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
      if (this.core(svc) || svc.profiles.includes(KAFKA_CLUSTER_PROFILE)) return st;
      st.optional = true;
      const note = this.leftOut.get(svc.name);
      if (note && st.state === 'stopped') st.detail = note;
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
    const brokers = this.scale.kafkaBrokers === 3 ? [port('KAFKA_PORT', 9092), port('KAFKA_PORT_2', 9094), port('KAFKA_PORT_3', 9096)] : [port('KAFKA_PORT', 9092)];
    return {
      kafkaBootstrap: brokers.map((p) => `127.0.0.1:${p}`).join(','),
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
    // the bundled Spark image has the connector in its jars (SPARK_KAFKA_JARS is left empty for it)
    const builtIn = kafkaJars.length === 0 && !!model.services.find((s) => s.name === serviceName)?.built;
    const argv = buildSparkSubmitArgv(req, { masterUrl, file: mapping.containerPath, kafkaJars, kafkaConnectorBuiltIn: builtIn });
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
