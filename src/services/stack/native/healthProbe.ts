/**
 * The one definition of each native service's health, by the probe its catalog entry names: the
 * start wait (one service) and the Stack view (every service, each probe read once) both ask here.
 * A service whose probe has no case here fails to compile (the switch is exhaustive).
 */
import { HOST, type HealthProbe } from '../catalog';
import type { AirflowMajor } from '../airflowVersion';
import { airflowHealth, type AirflowServicesHealth, type HealthResult, kafkaHealth, sparkMasterHealth } from './health';
import { MEMORY } from './memory';
import { brokerPorts, endpointValues, portOf, workerUiPort, type NativePorts } from './ports';
import { nativeService, type NativeServiceId } from './services';
import type { StackScale } from '../scale';

export interface ProbeContext {
  ports: NativePorts;
  scale: StackScale;
  airflow: AirflowMajor;
  postgres: { health(timeoutMs?: number): Promise<HealthResult>; status(): Promise<HealthResult> };
}

export interface ProbeOptions {
  /** the start wait: a broker of a cluster is healthy once the cluster has all its brokers; errors are thrown */
  forStart?: boolean;
}

/** Reads the health of these services, each probe once (one Airflow /health for all its processes). */
export async function probeHealth(ids: readonly NativeServiceId[], c: ProbeContext, o: ProbeOptions = {}): Promise<Map<NativeServiceId, HealthResult>> {
  const e = endpointValues(c.ports, c.scale);
  const probes = new Set(ids.map((id) => nativeService(id).entry.health));
  const has = (p: HealthProbe) => probes.has(p);
  const airflowProbes: HealthProbe[] = ['airflow-web', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer'];
  const timeout = o.forStart ? 4000 : 3000;
  const [spark, airflow, postgres] = await Promise.all([
    has('spark-master') || has('spark-worker') ? sparkMasterHealth(e.sparkUiUrl, !!o.forStart && has('spark-worker')) : undefined,
    airflowProbes.some(has) ? airflowHealth(e.airflowUrl, timeout, c.airflow) : undefined,
    has('postgres') ? (o.forStart ? c.postgres.health() : c.postgres.status()) : undefined,
  ]);
  const out = new Map<NativeServiceId, HealthResult>();
  await Promise.all(
    ids.map(async (id) => {
      out.set(id, await one(id, { c, o, spark, airflow: airflow!, postgres: postgres! }));
    }),
  );
  return out;
}

interface Read {
  c: ProbeContext;
  o: ProbeOptions;
  spark?: HealthResult & { status?: { workers?: Array<{ state: string; webUiAddress: string }> } };
  airflow: AirflowServicesHealth;
  postgres: HealthResult;
}

/** A GET that answers 2xx: healthy (the answer's first line is the detail). */
async function httpHealth(url: string, timeoutMs: number): Promise<HealthResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const text = (await res.text()).split('\n')[0].slice(0, 200);
    return { ok: res.ok, detail: res.ok ? text : `${url} answered ${res.status}` };
  } catch (e) {
    return { ok: false, detail: `${url}: ${(e as Error).message}` };
  }
}

async function one(id: NativeServiceId, r: Read): Promise<HealthResult> {
  const s = nativeService(id);
  const probe: HealthProbe = s.entry.health;
  switch (probe) {
    case 'kafka': {
      const bootstrap = `${HOST}:${brokerPorts(r.c.ports, s.index).kafka}`;
      return r.o.forStart ? kafkaHealth(bootstrap, 4000, { brokers: r.c.scale.kafkaBrokers }) : kafkaHealth(bootstrap, 3000);
    }
    case 'spark-master':
      return { ok: !!r.spark?.ok, detail: r.spark?.detail ?? '' };
    case 'spark-worker': {
      const uiPort = workerUiPort(r.c.ports, s.index);
      const mine = (r.spark?.status?.workers ?? []).some((w) => w.state === 'ALIVE' && w.webUiAddress.endsWith(`:${uiPort}`));
      if (r.o.forStart) return { ok: !!r.spark?.ok && mine, detail: mine ? r.spark!.detail : `worker not registered with the master yet (${r.spark?.detail})` };
      return { ok: !!r.spark?.ok && mine, detail: mine ? `registered with the master, ${MEMORY.sparkWorkerCores} cores, ${MEMORY.sparkWorkerMemory}` : 'not registered with the master' };
    }
    case 'postgres':
      return r.postgres;
    case 'airflow-web':
      return r.airflow.web;
    case 'airflow-scheduler':
      return r.airflow.scheduler;
    case 'airflow-dag-processor':
      return r.airflow.dagProcessor;
    case 'airflow-triggerer':
      return r.airflow.triggerer;
    case 'http':
      return httpHealth(`http://${HOST}:${portOf(r.c.ports)(s.entry.ports[0].key, s.index)}${s.entry.healthPath ?? '/'}`, r.o.forStart ? 4000 : 3000);
    case 'compose':
      throw new Error(`${id} runs on the Docker backend only.`);
    default: {
      const never: never = probe;
      throw new Error(`No health probe "${String(never)}".`);
    }
  }
}
