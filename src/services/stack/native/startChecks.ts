/** What a native start checks (its ports free before, each service healthy after, or why not), and how services stop. */
import { canBind, describeHolder, findPortHolders } from '../../util/procfs';
import { StackError, type OperationOptions } from '../types';
import type { HealthResult } from './health';
import { MOVE_PORTS_HINT, servicePorts, type NativePorts } from './ports';
import { abortError, sleep, tailLines, type ProcessStore } from './processes';
import type { ServiceSpec } from './serviceSpecs';
import { ALL_GROUPS, SERVICE_GROUP, SERVICE_LABEL, servicesFor, type NativeServiceId, type ServiceGroup } from './services';
import type { AirflowMajor } from '../airflowVersion';
import type { StackScale } from '../scale';
import type { ServiceStatus } from '../types';

/** Refuses when a port of a service about to start is taken, naming the holder. */
export async function checkPortsFree(ids: NativeServiceId[], ports: NativePorts): Promise<void> {
  const problems: string[] = [];
  let service: NativeServiceId | undefined;
  for (const id of ids) {
    for (const p of servicePorts(id, ports)) {
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

/** Waits until a service just started is healthy; its exit or the timeout throws with its last log lines. */
export async function waitHealthy(s: NativeServiceId, spec: ServiceSpec, store: ProcessStore, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + spec.timeoutMs;
  let last: HealthResult = { ok: false, detail: 'not checked yet' };
  for (;;) {
    if (signal?.aborted) throw abortError();
    if (!store.alive(s)) {
      const exit = store.readExit(s);
      throw new StackError(
        `${SERVICE_LABEL[s]} exited during start${exit ? ` with code ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}` : ''}. Everything started with it was stopped; no data was deleted.`,
        {
          service: s,
          logTail: tailLines(store.logPath(s), 30),
          nextStep: `Read the log lines above (full log: ${store.logPath(s)}), fix the cause, then start the stack again.`,
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
          logTail: tailLines(store.logPath(s), 30),
          nextStep: `Read the log lines above (full log: ${store.logPath(s)}). On a busy machine, start again; otherwise fix the cause shown in the log.`,
        },
      );
    }
    await sleep(1000, signal);
  }
}

const STOP_GRACE_MS = 20000;

/** Stops these services' process trees in this order, then waits (briefly) for their ports to be free. */
export async function stopProcesses(ids: NativeServiceId[], store: ProcessStore, ports: NativePorts, opts: OperationOptions): Promise<void> {
  let i = 0;
  const stopped: NativeServiceId[] = [];
  for (const s of ids) {
    if (store.read(s)) {
      opts.onProgress?.({ step: `Stopping ${SERVICE_LABEL[s]}`, percent: Math.round((i / ids.length) * 100), service: s });
      const r = await store.stop(s, STOP_GRACE_MS);
      if (r.note) opts.onProgress?.({ step: r.note, percent: Math.round((i / ids.length) * 100), service: s, notice: true });
      stopped.push(s);
    }
    i++;
  }
  // the processes are gone; wait (briefly) for the kernel to release their listening ports
  const held = stopped.flatMap((s) => servicePorts(s, ports).map((p) => p.port));
  const deadline = Date.now() + 10000;
  for (const p of held) {
    while (findPortHolders(p).length && Date.now() < deadline) await sleep(200);
  }
  if (ids.length) opts.onProgress?.({ step: 'Stopped', percent: 100 });
}

/**
 * Groups already served, healthy, by processes this state folder did not start (e.g. the CLI's
 * stack seen from VS Code, whose state lives elsewhere): used as they are instead of refused.
 */
export async function foreignHealthyGroups(ids: NativeServiceId[], c: { store: ProcessStore; scale: StackScale; airflow: AirflowMajor; status(): Promise<ServiceStatus[]> }): Promise<ServiceGroup[]> {
  const groups = ALL_GROUPS.filter((g) => ids.some((s) => SERVICE_GROUP[s] === g));
  const candidates = groups.filter((g) => servicesFor([g], c.scale, c.airflow).every((s) => !c.store.alive(s)));
  if (candidates.length === 0) return [];
  const status = await c.status();
  return candidates.filter((g) =>
    servicesFor([g], c.scale, c.airflow).every((s) => {
      const st = status.find((x) => x.id === s);
      return st?.state === 'running' && st.health === 'healthy';
    }),
  );
}
