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

/** The service Airflow tasks run in: the stack's scheduler, or the one of a compose file of the user's own. */
export function schedulerService(model: ComposeModel): string | undefined {
  const names = model.services.map((s) => s.name);
  return names.includes('airflow-scheduler') ? 'airflow-scheduler' : names.find((n) => /scheduler/.test(n));
}

export async function dockerRunAirflow(argv: string[], io: AirflowRunIO, ctx: { model: ComposeModel; client: Dockerode; containers: Map<string, ContainerSummary> }): Promise<AirflowRunResult> {
  const service = schedulerService(ctx.model);
  const c = service ? ctx.containers.get(service) : undefined;
  if (!service || !c || c.state !== 'running') {
    throw new StackError(`${service ?? "The stack's Airflow scheduler"} is not running.`, { service, nextStep: 'Start the stack, then run the task again.' });
  }
  const mounts = parseComposeBindMounts(fs.readFileSync(ctx.model.file, 'utf8'), ctx.model.dir, service, { ...ctx.model.env });
  io.onStart?.({ pathMap: mounts.map((m) => ({ remote: m.target, local: m.source })) });
  const r = await execKillable(ctx.client, c.id, ['python', '-m', RUNNER_MODULE, ...argv], io, { workingDir: '/opt/airflow' });
  return { exitCode: r.exitCode };
}
