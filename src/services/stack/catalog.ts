/**
 * The stack as data: every service of the local stack is one entry here, and what both backends,
 * the Stack view, the endpoints and the docs need of it is derived from these entries (native start
 * order and waves, ids, labels, groups, ports and which setting moves them, health probe, start
 * timeout, the compose service and profile, the addresses it gives the views and DAGs).
 *
 * Adding a service = one entry here + its compose block (and image) + its native run spec.
 * `test/unit/catalog.test.ts` fails when the compose file and this catalog disagree.
 * No `vscode` import (the CLI, the MCP server and plain mocha use it).
 */
import type { AirflowMajor } from './airflowVersion';
import { DEFAULT_SCALE, MAX_SCALE, type StackScale } from './scale';
import type { StackEndpoints } from './types';

/** Every address of the stack is on loopback. */
export const HOST = '127.0.0.1';

/** Service groups a caller may limit the stack to (env DATAPIPELINE_TEST_SERVICES=kafka,spark). */
export type ServiceGroup = 'kafka' | 'spark' | 'airflow';
export const ALL_GROUPS: ServiceGroup[] = ['kafka', 'spark', 'airflow'];

/**
 * How a service's health is read (one probe per kind; both the start wait and the Stack view use it).
 * `compose`: the compose file's own healthcheck (or a one-shot's exit 0), for services only Docker runs.
 */
export type HealthProbe = 'kafka' | 'spark-master' | 'spark-worker' | 'postgres' | 'airflow-web' | 'airflow-scheduler' | 'airflow-dag-processor' | 'airflow-triggerer' | 'compose';

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

/** The port of a key for instance i of a service (native: the ports setting; Docker: the .env). */
export type PortOf = (key: string, instance?: number) => number;

const AIRFLOW_PROFILE: Record<AirflowMajor, string> = { 2: 'airflow2', 3: 'airflow3' };
const airflowUi: CatalogPort = { name: 'Airflow UI', key: 'airflow', default: 8085, composeVar: 'AIRFLOW_PORT', http: true };
const airflowUrl = (p: PortOf) => `http://${HOST}:${p('airflow')}`;

export const CATALOG: readonly CatalogService[] = [
  {
    id: 'kafka',
    label: 'Kafka broker{n} (KRaft)',
    group: 'kafka',
    scaledBy: 'kafkaBrokers',
    dependsOn: [],
    ports: [
      { name: 'Kafka bootstrap', key: 'kafka', default: 9092, step: 2, composeVar: 'KAFKA_PORT' },
      { name: 'Kafka controller', key: 'kafkaController', default: 9093, step: 2, nativeOnly: true },
    ],
    health: 'kafka',
    startTimeoutMs: 180_000,
    compose: { service: 'broker', instanceServices: true, instanceProfile: 'kafka-cluster' },
    provides: {
      kafkaBootstrap: (p, scale) => Array.from({ length: scale.kafkaBrokers }, (_, i) => `${HOST}:${p('kafka', i)}`).join(','),
    },
  },
  {
    id: 'kafka-ui',
    label: 'Kafka UI',
    group: 'kafka',
    dependsOn: ['kafka'],
    ports: [{ name: 'Kafka UI', key: 'kafkaUi', default: 8090, composeVar: 'KAFKA_UI_PORT', http: true }],
    health: 'compose',
    startTimeoutMs: 180_000,
    // an upstream image: started when it can be had, else the rest runs without it
    compose: { service: 'kafka-ui', profile: 'kafka-ui' },
    backends: ['docker'],
    optional: true,
  },
  {
    id: 'spark-master',
    label: 'Spark master',
    group: 'spark',
    dependsOn: [],
    ports: [
      { name: 'Spark master', key: 'sparkMaster', default: 7077, composeVar: 'SPARK_MASTER_PORT' },
      { name: 'Spark master UI', key: 'sparkMasterUi', default: 8080, composeVar: 'SPARK_MASTER_UI_PORT', http: true },
    ],
    health: 'spark-master',
    startTimeoutMs: 180_000,
    compose: { service: 'spark-master' },
    provides: {
      sparkMasterUrl: (p) => `spark://${HOST}:${p('sparkMaster')}`,
      sparkUiUrl: (p) => `http://${HOST}:${p('sparkMasterUi')}`,
    },
  },
  {
    id: 'spark-worker',
    label: 'Spark worker{n}',
    group: 'spark',
    scaledBy: 'sparkWorkers',
    dependsOn: ['spark-master'],
    ports: [{ name: 'Spark worker UI', key: 'sparkWorkerUi', default: 8081, step: 1, http: true, nativeOnly: true }],
    health: 'spark-worker',
    startTimeoutMs: 180_000,
    compose: { service: 'spark-worker' },
  },
  {
    id: 'postgres',
    label: 'PostgreSQL (Airflow metadata DB)',
    group: 'airflow',
    dependsOn: [],
    ports: [{ name: 'PostgreSQL', key: 'postgres', default: 5432, nativeOnly: true }],
    health: 'postgres',
    startTimeoutMs: 120_000,
    compose: { service: 'postgres' },
  },
  {
    id: 'airflow-init',
    label: 'Airflow init (DB migration, admin user, spark_cluster connection)',
    airflowLabel: { 3: 'Airflow 3 init (database airflow3, migration, spark_cluster connection)' },
    group: 'airflow',
    dependsOn: ['postgres'],
    ports: [],
    health: 'compose',
    startTimeoutMs: 480_000,
    // the native stack runs this step as the Airflow services' first-start preparation (airflowInit.ts)
    compose: { service: { 2: 'airflow-init', 3: 'airflow3-init' }, profile: AIRFLOW_PROFILE },
    backends: ['docker'],
  },
  {
    id: 'airflow-webserver',
    label: 'Airflow webserver',
    group: 'airflow',
    airflow: 2,
    dependsOn: ['postgres'],
    wave: 'airflow',
    ports: [airflowUi],
    health: 'airflow-web',
    startTimeoutMs: 480_000,
    compose: { service: 'airflow-webserver', profile: AIRFLOW_PROFILE[2] },
    provides: { airflowUrl },
  },
  {
    id: 'airflow-api-server',
    label: 'Airflow API server (UI and REST API)',
    group: 'airflow',
    airflow: 3,
    dependsOn: ['postgres'],
    wave: 'airflow',
    ports: [airflowUi],
    health: 'airflow-web',
    startTimeoutMs: 480_000,
    compose: { service: 'airflow-api-server', profile: AIRFLOW_PROFILE[3] },
    provides: { airflowUrl },
  },
  {
    id: 'airflow-scheduler',
    label: 'Airflow scheduler',
    group: 'airflow',
    dependsOn: ['postgres'],
    wave: 'airflow',
    ports: [],
    health: 'airflow-scheduler',
    startTimeoutMs: 480_000,
    compose: { service: { 2: 'airflow-scheduler', 3: 'airflow3-scheduler' }, profile: AIRFLOW_PROFILE },
  },
  {
    id: 'airflow-dag-processor',
    label: 'Airflow DAG processor',
    group: 'airflow',
    airflow: 3,
    dependsOn: ['postgres'],
    wave: 'airflow',
    ports: [],
    health: 'airflow-dag-processor',
    startTimeoutMs: 480_000,
    compose: { service: 'airflow-dag-processor', profile: AIRFLOW_PROFILE[3] },
  },
  {
    id: 'airflow-triggerer',
    label: 'Airflow triggerer',
    group: 'airflow',
    airflow: 3,
    dependsOn: ['postgres'],
    wave: 'airflow',
    ports: [],
    health: 'airflow-triggerer',
    startTimeoutMs: 480_000,
    compose: { service: 'airflow-triggerer', profile: AIRFLOW_PROFILE[3] },
  },
];

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
      if (out[p.key] !== undefined && out[p.key] !== p.default) throw new Error(`The stack catalog gives port "${p.key}" two defaults (${out[p.key]} and ${p.default}).`);
      out[p.key] = p.default;
    }
  }
  return out;
}

/** The ports instance `s` listens on, with their URL when they serve a page. */
export function servicePortList(s: StackService, port: PortOf, backend: 'docker' | 'native' = 'native'): Array<{ name: string; port: number; url?: string }> {
  return s.entry.ports
    .filter((p) => backend === 'native' || (!p.nativeOnly && !!p.composeVar))
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
      const native = e.backends && !e.backends.includes('native') ? 'Docker only' : `\`${p.key}\``;
      const docker = p.nativeOnly || !p.composeVar ? 'not published' : `\`${p.composeVar}\`${e.compose?.instanceServices ? `, \`${p.composeVar}_2\`, \`${p.composeVar}_3\`` : ''}`;
      rows.push(`| ${instanceLabel(e, 0).replace(/ \(.*\)$/, '')} — ${p.name} | ${p.default}${scaled} | ${native} | ${docker} |`);
    }
  }
  return rows.join('\n');
}
