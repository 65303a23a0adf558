/**
 * How the Docker stack's compose services map to the catalog's: the profiles of the brokers of a
 * cluster and of each Airflow, the scaled worker, the scale's compose variables, and what a running
 * stack's containers say about its scale and Airflow. Pure (unit-tested).
 */
import type { ContainerSummary } from '../../docker/client';
import type { ComposeService } from '../../docker/composeFile';
import type { AirflowMajor } from '../airflowVersion';
import { CATALOG, composeProfileOf, composeServiceOf } from '../catalog';
import type { StackScale } from '../scale';
import type { ServiceId } from '../types';

const entry = (id: string) => CATALOG.find((e) => e.id === id)!;

/** The bundled stack's scaled services: the cluster's brokers 2 and 3 (a profile) and the Spark worker (compose --scale). */
export const KAFKA_CLUSTER_PROFILE = composeProfileOf(entry('kafka'), 1)!;
/** The bundled stack's Airflow services: 2.8.1's in one profile, 3.x's in another (never both: they share the port). */
export const AIRFLOW_PROFILE = { 2: composeProfileOf(entry('airflow-scheduler'), 0, 2)!, 3: composeProfileOf(entry('airflow-scheduler'), 0, 3)! } as const;
export const SPARK_WORKER_SERVICE = composeServiceOf(entry('spark-worker'))!;
const BROKER_2 = composeServiceOf(entry('kafka'), 1)!;

/** the compose label holding a service's catalog id when its name differs ("broker" is "kafka") */
export const ID_LABEL = 'datapipeline.id';

/**
 * The compose variables of a scale: for 3 brokers the quorum, replication factors, the data volume
 * kept apart from the single broker's and the DAGs' bootstrap list; nothing for 1 (the file's defaults).
 */
export function scaleVariables(scale: StackScale): Record<string, string> {
  if (scale.kafkaBrokers < 3) return {};
  return {
    KAFKA_QUORUM_VOTERS: '1@broker:9093,2@broker-2:9093,3@broker-3:9093',
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_MIN_ISR: '2',
    KAFKA_DATA_VOLUME: 'kafka-cluster-1',
    KAFKA_BOOTSTRAP_SERVERS: 'broker:19092,broker-2:19092,broker-3:19092',
  };
}

/**
 * What the running stack's containers say: its Airflow (the API server is 3's, the webserver 2's)
 * and its scale (broker-2 there: 3 brokers; the workers counted). Undefined parts: nothing runs to say.
 */
export function runningTopology(list: readonly ContainerSummary[]): { airflow?: AirflowMajor; scale?: StackScale } {
  const live = list.filter((c) => c.state !== 'exited' && c.state !== 'dead');
  if (!live.length) return {};
  const airflow = live.some((c) => c.service === composeServiceOf(entry('airflow-api-server'), 0, 3))
    ? 3
    : live.some((c) => c.service === composeServiceOf(entry('airflow-webserver'), 0, 2))
      ? 2
      : undefined;
  const workers = live.filter((c) => c.service === SPARK_WORKER_SERVICE).length;
  return {
    airflow,
    scale: {
      kafkaBrokers: live.some((c) => c.service === BROKER_2) ? 3 : 1,
      sparkWorkers: Math.min(3, Math.max(1, workers)) as StackScale['sparkWorkers'],
    },
  };
}

export interface Instance {
  svc: ComposeService;
  /** the key its containers are found by ("spark-worker-2") */
  key: string;
  id: ServiceId;
  label?: string;
}

/** The catalog id of a compose service: its datapipeline.id label, else its name. */
export function idOf(svc: ComposeService): ServiceId {
  return svc.labels[ID_LABEL] ?? svc.name;
}

/**
 * What runs of each service: one instance, or N of the scaled Spark worker (keys "spark-worker",
 * "spark-worker-2", …, as the containers are keyed), each with its id and label.
 */
export function instances(services: readonly ComposeService[], scale: StackScale, labelOf: (svc: ComposeService) => string): Instance[] {
  return services.flatMap((svc) => {
    const n = svc.name === SPARK_WORKER_SERVICE ? scale.sparkWorkers : 1;
    return Array.from({ length: n }, (_, i) =>
      i === 0 ? { svc, key: svc.name, id: idOf(svc) } : { svc, key: `${svc.name}-${i + 1}`, id: `${idOf(svc)}-${i + 1}`, label: `${labelOf(svc)} ${i + 1}` },
    );
  });
}
