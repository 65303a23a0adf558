/**
 * What a Docker start does around compose up: the published ports checked free first, each service
 * waited on until healthy (woken by docker events), the first failure named with its last log
 * lines, and a failed start rolled back so nothing half-started is left.
 */
import * as path from 'node:path';
import type { ContainerSummary } from '../../docker/client';
import type { ComposeProject } from '../../docker/compose';
import type { ComposeModel, ComposeService } from '../../docker/composeFile';
import type { Logger } from '../../util/logger';
import { describePortInUse, findPortsInUse } from '../../util/ports';
import { StackError, type Disposable, type OperationOptions } from '../types';
import { serviceFailure, serviceReady } from './serviceStatus';
import { throwIfAborted } from './composeOutput';
import type { Instance } from './topology';

/** What the start reads of the running stack. */
export interface StartWatch {
  /** the newest container of each service instance, keyed as instances() keys them */
  containers(): Promise<Map<string, ContainerSummary>>;
  instances(services: ComposeService[]): Instance[];
  tail(service: string): Promise<string[]>;
  onDidChange(listener: () => void): Disposable;
  log: Logger;
  healthTimeoutMs?: number;
}

/** The first service that failed (exited or unhealthy), as a StackError with its last log lines. */
export async function firstFailure(model: ComposeModel, w: StartWatch): Promise<StackError | undefined> {
  const current = await w.containers();
  for (const svc of model.services) {
    const failure = serviceFailure(svc, current.get(svc.name));
    if (!failure) continue;
    return new StackError(`${svc.name} ${failure}.`, {
      service: svc.name,
      logTail: await w.tail(svc.name),
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
export async function rollback(compose: ComposeProject, why: string, w: StartWatch): Promise<void> {
  w.log.warn(`start failed (${why}); stopping the stack's containers`);
  const r = await compose.run(['stop', '-t', '5']).catch((e: unknown) => ({ code: 1, stdout: '', stderr: String(e) }));
  if (r.code !== 0) w.log.error(`compose stop after a failed start: ${r.stderr.trim()}`);
  const neverStarted = [...(await w.containers().catch(() => new Map<string, ContainerSummary>())).values()].filter((c) => c.state === 'created').map((c) => c.service);
  if (!neverStarted.length) return;
  const rm = await compose.run(['rm', '-f', ...new Set(neverStarted)]).catch((e: unknown) => ({ code: 1, stdout: '', stderr: String(e) }));
  if (rm.code !== 0) w.log.error(`compose rm of never-started containers: ${rm.stderr.trim()}`);
}

/** Host ports the stack publishes must be free, except those its own running containers hold. */
export async function checkPorts(model: ComposeModel, services: ComposeService[], w: StartWatch): Promise<void> {
  const running = await w.containers();
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

/**
 * Waits until every service in `services` is ready, reporting each as it becomes healthy; wakes
 * on docker events and re-reads every second. Throws naming the failing service with its last log lines.
 */
export async function waitReady(services: ComposeService[], opts: OperationOptions, basePercent: number, w: StartWatch): Promise<void> {
  const progress = opts.onProgress ?? (() => undefined);
  const timeoutMs = w.healthTimeoutMs ?? 10 * 60_000;
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  const sub = w.onDidChange(() => wake?.());
  try {
    for (;;) {
      throwIfAborted(opts.signal);
      const current = await w.containers();
      const wanted = w.instances(services);
      for (const { svc, key, id } of wanted) {
        const c = current.get(key);
        const failure = serviceFailure(svc, c);
        if (failure) {
          throw new StackError(`${key} ${failure}.`, {
            service: key,
            logTail: await w.tail(key),
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
          { service: first, logTail: await w.tail(first), nextStep: `Look at the logs of ${first} (Show Logs), then start again.` },
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
