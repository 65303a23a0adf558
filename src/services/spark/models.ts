/**
 * Models of what the Spark standalone master reports on its JSON status endpoint (`/json` on the
 * master UI port), and a validator for that boundary: the master's JSON is parsed into these types
 * or rejected with a message naming the field that did not fit.
 */

export type SparkAppState = 'WAITING' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' | 'UNKNOWN';

/** Whether the master is done with an application in this state (not WAITING or RUNNING). */
export function isFinalAppState(state: SparkAppState): boolean {
  return state !== 'WAITING' && state !== 'RUNNING';
}

export interface SparkWorker {
  id: string;
  host: string;
  port: number;
  webUiAddress: string;
  cores: number;
  coresUsed: number;
  /** MiB */
  memory: number;
  /** MiB */
  memoryUsed: number;
  state: string;
  lastHeartbeat: number;
}

export interface SparkApplication {
  id: string;
  name: string;
  user: string;
  cores: number;
  /** MiB per executor */
  memoryPerExecutor: number;
  /** epoch ms */
  startTime: number;
  state: SparkAppState;
  /** ms; for running apps the master reports the time since start at the moment of the request */
  duration: number;
  /**
   * Exit code of the spark-submit that drove this application, when it was submitted from here.
   * The standalone master records a Python job that raised as FINISHED; a non-zero exit turns it FAILED.
   */
  driverExitCode?: number;
}

export interface SparkMasterStatus {
  url: string;
  status: string;
  workers: SparkWorker[];
  aliveWorkers: number;
  cores: number;
  coresUsed: number;
  /** MiB */
  memory: number;
  /** MiB */
  memoryUsed: number;
  activeApps: SparkApplication[];
  completedApps: SparkApplication[];
}

export class SparkResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SparkResponseError';
  }
}

type Json = Record<string, unknown>;

function obj(v: unknown, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SparkResponseError(`${where} is not an object`);
  }
  return v as Json;
}

function str(o: Json, key: string, where: string, fallback?: string): string {
  const v = o[key];
  if (typeof v === 'string') return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new SparkResponseError(`${where}.${key} is not a string`);
}

function num(o: Json, key: string, where: string, fallback?: number): number {
  const v = o[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new SparkResponseError(`${where}.${key} is not a number`);
}

function arr(o: Json, key: string, where: string): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new SparkResponseError(`${where}.${key} is not an array`);
  return v;
}

const APP_STATES: readonly SparkAppState[] = ['WAITING', 'RUNNING', 'FINISHED', 'FAILED', 'KILLED'];

export function parseAppState(v: string): SparkAppState {
  return (APP_STATES as readonly string[]).includes(v) ? (v as SparkAppState) : 'UNKNOWN';
}

function parseWorker(v: unknown, where: string): SparkWorker {
  const o = obj(v, where);
  return {
    id: str(o, 'id', where),
    host: str(o, 'host', where, ''),
    port: num(o, 'port', where, 0),
    webUiAddress: str(o, 'webuiaddress', where, ''),
    cores: num(o, 'cores', where),
    coresUsed: num(o, 'coresused', where, 0),
    memory: num(o, 'memory', where),
    memoryUsed: num(o, 'memoryused', where, 0),
    state: str(o, 'state', where, 'UNKNOWN'),
    lastHeartbeat: num(o, 'lastheartbeat', where, 0),
  };
}

function parseApp(v: unknown, where: string): SparkApplication {
  const o = obj(v, where);
  return {
    id: str(o, 'id', where),
    name: str(o, 'name', where, ''),
    user: str(o, 'user', where, ''),
    cores: num(o, 'cores', where, 0),
    memoryPerExecutor: num(o, 'memoryperexecutor', where, num(o, 'memoryperslave', where, 0)),
    startTime: num(o, 'starttime', where, 0),
    state: parseAppState(str(o, 'state', where, 'UNKNOWN')),
    duration: num(o, 'duration', where, 0),
  };
}

/** Validate the body of `GET /json` from a Spark 3.x standalone master. */
export function parseMasterStatus(body: unknown): SparkMasterStatus {
  const o = obj(body, 'master /json');
  const where = 'master /json';
  const workers = arr(o, 'workers', where).map((w, i) => parseWorker(w, `${where}.workers[${i}]`));
  const byStartDesc = (a: SparkApplication, b: SparkApplication) => b.startTime - a.startTime;
  return {
    url: str(o, 'url', where),
    status: str(o, 'status', where, 'UNKNOWN'),
    workers,
    aliveWorkers: num(o, 'aliveworkers', where, workers.filter((w) => w.state === 'ALIVE').length),
    cores: num(o, 'cores', where, 0),
    coresUsed: num(o, 'coresused', where, 0),
    memory: num(o, 'memory', where, 0),
    memoryUsed: num(o, 'memoryused', where, 0),
    activeApps: arr(o, 'activeapps', where)
      .map((a, i) => parseApp(a, `${where}.activeapps[${i}]`))
      .sort(byStartDesc),
    completedApps: arr(o, 'completedapps', where)
      .map((a, i) => parseApp(a, `${where}.completedapps[${i}]`))
      .sort(byStartDesc),
  };
}

/** "1.5 GiB", "512 MiB" from MiB. */
export function formatMemoryMiB(mib: number): string {
  if (mib >= 1024) {
    const gib = mib / 1024;
    return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
  }
  return `${mib} MiB`;
}

/** "42 s", "3 min 05 s", "1 h 02 min" from ms. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}
