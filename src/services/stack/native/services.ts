/**
 * The native stack's services: ids, start order, groups and labels, all derived from the stack
 * catalog (services/stack/catalog.ts). Pure (unit-tested).
 */
import { otherAirflow, type AirflowMajor } from '../airflowVersion';
import { StackError } from '../types';
import { ALL_GROUPS, findService, resolveService, stackServices, type ServiceGroup, type StackService } from '../catalog';
import { DEFAULT_SCALE, type StackScale } from '../scale';

export type NativeServiceId =
  | 'kafka'
  | 'kafka-2'
  | 'kafka-3'
  | 'spark-master'
  | 'spark-worker'
  | 'spark-worker-2'
  | 'spark-worker-3'
  | 'lineage'
  | 'postgres'
  | 'airflow-webserver'
  | 'airflow-api-server'
  | 'airflow-scheduler'
  | 'airflow-dag-processor'
  | 'airflow-triggerer';

/** Every native service there can be (every instance, both Airflows), in start order. */
const ALL_NATIVE: StackService[] = stackServices({ backend: 'native' });

export const SERVICE_ORDER = ALL_NATIVE.map((s) => s.id) as NativeServiceId[];
export const SERVICE_GROUP = Object.fromEntries(ALL_NATIVE.map((s) => [s.id, s.entry.group])) as Record<NativeServiceId, ServiceGroup>;
export const SERVICE_LABEL = Object.fromEntries(ALL_NATIVE.map((s) => [s.id, s.label])) as Record<NativeServiceId, string>;

/** The catalog instance of a native id (throws on an id the catalog does not have). */
export function nativeService(id: NativeServiceId): StackService {
  const s = findService(id);
  if (!s) throw new Error(`No native service "${id}".`);
  return s;
}

/** One of Airflow's own processes (not its database, not the OpenLineage receiver beside it). */
export function isAirflowProcess(id: NativeServiceId): boolean {
  return nativeService(id).entry.health.startsWith('airflow-');
}

/** 0 for kafka / spark-worker, 1 for kafka-2 / spark-worker-2, … (the instance's index). */
export function instanceIndex(id: NativeServiceId): number {
  return findService(id)?.index ?? 0;
}

export function isKafkaBroker(id: NativeServiceId): boolean {
  return findService(id)?.entry.health === 'kafka';
}

export function isSparkWorker(id: NativeServiceId): boolean {
  return findService(id)?.entry.health === 'spark-worker';
}

/** Parses "kafka,spark" (or "all"/empty) into service groups; unknown names throw. */
export function parseServiceGroups(value: string | undefined): ServiceGroup[] {
  if (!value || !value.trim() || value.trim() === 'all') return [...ALL_GROUPS];
  const out: ServiceGroup[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!name) continue;
    if (!(ALL_GROUPS as string[]).includes(name)) {
      throw new Error(`Unknown service group "${raw.trim()}". Use a comma-separated list of: ${ALL_GROUPS.join(', ')}.`);
    }
    if (!out.includes(name as ServiceGroup)) out.push(name as ServiceGroup);
  }
  // keep the start order
  return ALL_GROUPS.filter((g) => out.includes(g));
}

/** The services of these groups at this scale and Airflow, in start order. */
export function servicesFor(groups: readonly ServiceGroup[], scale: StackScale = DEFAULT_SCALE, airflow: AirflowMajor = 2): NativeServiceId[] {
  return stackServices({ groups, scale, airflow, backend: 'native' }).map((s) => s.id as NativeServiceId);
}

/** Resolves a user-facing service name (also "spark", "airflow" and docker's "broker") to native ids. */
export function resolveServiceName(name: string): NativeServiceId[] {
  return resolveService(name, 'native') as NativeServiceId[];
}

/**
 * The ids a name means in a running stack of these groups, scale and Airflow ("spark" is the master
 * and however many workers it runs); a name it does not run is refused with what it does run.
 */
export function resolveInStack(service: string, stack: { services: NativeServiceId[]; groups: readonly ServiceGroup[]; airflow: AirflowMajor; scale: StackScale }): NativeServiceId[] {
  let ids: NativeServiceId[];
  try {
    ids = resolveServiceName(service);
  } catch (e) {
    throw new StackError((e as Error).message, { nextStep: `Use one of: ${stack.services.join(', ')}.` });
  }
  const outside = ids.filter((s) => !stack.groups.includes(SERVICE_GROUP[s]));
  if (outside.length) {
    throw new StackError(`${outside.join(', ')} is not part of this stack (services: ${stack.groups.join(', ')}).`, {
      nextStep: 'Start the stack with that service group included (--services).',
    });
  }
  // "spark" names the master and however many workers this stack runs
  const mine = ids.filter((s) => stack.services.includes(s));
  if (mine.length === 0 && ids.every((s) => SERVICE_GROUP[s] === 'airflow')) {
    const own = stack.services.filter(isAirflowProcess);
    throw new StackError(`${ids.join(', ')} is not part of this stack: it runs Airflow ${stack.airflow} (${own.join(', ')}).`, {
      nextStep: `Use one of ${own.join(', ')}, or switch Airflow (setting datapipeline.stack.airflowVersion, or --airflow ${otherAirflow(stack.airflow)}).`,
    });
  }
  if (mine.length === 0) {
    throw new StackError(`${ids.join(', ')} is not part of this stack (it runs ${stack.scale.kafkaBrokers} Kafka broker${stack.scale.kafkaBrokers === 1 ? '' : 's'} and ${stack.scale.sparkWorkers} Spark worker${stack.scale.sparkWorkers === 1 ? '' : 's'}).`, {
      nextStep: 'Start it with more (npm run stack -- up --kafka-brokers 3 --spark-workers 2, or the settings datapipeline.stack.kafkaBrokers / sparkWorkers).',
    });
  }
  return mine;
}

export { ALL_GROUPS, type ServiceGroup };
