/**
 * Which backend runs the stack. `auto`: Docker when the docker CLI, the daemon and a compose CLI
 * all answer, else the native processes; the reason is logged. No `vscode` import.
 */
import type { StackScale } from './scale';
import { detectCompose, run } from '../docker/compose';
import type { Logger } from '../util/logger';
import type { ProjectPaths, StackBackend } from './types';
import { errorMessage } from '../util/errors';

// dockerode (with ssh2, grpc, protobufjs) and the Docker backend load on first use, not at
// extension activation: a static import made activation ~10x slower than a hello-world extension.
// require(), not import(): under tsx's CommonJS hook (the tests) import() cannot resolve a .ts path.

export type BackendSetting = 'auto' | 'docker' | 'native';

export interface DockerProbe {
  ok: boolean;
  /** why docker is (not) used, for the log */
  reason: string;
}

/** Do the docker CLI, the daemon and compose answer? Never throws. */
export async function probeDocker(composeCommand: string[], env: NodeJS.ProcessEnv = process.env): Promise<DockerProbe> {
  try {
    const r = await run(['docker', '--version'], { env, timeoutMs: 10_000 });
    if (r.code !== 0) return { ok: false, reason: `"docker --version" failed: ${r.stderr.trim()}` };
  } catch {
    return { ok: false, reason: 'the docker CLI is not installed' };
  }
  try {
    const { createDocker, pingDocker } = require('../docker/client') as typeof import('../docker/client');
    await pingDocker(createDocker(env), 3000);
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
  try {
    const cli = await detectCompose(composeCommand, env);
    return { ok: true, reason: `docker answers and ${cli.command.join(' ')} ${cli.version} is installed` };
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}

export interface BackendFactoryDeps {
  /** the folder the docker backend runs compose in (already a writable copy when needed) */
  dockerStackDir: () => string;
  /** a project run on the bundled stack by the docker backend (its folders, requirements, packages) */
  dockerProject?: () => ProjectPaths | undefined;
  composeCommand: () => string[];
  /** builds the native backend (the native module is loaded only when chosen) */
  createNative: () => Promise<StackBackend>;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  onWarning?: (message: string) => void;
  /** an extra CA bundle the images trust while they are built (setting datapipeline.docker.extraCaFile) */
  extraCaFile?: () => string | undefined;
  /** Kafka brokers and Spark workers the user set (undefined: what the running stack has) */
  scale?: () => Partial<StackScale> | undefined;
  /** Airflow 2 or 3, when the user set it */
  airflow?: () => 2 | 3 | undefined;
  /** the state folder shared with the native backend and the CLI */
  stateDir?: string;
  /** override the probe (tests) */
  probe?: (composeCommand: string[], env?: NodeJS.ProcessEnv) => Promise<DockerProbe>;
}

/** The factory src/main.ts gives the StackController. */
export function createBackendFactory(deps: BackendFactoryDeps): (setting: BackendSetting) => Promise<StackBackend> {
  const docker = async () => {
    const { DockerBackend } = require('./docker/dockerBackend') as typeof import('./docker/dockerBackend');
    return new DockerBackend({
      stackDir: deps.dockerStackDir(),
      composeCommand: deps.composeCommand(),
      env: deps.env,
      log: deps.log,
      onWarning: deps.onWarning,
      extraCaFile: deps.extraCaFile?.() || deps.env?.DATAPIPELINE_EXTRA_CA || undefined,
      scale: deps.scale?.(),
      airflow: deps.airflow?.(),
      stateDir: deps.stateDir,
      project: deps.dockerProject?.(),
    });
  };
  return async (setting) => {
    if (setting === 'docker') return docker();
    if (setting === 'native') return deps.createNative();
    const probe = await (deps.probe ?? probeDocker)(deps.composeCommand(), deps.env);
    if (probe.ok) {
      deps.log.info(`stack backend auto → docker: ${probe.reason}`);
      return docker();
    }
    deps.log.info(`stack backend auto → native: ${probe.reason}`);
    return deps.createNative();
  };
}
