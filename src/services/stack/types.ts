/**
 * The one interface both stack backends (docker, native) implement.
 * No `vscode` import here: this layer is tested with plain mocha.
 */

/** Service ids shared by both backends. The docker backend may report more (postgres, airflow-init, kafka-ui). */
export type ServiceId =
  | 'kafka'
  | 'spark-master'
  | 'spark-worker'
  | 'airflow-webserver'
  | 'airflow-scheduler'
  | 'postgres'
  | 'airflow-init'
  | 'kafka-ui'
  | (string & {});

export type ServiceState = 'running' | 'starting' | 'stopped' | 'exited' | 'unknown';
export type ServiceHealth = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface ServicePort {
  /** e.g. "Airflow UI", "Kafka bootstrap" */
  name: string;
  host: string;
  port: number;
  /** http(s) URL when the port serves a UI a user can open */
  url?: string;
}

export interface ServiceStatus {
  id: ServiceId;
  /** human label, e.g. "Kafka broker (KRaft)" */
  label: string;
  state: ServiceState;
  health: ServiceHealth;
  /** set when state is 'exited' */
  exitCode?: number;
  pid?: number;
  ports: ServicePort[];
  /** one-line detail shown in the view, e.g. "2 cores, 1 worker" or an error */
  detail?: string;
  /** an optional part of the stack (e.g. Kafka UI): not counted as missing when it is not running */
  optional?: boolean;
}

export interface StackProgress {
  /** what is happening, e.g. "Installing Airflow 2.8.1 (pip)" or "kafka healthy" */
  step: string;
  /** 0..100 for the whole operation */
  percent: number;
  service?: ServiceId;
  /** a step the user should still read after the operation (shown as a warning at the end) */
  notice?: boolean;
}

/** A workspace's project as the stack runs it (services/project/detect.ts finds it). */
export interface ProjectPaths {
  dagsDir: string;
  scriptsDir?: string;
  pluginsDir?: string;
  includeDir?: string;
  /** its Python requirements: a layer over the Airflow venv (native), an image over the stack's (Docker) */
  requirements?: string;
  /** its Debian packages (Astro's packages.txt; Docker only) */
  packages?: string;
}

export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: (p: StackProgress) => void;
}

export interface LogOptions {
  follow?: boolean;
  /** number of last lines to start with (default 200) */
  tail?: number;
  signal?: AbortSignal;
}

export interface StackEndpoints {
  kafkaBootstrap: string; // "127.0.0.1:9092"
  sparkMasterUrl: string; // "spark://127.0.0.1:7077"
  sparkUiUrl: string; // "http://127.0.0.1:8080"
  airflowUrl: string; // "http://127.0.0.1:8085"
  /** the stack's OpenLineage receiver ("http://127.0.0.1:5055"), when its backend runs one */
  lineageUrl?: string;
}

export interface SparkSubmitRequest {
  /** absolute path of the .py file on this machine */
  file: string;
  args?: string[];
  /** --packages coordinates */
  packages?: string[];
  /** --jars paths (host paths for native) */
  jars?: string[];
  conf?: Record<string, string>;
  driverMemory?: string;
  executorMemory?: string;
  /** the Kafka connector preset: the backend adds its local connector jars */
  kafkaConnector?: boolean;
  /** another master than the stack's (a named connection's cluster) */
  master?: string;
  /** arguments the connection adds to every submit (before the program) */
  extraArgs?: string[];
}

export interface SparkSubmitIO {
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
  signal?: AbortSignal;
}

export interface SparkSubmitResult {
  exitCode: number;
  /** application id parsed from the driver output, when seen */
  appId?: string;
}

export interface Disposable {
  dispose(): void;
}

import type { StackOwner } from './owner';

/** Where the Airflow process sees the project's folders → where they are on this machine (Docker's bind mounts); empty when the same. */
export type PathMap = Array<{ remote: string; local: string }>;

export interface AirflowRunIO {
  /** before any output: how the process's paths map to this machine's; with `debug`, the port on 127.0.0.1 its debugger listens on */
  onStart?(info: { pathMap: PathMap; debugPort?: number }): void;
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
  signal?: AbortSignal;
}

export interface AirflowRunResult {
  exitCode: number;
}

export interface StackBackend {
  readonly kind: 'docker' | 'native';
  /** the stack folder this backend runs (a workspace's stack/, or the bundled stack's files) */
  readonly stackDir: string;
  /** Who started the stack that runs now (undefined: nothing runs); see services/stack/owner. */
  runningFrom(): Promise<StackOwner | undefined>;
  /** Install/build what the stack needs (idempotent, cached). */
  provision(opts?: OperationOptions): Promise<void>;
  /** Start everything; resolves only when every service is healthy, else throws StackError. */
  start(opts?: OperationOptions): Promise<void>;
  stop(opts?: OperationOptions): Promise<void>;
  /** Restart one service, or the whole stack when service is undefined. */
  restart(service?: ServiceId, opts?: OperationOptions): Promise<void>;
  /**
   * The project's requirements file changed: a running Airflow runs on it as it is now (the layer made
   * or taken from the cache; Airflow restarted only when its layer changed). A refused requirement
   * throws and leaves Airflow as it was. Absent: this backend installs no project requirements.
   */
  reloadRequirements?(opts?: OperationOptions): Promise<void>;
  status(): Promise<ServiceStatus[]>;
  /** Calls onLine for each log line; resolves when done (not following) or when aborted. */
  logs(service: ServiceId, onLine: (line: string) => void, opts?: LogOptions): Promise<void>;
  /** Fires when a service changes state (docker events, process exit). */
  onDidChange(listener: () => void): Disposable;
  endpoints(): StackEndpoints;
  /** What the views cannot reach through the stack's own ports, one line each with the setting to set (a compose file of the user's own). */
  endpointNotes?(): string[];
  /** The user's own compose file when this backend runs one as it is (no DataPipeline plugins in its Airflow). */
  ownComposeFile?(): string | undefined;
  /**
   * Runs Airflow's CLI for one task or one DAG (`tasks test`, `dags test`) through the stack's runner
   * (stack/plugins/datapipeline_runner.py, which prints each XCom pushed) in the stack's Airflow
   * environment: its database, connections and variables. Output streams; abort stops the process.
   * With `debug`, the task waits for a debugger first (debugpy on the port onStart gives).
   */
  runAirflow?(argv: string[], io: AirflowRunIO, opts?: { debug?: boolean }): Promise<AirflowRunResult>;
  /** Run spark-submit in client mode against this stack's master. */
  submitSpark(req: SparkSubmitRequest, io: SparkSubmitIO): Promise<SparkSubmitResult>;
  /** Folders where the stack's streaming jobs keep their checkpoints (DATAPIPELINE_CHECKPOINT_DIR as seen from this machine). */
  checkpointDirs(): string[];
  /** What Reset Data deletes, one line each with what it is (the confirmation lists exactly these). */
  describeReset(): string[];
  /** Stops the stack, then deletes its data: Kafka topics, the Airflow database, checkpoints. */
  reset(opts?: OperationOptions): Promise<void>;
}

/** An error a user can act on: what happened, which service, its last log lines, the next step. */
export class StackError extends Error {
  constructor(
    message: string,
    readonly opts: { service?: ServiceId; logTail?: string[]; nextStep?: string; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'StackError';
  }
  get service(): ServiceId | undefined {
    return this.opts.service;
  }
  get logTail(): string[] {
    return this.opts.logTail ?? [];
  }
  get nextStep(): string | undefined {
    return this.opts.nextStep;
  }
}
