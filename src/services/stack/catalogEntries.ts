/**
 * The stack's services, one entry each (the types and what is derived from them: catalog.ts).
 * Adding a service = one entry here + its compose block (stack/docker-compose.yaml) + its program.
 */
import * as path from 'node:path';
import type { AirflowMajor } from './airflowVersion';
import type { CatalogPort, CatalogService, PortOf } from './catalog';
import { HOST } from './host';

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
    // where Airflow's OpenLineage provider and the Spark listener send their run events (stack/lineage/receiver.py)
    id: 'lineage',
    label: 'OpenLineage receiver',
    group: 'airflow',
    dependsOn: [],
    ports: [{ name: 'OpenLineage', key: 'lineage', default: 5055, composeVar: 'LINEAGE_PORT', http: true }],
    health: 'http',
    healthPath: '/health',
    run: { python: (a) => [path.join(a.stackDir, 'lineage', 'receiver.py'), '--host', HOST, '--port', String(a.port('lineage')), '--store', a.dataDir] },
    startTimeoutMs: 30_000,
    // it runs in the image of the Airflow it serves: no image of its own to build
    compose: { service: { 2: 'lineage', 3: 'lineage3' }, profile: AIRFLOW_PROFILE },
    provides: { lineageUrl: (p) => `http://${HOST}:${p('lineage')}` },
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
    // Debug Task: debugpy in the scheduler's container listens here (published on 127.0.0.1 only)
    ports: [{ name: 'Debugger (Debug Task)', key: 'airflowDebug', default: 5679, composeVar: 'AIRFLOW_DEBUG_PORT', dockerOnly: true }],
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
