/**
 * A compose file of the user's own (not DataPipeline's stack): where its Airflow, Kafka and Spark
 * master are, found by what real compose files say (the image and service name, the command, the
 * SPARK_MODE variable) and reached through the ports the file publishes on this machine. What is not
 * published is said, with the setting that points the views elsewhere. Pure (unit-tested).
 */
import * as path from 'node:path';
import type { ComposeModel, ComposePort, ComposeService } from '../../docker/composeFile';
import type { StackEndpoints } from '../types';

export type EndpointRole = 'airflow' | 'kafka' | 'sparkMaster';

export interface ForeignEndpoints {
  /** the addresses found (the others are the settings' or the defaults) */
  endpoints: Partial<StackEndpoints>;
  /** the compose service of each role found in the file */
  services: Partial<Record<EndpointRole, string>>;
  /** one line per role the views cannot reach through the file, with the setting to set */
  notes: string[];
}

const SETTING: Record<EndpointRole, string> = {
  airflow: 'datapipeline.airflow.url',
  kafka: 'datapipeline.kafka.bootstrapServers',
  sparkMaster: 'datapipeline.spark.masterUrl and datapipeline.spark.uiUrl',
};
const LABEL: Record<EndpointRole, string> = { airflow: 'Airflow', kafka: 'Kafka', sparkMaster: 'The Spark master' };
/** the container port each role is known by, to publish when the file does not */
const PORT_HINT: Record<EndpointRole, string> = { airflow: '"127.0.0.1:8080:8080"', kafka: '"127.0.0.1:9092:9092" (and a listener advertised as 127.0.0.1:9092)', sparkMaster: '"127.0.0.1:7077:7077" and "127.0.0.1:8080:8080"' };

/** The image's name without registry, owner and tag ("bitnami/spark:3.5.0" → "spark"). */
function imageName(image: string | undefined): string {
  if (!image) return '';
  const last = image.split('/').pop() ?? '';
  return last.split(/[:@]/)[0].toLowerCase();
}

function words(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join(' ');
  return typeof v === 'string' ? v : '';
}

function environment(raw: Record<string, unknown>): Record<string, string> {
  const e = raw.environment;
  if (Array.isArray(e)) return Object.fromEntries(e.map(String).map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  if (e && typeof e === 'object') return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v ?? '')]));
  return {};
}

const UI_OR_TOOL = /(ui|kafdrop|akhq|connect|registry|rest|zookeeper|exporter|init|cli|setup|console)/;

/** The role a service plays, read as a person reading the file would. */
export function roleOf(svc: ComposeService, raw: Record<string, unknown>): EndpointRole | undefined {
  const img = imageName(svc.image);
  const name = svc.name.toLowerCase();
  const cmd = `${words(raw.command)} ${words(raw.entrypoint)}`.toLowerCase();
  const env = environment(raw);
  if (/airflow/.test(img) || /airflow/.test(name)) {
    return /\b(webserver|api-server|standalone)\b/.test(cmd) || /(webserver|api[-_]?server|^airflow$)/.test(name) ? 'airflow' : undefined;
  }
  if (/spark/.test(img) || /spark/.test(name)) {
    const master = (env.SPARK_MODE ?? '').toLowerCase() === 'master' || /deploy\.master\.master|start-master/.test(cmd) || (/master/.test(name) && !/worker/.test(cmd));
    return master ? 'sparkMaster' : undefined;
  }
  const kafkaImage = /^(kafka|cp-kafka|cp-server|kafka-native|redpanda)$/.test(img);
  if ((kafkaImage || /^(kafka|broker)[-_]?\d*$/.test(name)) && !UI_OR_TOOL.test(name) && !UI_OR_TOOL.test(img)) return 'kafka';
  return undefined;
}

/** "0.0.0.0" and "::" publish on every address, 127.0.0.1 among them. */
function hostOf(p: ComposePort): string {
  return !p.host || p.host === '0.0.0.0' || p.host === '::' || p.host === '[::]' ? '127.0.0.1' : p.host;
}

function published(svc: ComposeService, containerPort: number): ComposePort | undefined {
  return svc.ports.find((p) => p.containerPort === containerPort && Number.isFinite(p.port) && p.port > 0);
}

/** Where the views reach each of the file's Airflow, Kafka and Spark master, and what they cannot. */
export function foreignEndpoints(model: Pick<ComposeModel, 'file' | 'services' | 'raw'>): ForeignEndpoints {
  const rawServices = (model.raw.services ?? {}) as Record<string, Record<string, unknown>>;
  const byRole = new Map<EndpointRole, ComposeService>();
  for (const svc of model.services) {
    const role = roleOf(svc, rawServices[svc.name] ?? {});
    if (role && !byRole.has(role)) byRole.set(role, svc);
  }
  const endpoints: Partial<StackEndpoints> = {};
  const notes: string[] = [];
  const file = path.basename(model.file);
  const unreachable = (role: EndpointRole, svc: ComposeService | undefined) =>
    notes.push(
      svc
        ? `${LABEL[role]} (${svc.name} in ${file}) publishes no port to this machine: publish one (ports: ${PORT_HINT[role]}) or set ${SETTING[role]}.`
        : `${file} has no ${LABEL[role] === 'The Spark master' ? 'Spark master' : LABEL[role]} service that DataPipeline recognises: set ${SETTING[role]} to reach yours.`,
    );

  const airflow = byRole.get('airflow');
  const web = airflow && (published(airflow, 8080) ?? airflow.ports.find((p) => p.containerPort !== undefined));
  if (web) endpoints.airflowUrl = `http://${hostOf(web)}:${web.port}`;
  else unreachable('airflow', airflow);

  const kafka = byRole.get('kafka');
  const broker = kafka && (published(kafka, 9092) ?? published(kafka, 29092) ?? kafka.ports.find((p) => p.containerPort !== 9093 && p.containerPort !== undefined));
  if (broker) endpoints.kafkaBootstrap = `${hostOf(broker)}:${broker.port}`;
  else unreachable('kafka', kafka);

  const spark = byRole.get('sparkMaster');
  const master = spark && published(spark, 7077);
  const ui = spark && published(spark, 8080);
  if (master) endpoints.sparkMasterUrl = `spark://${hostOf(master)}:${master.port}`;
  if (ui) endpoints.sparkUiUrl = `http://${hostOf(ui)}:${ui.port}`;
  if (!spark || (!master && !ui)) unreachable('sparkMaster', spark);
  else if (!master || !ui) notes.push(`The Spark master (${spark.name} in ${file}) publishes no ${master ? 'web UI (8080)' : 'master port (7077)'} to this machine: publish it (ports: ${master ? '"127.0.0.1:8080:8080"' : '"127.0.0.1:7077:7077"'}) or set ${master ? 'datapipeline.spark.uiUrl' : 'datapipeline.spark.masterUrl'}.`);

  const services = Object.fromEntries([...byRole].map(([r, s]) => [r, s.name])) as ForeignEndpoints['services'];
  return { endpoints, services, notes };
}

/** A compose file of DataPipeline's (the bundled stack or a copy of it): its services carry datapipeline.* labels. */
export function isDataPipelineCompose(model: Pick<ComposeModel, 'services'>): boolean {
  return model.services.some((s) => Object.keys(s.labels).some((k) => k.startsWith('datapipeline.')));
}

/** A compose file of the user's own, run as it is: not DataPipeline's, and no project's parts run on it. */
export function isOwnCompose(model: Pick<ComposeModel, 'services'>, project: unknown): boolean {
  return !project && !isDataPipelineCompose(model);
}

/** What the views find in a compose file of the user's own, with the file (undefined: none is run as it is, or it cannot be read). */
export function ownCompose(model: ComposeModel | undefined, project: unknown): (ForeignEndpoints & { file: string }) | undefined {
  return model && isOwnCompose(model, project) ? { ...foreignEndpoints(model), file: model.file } : undefined;
}
