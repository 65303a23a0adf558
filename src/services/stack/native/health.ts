/** Real health checks of the native services (metadata request, Spark master JSON, Airflow /health). */
import { Kafka, logLevel } from 'kafkajs';
import type { SparkMasterStatus } from '../../spark/models';
import { SparkMasterClient, SparkUnreachableError } from '../../spark/sparkMasterClient';
import { run } from './provision';

export interface HealthResult {
  ok: boolean;
  detail: string;
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

/**
 * Kafka answers a metadata request (describeCluster) on the bootstrap address, and its group
 * coordinator answers ListGroups: a broker restarted with much data answers metadata at once but
 * group requests only after it has read __consumer_offsets (COORDINATOR_LOAD_IN_PROGRESS; seen for
 * more than 15 s here), and until then the Topics view's consumer groups would fail.
 */
export async function kafkaHealth(bootstrap: string, timeoutMs = 4000, expect: { brokers?: number } = {}): Promise<HealthResult> {
  const kafka = new Kafka({
    clientId: 'datapipeline-health',
    brokers: [bootstrap],
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await withTimeout(admin.connect(), timeoutMs);
    const c = await withTimeout(admin.describeCluster(), timeoutMs);
    if (c.brokers.length === 0) return { ok: false, detail: 'no broker in the cluster metadata' };
    // a cluster starting: healthy once this broker sees all of them registered (so is every client that asks it)
    if (expect.brokers && c.brokers.length < expect.brokers) return { ok: false, detail: `${c.brokers.length} of ${expect.brokers} brokers registered` };
    try {
      await withTimeout(admin.listGroups(), timeoutMs);
    } catch (e) {
      const type = (e as { type?: string }).type;
      if (type === 'COORDINATOR_LOAD_IN_PROGRESS' || type === 'COORDINATOR_NOT_AVAILABLE') return { ok: false, detail: 'the group coordinator is still loading consumer offsets' };
      throw e;
    }
    return { ok: true, detail: `${c.brokers.length} broker${c.brokers.length === 1 ? '' : 's'}, controller ${c.controller}` };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  } finally {
    admin.disconnect().catch(() => undefined);
  }
}

/** The master answers its /json (through the same validating client as the Spark view) and is ALIVE; with `needWorker`, a worker is too. */
export async function sparkMasterHealth(uiUrl: string, needWorker: boolean, timeoutMs = 3000): Promise<HealthResult & { status?: SparkMasterStatus }> {
  try {
    const st = await new SparkMasterClient(uiUrl, { timeoutMs }).status();
    const alive = st.workers.filter((w) => w.state === 'ALIVE').length;
    const ok = st.status === 'ALIVE' && (!needWorker || alive > 0);
    return { ok, detail: `${st.status}, ${alive} worker${alive === 1 ? '' : 's'}, ${st.cores} cores`, status: st };
  } catch (e) {
    return { ok: false, detail: e instanceof SparkUnreachableError ? e.detail : (e as Error).message };
  }
}

export interface AirflowHealthJson {
  metadatabase?: { status?: string };
  scheduler?: { status?: string; latest_scheduler_heartbeat?: string | null };
  /** Airflow 3 */
  dag_processor?: { status?: string | null; latest_dag_processor_heartbeat?: string | null };
  triggerer?: { status?: string | null; latest_triggerer_heartbeat?: string | null };
}

export interface AirflowServicesHealth {
  /** the webserver (2) or the API server (3) */
  web: HealthResult;
  scheduler: HealthResult;
  /** Airflow 3's own processes */
  dagProcessor: HealthResult;
  triggerer: HealthResult;
}

/** Airflow's unauthenticated health (/health on Airflow 2, /api/v2/monitor/health on 3), per component. */
export async function airflowHealth(url: string, timeoutMs = 4000, airflow: 2 | 3 = 2): Promise<AirflowServicesHealth> {
  try {
    const j = (await getJson(`${url}${airflow === 3 ? '/api/v2/monitor/health' : '/health'}`, timeoutMs)) as AirflowHealthJson;
    const db = j.metadatabase?.status === 'healthy';
    const part = (status: string | null | undefined, beat: string | null | undefined): HealthResult => ({ ok: status === 'healthy', detail: `heartbeat ${beat ?? 'none yet'}` });
    return {
      web: { ok: db, detail: `metadatabase ${j.metadatabase?.status ?? '?'}` },
      scheduler: part(j.scheduler?.status, j.scheduler?.latest_scheduler_heartbeat),
      dagProcessor: part(j.dag_processor?.status, j.dag_processor?.latest_dag_processor_heartbeat),
      triggerer: part(j.triggerer?.status, j.triggerer?.latest_triggerer_heartbeat),
    };
  } catch (e) {
    const d = (e as Error).message;
    const down = { ok: false, detail: `${airflow === 3 ? 'API server' : 'webserver'} not answering` };
    return { web: { ok: false, detail: d }, scheduler: down, dagProcessor: down, triggerer: down };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** PostgreSQL accepts connections on 127.0.0.1 (pg_isready, the server's own probe). */
export async function postgresHealth(pgIsReady: string, port: number, env: NodeJS.ProcessEnv, timeoutMs = 5000): Promise<HealthResult> {
  // asynchronous: a server that accepts and does not answer holds pg_isready for its whole timeout,
  // which must not hold the extension host's thread (status polls call this)
  const r = await run(pgIsReady, ['-h', '127.0.0.1', '-p', String(port), '-d', 'airflow', '-U', 'airflow', '-t', String(Math.ceil(timeoutMs / 1000))], { env, timeoutMs: timeoutMs + 1000 });
  const detail = `${r.stdout}${r.stderr}`.trim().replace(/^127\.0\.0\.1:\d+ - /, '') || `pg_isready exited with ${r.code}`;
  return { ok: r.code === 0, detail };
}
