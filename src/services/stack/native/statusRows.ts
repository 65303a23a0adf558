/**
 * The Stack view's rows of the native stack: which rows (the catalog's services at this scale and
 * Airflow, with their ports) and what each row says from its process record and health. Pure.
 */
import { CATALOG, HOST, servicePortList, stackServices, type CatalogService, type PortOf, type Selection } from '../catalog';
import type { ServiceStatus } from '../types';
import type { HealthResult } from './health';
import type { ExitRecord, RunRecord } from './processes';

export type ServiceRow = Pick<ServiceStatus, 'id' | 'label' | 'ports'>;

/** One row per service instance of the selection, in start order, with its ports on this machine. */
export function stackRows(sel: Selection, port: PortOf, catalog: readonly CatalogService[] = CATALOG): ServiceRow[] {
  return stackServices({ ...sel, backend: 'native' }, catalog).map((s) => ({
    id: s.id,
    label: s.label,
    ports: servicePortList(s, port).map((p) => ({ name: p.name, host: HOST, port: p.port, url: p.url })),
  }));
}

export interface RowState {
  /** the service's health probe, read now */
  health?: HealthResult;
  /** its run record while its supervisor is alive */
  running?: RunRecord;
  /** its exit record once it ended */
  exit?: ExitRecord;
  /** how long a start may take (the catalog's): not healthy within it is "unhealthy" */
  startTimeoutMs: number;
  logPath: string;
  stateDir: string;
}

/** A row's state: running (healthy, starting or unhealthy), exited with its code, healthy elsewhere, or stopped. */
export function rowStatus(row: ServiceRow, st: RowState): ServiceStatus {
  const h = st.health;
  if (st.running) {
    // not healthy yet is "starting" for as long as a start may take, "unhealthy" after that
    const young = Date.now() - Date.parse(st.running.startedAt) < st.startTimeoutMs;
    return { ...row, state: 'running', health: h?.ok ? 'healthy' : young ? 'starting' : 'unhealthy', pid: st.running.pid, detail: h?.detail };
  }
  if (st.exit) {
    const e = st.exit;
    return { ...row, state: 'exited', health: 'none', exitCode: e.code, detail: `exited with code ${e.code}${e.signal ? ` (${e.signal})` : ''}; see ${st.logPath}` };
  }
  if (h?.ok) return { ...row, state: 'running', health: 'healthy', detail: `running, but not started from ${st.stateDir}` };
  return { ...row, state: 'stopped', health: 'none' };
}
