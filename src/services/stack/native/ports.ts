/**
 * The native stack's ports: the setting's keys and defaults come from the stack catalog; the extra
 * brokers' and workers' ports follow the first ones'. Pure (unit-tested).
 */
import { catalogEndpoints, findService, HOST, nativePortOf, portDefaults, servicePortList, type PortOf } from '../catalog';
import { DEFAULT_SCALE, type StackScale } from '../scale';
import type { StackEndpoints } from '../types';

/**
 * The keys of datapipeline.stack.nativePorts: every port of a catalog service the native stack runs
 * (those the code names are typed here; a new service's port needs no edit here).
 */
export interface NativePorts {
  [key: string]: number;
  kafka: number;
  kafkaController: number;
  sparkMaster: number;
  sparkMasterUi: number;
  sparkWorkerUi: number;
  airflow: number;
  /** Airflow's metadata database */
  postgres: number;
  /** the OpenLineage receiver */
  lineage: number;
}

/** The keys the code names: each must be a port of the catalog (a mistake caught at load). */
const NAMED_KEYS = ['kafka', 'kafkaController', 'sparkMaster', 'sparkMasterUi', 'sparkWorkerUi', 'airflow', 'postgres', 'lineage'] as const;

/** The defaults, from the catalog, in its start order (the order they are listed to a user). */
export const DEFAULT_PORTS: NativePorts = (() => {
  const d = portDefaults('native');
  const missing = NAMED_KEYS.filter((k) => d[k] === undefined);
  if (missing.length) throw new Error(`The stack catalog has no native port ${missing.join(', ')}.`);
  return d as NativePorts;
})();

/** The port lookup of these ports (instance i of a scaled service at + step × i). */
export function portOf(ports: NativePorts): PortOf {
  return nativePortOf(ports);
}

/** Broker i's client and controller ports: the next pairs after the first broker's (9092/9093, 9094/9095, 9096/9097). */
export function brokerPorts(ports: NativePorts, index: number): { kafka: number; controller: number } {
  const p = portOf(ports);
  return { kafka: p('kafka', index), controller: p('kafkaController', index) };
}

/** Worker i's web UI port (8081, 8082, 8083). */
export function workerUiPort(ports: NativePorts, index: number): number {
  return portOf(ports)('sparkWorkerUi', index);
}

export function mergePorts(p?: Partial<NativePorts>, scale: StackScale = DEFAULT_SCALE): NativePorts {
  // a key no service has moves nothing (it is not kept)
  const ports: NativePorts = { ...DEFAULT_PORTS };
  for (const k of Object.keys(DEFAULT_PORTS)) if (p?.[k] !== undefined) ports[k] = p[k]!;
  for (const [k, v] of Object.entries(ports)) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new Error(`Invalid port for ${k}: ${v}`);
  }
  // the extra brokers' and workers' ports follow the first ones': they must not collide either
  const all: Array<[string, number]> = Object.entries(ports);
  for (let i = 1; i < scale.kafkaBrokers; i++) {
    const b = brokerPorts(ports, i);
    all.push([`kafka (broker ${i + 1})`, b.kafka], [`kafkaController (broker ${i + 1})`, b.controller]);
  }
  for (let i = 1; i < scale.sparkWorkers; i++) all.push([`sparkWorkerUi (worker ${i + 1})`, workerUiPort(ports, i)]);
  const seen = new Map<number, string>();
  for (const [k, v] of all) {
    if (v > 65535) throw new Error(`Invalid port for ${k}: ${v}`);
    if (seen.has(v)) throw new Error(`Port ${v} is configured for both ${seen.get(v)} and ${k}.`);
    seen.set(v, k);
  }
  return ports;
}

/**
 * "kafka=19092,airflow=18085" → ports to change (names as in NativePorts). Used by
 * `npm run stack -- up --ports …` / DATAPIPELINE_PORTS; the extension's setting
 * datapipeline.stack.nativePorts is the same object.
 */
export function parsePortsSpec(spec: string | undefined): Partial<NativePorts> {
  const out: Partial<NativePorts> = {};
  for (const part of (spec ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)\s*=\s*(\d+)$/.exec(part);
    const name = m?.[1] as keyof NativePorts | undefined;
    if (!m || !name || !(name in DEFAULT_PORTS)) {
      throw new Error(`"${part}" is not a port setting. Use name=port with names ${Object.keys(DEFAULT_PORTS).join(', ')} (e.g. kafka=19092,airflow=18085).`);
    }
    out[name] = Number(m[2]);
  }
  return out;
}

/** What a user does when a port of the native stack is taken (the port conflict's next step). */
export const MOVE_PORTS_HINT =
  'Stop the program holding the port, or move the native stack to free ports: `npm run stack -- up --ports kafka=19092,airflow=18085` ' +
  '(or DATAPIPELINE_PORTS), or in VS Code the setting datapipeline.stack.nativePorts ({"kafka": 19092}); the views follow.';

/** Ports each service listens on (checked before starting). */
export function servicePorts(id: string, ports: NativePorts): Array<{ name: string; port: number; url?: string }> {
  const s = findService(id);
  return s ? servicePortList(s, portOf(ports)) : [];
}

export type EndpointValues = StackEndpoints;

/** The addresses the native stack gives the views and DAGs (what its catalog services provide). */
export function endpointValues(ports: NativePorts, scale: StackScale = DEFAULT_SCALE): EndpointValues {
  return catalogEndpoints(portOf(ports), { scale });
}

export { HOST };
