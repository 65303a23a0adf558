/** What a Docker backend is given. */
import type { AirflowMajor } from '../airflowVersion';
import type { StackScale } from '../scale';
import type { Logger } from '../../util/logger';
import type { ProjectPaths } from '../types';

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
  /**
   * A project run on this (the bundled) stack: its folders mounted in place of the stack's DAGs,
   * jobs, plugins and include folder, its requirements and packages an image over the stack's
   * Airflow image (projectImage.ts). Not for a project's own compose file, which runs as it is.
   */
  project?: ProjectPaths;
}
