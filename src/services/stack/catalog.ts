/**
 * The stack as data: every service of the local stack is one entry here, and what both backends,
 * the Stack view, the endpoints and the docs need of it is derived from these entries (native start
 * order and waves, ids, labels, groups, ports and which setting moves them, health probe, start
 * timeout, the compose service and profile, the addresses it gives the views and DAGs).
 *
 * The entries are in catalogEntries.ts. Adding a service = one entry there + its compose block + its
 * program (a stdlib Python script under stack/ needs nothing else: `run`, `health: 'http'`).
 * `test/unit/catalog.test.ts` fails when the compose file and this catalog disagree.
 * No `vscode` import (the CLI, the MCP server and plain mocha use it).
 */
import type { AirflowMajor } from './airflowVersion';
import { DEFAULT_SCALE, MAX_SCALE, type StackScale } from './scale';
import type { StackEndpoints } from './types';

export { HOST } from './host';
import { HOST } from './host';

/** Service groups a caller may limit the stack to (env DATAPIPELINE_TEST_SERVICES=kafka,spark). */
export type ServiceGroup = 'kafka' | 'spark' | 'airflow';
export const ALL_GROUPS: ServiceGroup[] = ['kafka', 'spark', 'airflow'];

/**
 * How a service's health is read (one probe per kind; both the start wait and the Stack view use it).
 * `compose`: the compose file's own healthcheck (or a one-shot's exit 0), for services only Docker runs.
 * `http`: natively, a GET of the entry's `healthPath` on its first port answers 2xx (Docker: its compose healthcheck).
 */
export type HealthProbe = 'kafka' | 'spark-master' | 'spark-worker' | 'postgres' | 'airflow-web' | 'airflow-scheduler' | 'airflow-dag-processor' | 'airflow-triggerer' | 'compose' | 'http';

export interface CatalogPort {
  /** shown in the Stack view, e.g. "Kafka bootstrap" */
  name: string;
  /** its key in datapipeline.stack.nativePorts, `--ports` and DATAPIPELINE_PORTS */
  key: string;
  default: number;
  /** instance i (0-based) of a scaled service listens at the first instance's port + step × i */
  step?: number;
  /** the Docker stack's .env variable that moves it (instance i > 0: `<var>_<i+1>`); none: not published by compose */
  composeVar?: string;
  /** serves a page a user opens (an http URL) */
  http?: boolean;
  /** a port only the native processes listen on (the containers keep theirs on the compose network) */
  nativeOnly?: boolean;
  /** a port only the Docker stack publishes (the native stack takes a free one when it needs it) */
  dockerOnly?: boolean;
}

export interface CatalogService {
  /** the one name of the service everywhere: native process, Stack view row, `datapipeline.id` of its compose service */
  id: string;
  /** the Stack view's label; `{n}` is "" for the first instance, " 2", " 3" for the others */
  label: string;
  /** another label with one Airflow (its own init service says what it does) */
  airflowLabel?: Partial<Record<AirflowMajor, string>>;
  group: ServiceGroup;
  /** run N times by the stack's scale (ids `<id>`, `<id>-2`, `<id>-3`) */
  scaledBy?: keyof StackScale;
  /** runs only with this Airflow */
  airflow?: AirflowMajor;
  /** started after these are healthy (the native start order is derived from this, not from positions) */
  dependsOn: string[];
  /** services with the same wave start together, once what they depend on is healthy (instances of one entry always do) */
  wave?: string;
  ports: CatalogPort[];
  health: HealthProbe;
  /** with health `http`: the path a GET of answers 2xx when the service is healthy */
  healthPath?: string;
  /**
   * How the native backend runs a Python script of the stack folder with the stack's Python (for a
   * service with no spec of its own in native/serviceSpecs.ts): the script and its arguments.
   */
  run?: { python: (a: RunArgs) => string[] };
  /** how long a start may take before the service counts as failed */
  startTimeoutMs: number;
  /** its compose service (per Airflow when the two Airflows have their own), and profile when not started by default */
  compose?: {
    service: string | Record<AirflowMajor, string>;
    /** compose services of instances 2 and 3 (`broker-2`), or compose's own --scale when absent */
    instanceServices?: boolean;
    profile?: string | Record<AirflowMajor, string>;
    /** the profile of instances 2 and 3 */
    instanceProfile?: string;
  };
  /** only one backend runs it */
  backends?: Array<'docker' | 'native'>;
  /** not counted as missing when it is not running (e.g. Kafka UI without its image) */
  optional?: boolean;
  /** the addresses it gives the views, clients and DAGs */
  provides?: Partial<Record<keyof StackEndpoints | (string & {}), (port: PortOf, scale: StackScale) => string>>;
}

/** What a native run spec is given: the ports, the stack folder and this service's own state folder. */
export interface RunArgs {
  port: PortOf;
  stackDir: string;
  dataDir: string;
}

/** The port of a key for instance i of a service (native: the ports setting; Docker: the .env). */
export type PortOf = (key: string, instance?: number) => number;

export { CATALOG } from './catalogEntries';
import { CATALOG } from './catalogEntries';

/** One running instance of a catalog entry ("kafka-2" is instance 1 of "kafka"). */
export interface StackService {
  id: string;
  entry: CatalogService;
  index: number;
  label: string;
}

/** The id of instance i of an entry: the entry's id, then `<id>-2`, `<id>-3`. */
export function instanceId(entry: CatalogService, index: number): string {
  return index === 0 ? entry.id : `${entry.id}-${index + 1}`;
}

export function instanceLabel(entry: CatalogService, index: number, airflow?: AirflowMajor): string {
  const label = (airflow && entry.airflowLabel?.[airflow]) || entry.label;
  return label.replace('{n}', index === 0 ? '' : ` ${index + 1}`);
}

function instanceCount(entry: CatalogService, scale: StackScale): number {
  return entry.scaledBy ? scale[entry.scaledBy] : 1;
}

/**
 * The entries in start order: each after what it depends on, ties kept in catalog order.
 * Throws on an unknown dependency or a cycle (a catalog mistake, caught by the unit tests).
 */
export function startOrder(catalog: readonly CatalogService[] = CATALOG): CatalogService[] {
  let order = ORDERS.get(catalog);
  if (!order) ORDERS.set(catalog, (order = sortByDependencies(catalog)));
  return order;
}

/** Each catalog's start order, sorted once (a catalog is never changed after it is made). */
const ORDERS = new WeakMap<readonly CatalogService[], CatalogService[]>();

function sortByDependencies(catalog: readonly CatalogService[]): CatalogService[] {
  const byId = new Map(catalog.map((e) => [e.id, e]));
  const out: CatalogService[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (e: CatalogService, path: string[]) => {
    if (state.get(e.id) === 'done') return;
    if (state.get(e.id) === 'visiting') throw new Error(`The stack catalog has a dependency cycle: ${[...path, e.id].join(' → ')}.`);
    state.set(e.id, 'visiting');
    for (const d of e.dependsOn) {
      const dep = byId.get(d);
      if (!dep) throw new Error(`The stack catalog's "${e.id}" depends on "${d}", which is not in it.`);
      visit(dep, [...path, e.id]);
    }
    state.set(e.id, 'done');
    out.push(e);
  };
  for (const e of catalog) visit(e, []);
  return out;
}

export interface Selection {
  groups?: readonly ServiceGroup[];
  scale?: StackScale;
  airflow?: AirflowMajor;
  backend?: 'docker' | 'native';
}

function selected(e: CatalogService, sel: Selection): boolean {
  if (sel.groups && !sel.groups.includes(e.group)) return false;
  if (sel.airflow && e.airflow && e.airflow !== sel.airflow) return false;
  if (sel.backend && e.backends && !e.backends.includes(sel.backend)) return false;
  return true;
}

/** Every instance the selection runs, in start order (no selection: every instance there could be). */
export function stackServices(sel: Selection = {}, catalog: readonly CatalogService[] = CATALOG): StackService[] {
  const scale = sel.scale ?? MAX_SCALE;
  return startOrder(catalog)
    .filter((e) => selected(e, sel))
    .flatMap((entry) => Array.from({ length: instanceCount(entry, scale) }, (_, index) => ({ id: instanceId(entry, index), entry, index, label: instanceLabel(entry, index, sel.airflow) })));
}

/** The instance an id names ("spark-worker-2"), or undefined. */
export function findService(id: string, catalog: readonly CatalogService[] = CATALOG): StackService | undefined {
  let byId = INSTANCES.get(catalog);
  if (!byId) INSTANCES.set(catalog, (byId = new Map(stackServices({ scale: MAX_SCALE }, catalog).map((s) => [s.id, s]))));
  return byId.get(id);
}

/** Every instance of each catalog by id, made once (findService is asked per service on every status read). */
const INSTANCES = new WeakMap<readonly CatalogService[], Map<string, StackService>>();

/**
 * Groups the services into start waves: the instances of one entry, and neighbours sharing a `wave`,
 * start together (a KRaft quorum of 3 elects no leader until 2 run; Airflow's processes need
 * PostgreSQL, not each other); everything else one after another.
 */
export function startWaves<T extends { entry: CatalogService }>(services: readonly T[]): T[][] {
  const waves: T[][] = [];
  const together = (a: CatalogService, b: CatalogService) => a === b || (!!a.wave && a.wave === b.wave);
  for (const s of services) {
    const last = waves[waves.length - 1];
    if (last && together(last[0].entry, s.entry)) last.push(s);
    else waves.push([s]);
  }
  return waves;
}

/** The port settings of the services a backend runs: key → default (the native ports setting's keys). */
export function portDefaults(backend: 'docker' | 'native' = 'native', catalog: readonly CatalogService[] = CATALOG): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of startOrder(catalog)) {
    if (e.backends && !e.backends.includes(backend)) continue;
    for (const p of e.ports) {
      if (backend === 'docker' && (p.nativeOnly || !p.composeVar)) continue;
      if (backend === 'native' && p.dockerOnly) continue;
      if (out[p.key] !== undefined && out[p.key] !== p.default) throw new Error(`The stack catalog gives port "${p.key}" two defaults (${out[p.key]} and ${p.default}).`);
      out[p.key] = p.default;
    }
  }
  return out;
}

/** The ports instance `s` listens on, with their URL when they serve a page. */
export function servicePortList(s: StackService, port: PortOf, backend: 'docker' | 'native' = 'native'): Array<{ name: string; port: number; url?: string }> {
  return s.entry.ports
    .filter((p) => (backend === 'native' ? !p.dockerOnly : !p.nativeOnly && !!p.composeVar))
    .map((p) => {
      const n = port(p.key, s.index);
      return p.http ? { name: p.name, port: n, url: `http://${HOST}:${n}` } : { name: p.name, port: n };
    });
}

/** The port lookup of the native stack: the ports setting, instance i at + step × i. */
export function nativePortOf(ports: Record<string, number>, catalog: readonly CatalogService[] = CATALOG): PortOf {
  const step = stepOf(catalog);
  return (key, i = 0) => {
    const base = ports[key];
    if (base === undefined) throw new Error(`No port "${key}" in the native ports.`);
    return base + (step.get(key) ?? 0) * i;
  };
}

/** The port lookup of the Docker stack: its .env variables (`KAFKA_PORT`, `KAFKA_PORT_2`), else the catalog's defaults. */
export function composePortOf(env: Record<string, string | undefined>, catalog: readonly CatalogService[] = CATALOG): PortOf {
  const ports = new Map(catalog.flatMap((e) => e.ports).map((p) => [p.key, p]));
  return (key, i = 0) => {
    const p = ports.get(key);
    if (!p) throw new Error(`No port "${key}" in the stack catalog.`);
    const v = p.composeVar ? env[i === 0 ? p.composeVar : `${p.composeVar}_${i + 1}`] : undefined;
    return Number(v) || p.default + (p.step ?? 0) * i;
  };
}

/** Each catalog's port steps by key, made once. */
const STEPS = new WeakMap<readonly CatalogService[], Map<string, number>>();

function stepOf(catalog: readonly CatalogService[]): Map<string, number> {
  let steps = STEPS.get(catalog);
  if (!steps) STEPS.set(catalog, (steps = new Map(catalog.flatMap((e) => e.ports).filter((p) => p.step).map((p) => [p.key, p.step!]))));
  return steps;
}

/** The addresses the running stack gives the views, clients and DAGs, from what its services provide. */
export function catalogEndpoints(port: PortOf, sel: Selection = {}, catalog: readonly CatalogService[] = CATALOG): StackEndpoints & Record<string, string> {
  const scale = sel.scale ?? DEFAULT_SCALE;
  const out: Record<string, string> = {};
  for (const e of startOrder(catalog)) {
    if (!selected(e, { ...sel, groups: undefined })) continue;
    for (const [k, f] of Object.entries(e.provides ?? {})) if (f) out[k] ??= f(port, scale);
  }
  return out as StackEndpoints & Record<string, string>;
}

/** The compose service of an entry's instance for the Airflow the stack runs (undefined: not in compose). */
export function composeServiceOf(entry: CatalogService, index = 0, airflow: AirflowMajor = 2): string | undefined {
  if (!entry.compose) return undefined;
  const base = typeof entry.compose.service === 'string' ? entry.compose.service : entry.compose.service[airflow];
  return index > 0 && entry.compose.instanceServices ? `${base}-${index + 1}` : base;
}

/** The profile of an entry's compose service (undefined: started by default). */
export function composeProfileOf(entry: CatalogService, index = 0, airflow: AirflowMajor = 2): string | undefined {
  if (!entry.compose) return undefined;
  if (index > 0 && entry.compose.instanceProfile) return entry.compose.instanceProfile;
  const p = entry.compose.profile;
  return typeof p === 'string' || p === undefined ? p : p[airflow];
}

/**
 * Resolves a name a user types (an id, a compose service name such as "broker", or a group such as
 * "spark") to the ids it means; throws naming the known ones.
 */
export function resolveService(name: string, backend?: 'docker' | 'native', catalog: readonly CatalogService[] = CATALOG): string[] {
  const n = name.trim().toLowerCase();
  const all = stackServices({ scale: MAX_SCALE, backend }, catalog);
  if (all.some((s) => s.id === n)) return [n];
  const byCompose = all.find((s) => [2, 3].some((a) => composeServiceOf(s.entry, 0, a as AirflowMajor) === n))?.entry;
  if (byCompose) return [byCompose.id];
  if ((ALL_GROUPS as string[]).includes(n)) {
    // a group means its processes: "airflow" is not its metadata database
    return all.filter((s) => s.entry.group === n && !(n === 'airflow' && s.entry.health === 'postgres')).map((s) => s.id);
  }
  throw new Error(`Unknown service "${name}". Known services: ${all.map((s) => s.id).join(', ')}.`);
}

/** The README's ports table (one row per port of each service: where it listens, which setting and which .env variable move it). */
export function portsTable(catalog: readonly CatalogService[] = CATALOG): string {
  const rows = ['| Service | Port | Native (`datapipeline.stack.nativePorts`, `--ports`) | Docker (`stack/.env`) |', '|---|---|---|---|'];
  for (const e of startOrder(catalog)) {
    for (const p of e.ports) {
      const scaled = e.scaledBy && p.step ? ` (instance N: + ${p.step} × (N − 1))` : '';
      const native = e.backends && !e.backends.includes('native') ? 'Docker only' : p.dockerOnly ? 'a free port each time' : `\`${p.key}\``;
      const docker = p.nativeOnly || !p.composeVar ? 'not published' : `\`${p.composeVar}\`${e.compose?.instanceServices ? `, \`${p.composeVar}_2\`, \`${p.composeVar}_3\`` : ''}`;
      rows.push(`| ${instanceLabel(e, 0).replace(/ \(.*\)$/, '')} — ${p.name} | ${p.default}${scaled} | ${native} | ${docker} |`);
    }
  }
  return rows.join('\n');
}
