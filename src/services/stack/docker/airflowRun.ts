/**
 * Run Task and Test DAG on the Docker stack: the stack's runner inside the scheduler's container (its
 * environment, database, connections and variables), output streamed, stopped in the container on
 * abort, its paths mapped to the workspace through the service's bind mounts.
 */
import type Dockerode from 'dockerode';
import * as fs from 'node:fs';
import { execKillable, type ContainerSummary } from '../../docker/client';
import type { ComposeModel } from '../../docker/composeFile';
import { parseComposeBindMounts } from '../../spark/containerPaths';
import { RUNNER_MODULE } from '../../airflow/taskRun';
import { StackError, type AirflowRunIO, type AirflowRunResult } from '../types';
import type { AirflowMajor } from '../airflowVersion';

/** The service Airflow tasks run in: the stack's scheduler of the Airflow it runs, or the (running) one of a compose file of the user's own. */
export function schedulerService(names: string[], running: (name: string) => boolean, airflow: AirflowMajor): string | undefined {
  const own = airflow === 3 ? 'airflow3-scheduler' : 'airflow-scheduler';
  if (names.includes(own)) return own;
  const schedulers = names.filter((n) => /scheduler/.test(n));
  return schedulers.find(running) ?? schedulers[0];
}

/** Where debugpy listens in the scheduler's container (published on 127.0.0.1:AIRFLOW_DEBUG_PORT). */
export const CONTAINER_DEBUG_PORT = 5679;

export async function dockerRunAirflow(
  argv: string[],
  io: AirflowRunIO,
  ctx: { model: ComposeModel; client: Dockerode; containers: Map<string, ContainerSummary>; airflow: AirflowMajor; debug?: boolean },
): Promise<AirflowRunResult> {
  const service = schedulerService(
    ctx.model.services.map((s) => s.name),
    (n) => ctx.containers.get(n)?.state === 'running',
    ctx.airflow,
  );
  const c = service ? ctx.containers.get(service) : undefined;
  if (!service || !c || c.state !== 'running') {
    throw new StackError(`${service ?? "The stack's Airflow scheduler"} is not running.`, { service, nextStep: 'Start the stack, then run the task again.' });
  }
  const mounts = parseComposeBindMounts(fs.readFileSync(ctx.model.file, 'utf8'), ctx.model.dir, service, { ...ctx.model.env });
  let debugPort: number | undefined;
  if (ctx.debug) {
    // the port the scheduler's container publishes for its debugger (a compose file of the user's own publishes none)
    debugPort = c.ports.find((p) => p.containerPort === CONTAINER_DEBUG_PORT && p.port > 0)?.port;
    if (!debugPort) {
      throw new StackError(`${service} publishes no debugger port (${CONTAINER_DEBUG_PORT}), so VS Code cannot attach to a task run there.`, {
        service,
        nextStep: 'Restart the stack (DataPipeline: Restart Stack) so the scheduler publishes it, or run the project on DataPipeline’s stack (setting datapipeline.project.stack: bundled).',
      });
    }
  }
  io.onStart?.({ pathMap: mounts.map((m) => ({ remote: m.target, local: m.source })), debugPort });
  const cmd = ['python', '-m', RUNNER_MODULE, ...(debugPort ? ['--debug-listen', `0.0.0.0:${CONTAINER_DEBUG_PORT}`] : []), ...argv];
  const r = await execKillable(ctx.client, c.id, cmd, io, { workingDir: '/opt/airflow' });
  return { exitCode: r.exitCode };
}
