/** A compose service's row in the Stack view from its container: ready, failed, its state and ports. */
import type { ContainerSummary } from '../../docker/client';
import type { ComposeService } from '../../docker/composeFile';
import type { ServiceId, ServicePort, ServiceStatus } from '../types';

/** the compose label holding a service's Stack view label */
export const LABEL_LABEL = 'datapipeline.label';

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
