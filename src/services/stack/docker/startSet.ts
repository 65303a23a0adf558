/** Which compose services a Docker start brings up and with what environment, and what Reset's volumes hold. */
import * as fs from 'node:fs';
import type { ComposeModel, ComposeService } from '../../docker/composeFile';
import { otherAirflow, type AirflowMajor } from '../airflowVersion';
import type { StackScale } from '../scale';
import type { Logger } from '../../util/logger';
import { StackError, type OperationOptions } from '../types';
import { DEFAULT_STACK_ADMIN_PASSWORD, stackAirflowPassword } from '../airflowPassword';
import { stackSecrets } from '../native/secrets';
import { LABEL_LABEL } from './serviceStatus';
import { AIRFLOW_PROFILE, KAFKA_CLUSTER_PROFILE } from './topology';

/** A service of the Airflow the stack does not run now (its profile is the other Airflow's). */
export function isOtherAirflow(svc: ComposeService, airflow: AirflowMajor): boolean {
  return svc.profiles.includes(AIRFLOW_PROFILE[otherAirflow(airflow)]);
}

/** Started by Start Stack whatever the options: no profile, or the profile of the Airflow it runs. */
export function isCore(svc: ComposeService, airflow: AirflowMajor): boolean {
  return !svc.profiles.length || svc.profiles.includes(AIRFLOW_PROFILE[airflow]);
}

export interface StartSetContext {
  airflow: AirflowMajor;
  scale: StackScale;
  /** optional services left out, and why (shown in the Stack view) */
  leftOut: Map<string, string>;
  log: Logger;
  /** the image is here, or was pulled in time */
  available(image: string): Promise<boolean>;
}

/**
 * The services Start Stack brings up: every service without a profile, and the optional ones
 * (a profile, an upstream image: Kafka UI) when their image is here or can be pulled. The others
 * are left out with a one-line reason for the Stack view.
 */
export async function servicesToStart(model: ComposeModel, c: StartSetContext, opts: OperationOptions): Promise<ComposeService[]> {
  const out: ComposeService[] = [];
  if (c.airflow === 3 && !model.services.some((s) => s.profiles.includes(AIRFLOW_PROFILE[3])) && model.services.some((s) => s.profiles.includes(AIRFLOW_PROFILE[2]))) {
    throw new StackError(`${model.file} has no Airflow 3 services (profile "${AIRFLOW_PROFILE[3]}").`, {
      nextStep: 'Use the bundled stack\u2019s compose file (DataPipeline: Add Stack to Workspace), or set datapipeline.stack.airflowVersion to 2.',
    });
  }
  for (const svc of model.services) {
    if (isCore(svc, c.airflow)) {
      out.push(svc);
      continue;
    }
    // the other Airflow's services never start beside this one's
    if (isOtherAirflow(svc, c.airflow)) continue;
    // brokers 2 and 3 run when the stack is a 3-broker cluster
    if (svc.profiles.includes(KAFKA_CLUSTER_PROFILE)) {
      if (c.scale.kafkaBrokers === 3) out.push(svc);
      continue;
    }
    if (svc.built || !svc.image) continue; // opt-in services of the user's own file
    if (await c.available(svc.image)) {
      out.push(svc);
      continue;
    }
    const label = svc.labels[LABEL_LABEL] ?? svc.name;
    const note = `image ${svc.image} not available; the rest of the stack runs`;
    c.leftOut.set(svc.name, note);
    c.log.warn(`${label}: ${note}`);
    opts.onProgress?.({ step: `${label}: ${note}`, percent: 3 });
  }
  return out;
}

/**
 * The services that can run when some images cannot be had: those whose image is here (or built)
 * and that depend on none that cannot run; the rest, each with why (its image, or the service it
 * needs). Order kept.
 */
export function runnableWithout(services: ComposeService[], missing: ReadonlySet<string>): { run: ComposeService[]; left: Array<{ service: string; why: string }> } {
  const byName = new Map(services.map((s) => [s.name, s]));
  const why = new Map<string, string>();
  const visit = (s: ComposeService, seen: Set<string>): string | undefined => {
    if (why.has(s.name)) return why.get(s.name);
    if (s.image && !s.built && missing.has(s.image)) {
      why.set(s.name, `image ${s.image} cannot be pulled`);
      return why.get(s.name);
    }
    for (const d of s.dependsOn) {
      const dep = byName.get(d);
      if (!dep || seen.has(d)) continue;
      if (visit(dep, new Set([...seen, s.name]))) {
        why.set(s.name, `needs ${d}`);
        return why.get(s.name);
      }
    }
    return undefined;
  };
  for (const s of services) visit(s, new Set());
  return { run: services.filter((s) => !why.has(s.name)), left: services.filter((s) => why.has(s.name)).map((s) => ({ service: s.name, why: why.get(s.name)! })) };
}

const VOLUME_CONTENT: Record<string, string> = {
  'kafka-data': 'Kafka topics and messages',
  'kafka-cluster-1': 'Kafka topics and messages of the 3-broker cluster (broker 1)',
  'kafka-cluster-2': 'Kafka topics and messages of the 3-broker cluster (broker 2)',
  'kafka-cluster-3': 'Kafka topics and messages of the 3-broker cluster (broker 3)',
  'postgres-data': 'the Airflow databases of 2.8.1 and 3 (DAG runs, connections, users)',
  'airflow-ivy': 'the Airflow Ivy cache (--packages downloads)',
  'airflow-secrets': "Airflow's secret key (a new one is made)",
  'spark-ivy': 'the Spark Ivy cache (--packages downloads)',
};

/** "Kafka topics and messages: volume datapipeline_kafka-data", for each volume of the file (Reset removes them). */
export function describeVolumes(volumes: string[], project: string): string[] {
  return ['the stack\u2019s containers', ...volumes.map((v) => `${VOLUME_CONTENT[v] ?? 'data'}: volume ${project}_${v}`)];
}

/** The Airflow secret key earlier versions of the stack's .env and compose file shipped (known to anyone). */
const LEGACY_SECRET_KEY = 'datapipeline-local-dev';

/**
 * The compose CLI's environment: the containers run as the owner of the stack folder
 * (DATAPIPELINE_UID), so what they write into the workspace is the user's, not root's; every
 * profile of the file is named, so down and status cover the optional services too.
 */
export function composeEnv(base: NodeJS.ProcessEnv, model: ComposeModel, stateDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // a stack folder copied by an earlier version names the fixed key everyone knew: give it the
  // stack's own (the state's secrets, which the native backend uses too; the environment wins
  // over .env in compose)
  if (model.env.AIRFLOW_SECRET_KEY === LEGACY_SECRET_KEY && !env.AIRFLOW_SECRET_KEY) env.AIRFLOW_SECRET_KEY = stackSecrets(stateDir).secretKey;
  // the admin password the user set for the local stack (both backends use it); else the .env's
  const password = stackAirflowPassword(stateDir);
  if (password !== DEFAULT_STACK_ADMIN_PASSWORD) env.AIRFLOW_ADMIN_PASSWORD = password;
  if (!model.env.DATAPIPELINE_UID) {
    try {
      env.DATAPIPELINE_UID = String(fs.statSync(model.dir).uid);
    } catch {
      // folder gone: compose reports it
    }
  }
  return env;
}
