/**
 * The OpenLineage Spark listener on the native stack: its jar (fetched by provisioning,
 * versions/openlineage-spark-pom.xml) put among a pyspark's own jars, and the settings that turn it on.
 * Airflow's side (the provider's transport) is lineageEnv in airflowConfig.ts. Pure but for the link.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LINEAGE_NAMESPACE } from './airflowConfig';
import type { NativeLayout } from './layout';

/**
 * The OpenLineage Spark listener's settings (the same in the Docker images' spark-defaults.conf, with
 * the receiver's address on the stack's network): every application reports the datasets it reads
 * and writes; the stack's Airflow listener (plugins/datapipeline_lineage.py) names a SparkSubmitOperator's
 * task as its parent run.
 */
export function sparkLineageConf(receiverUrl: string): Record<string, string> {
  return {
    'spark.extraListeners': 'io.openlineage.spark.agent.OpenLineageSparkListener',
    'spark.openlineage.transport.type': 'http',
    'spark.openlineage.transport.url': receiverUrl,
    'spark.openlineage.transport.endpoint': '/api/v1/lineage',
    'spark.openlineage.namespace': LINEAGE_NAMESPACE,
  };
}

/** The pyspark package of a venv (its jars are the classpath of the applications it starts). */
export function venvPyspark(venv: string): string | undefined {
  const lib = path.join(venv, 'lib');
  const py = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => /^python3\.\d+$/.test(d)) : undefined;
  return py ? path.join(lib, py, 'site-packages', 'pyspark') : undefined;
}

/** The OpenLineage Spark listener's jar, when provisioning fetched it. */
export function openlineageJar(l: NativeLayout): string | undefined {
  try {
    const jar = fs.readdirSync(l.openlineageJars).find((f) => /^openlineage-spark.*\.jar$/.test(f));
    return jar ? path.join(l.openlineageJars, jar) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Puts the listener's jar among a pyspark's own jars (a link), so every application that pyspark
 * starts has it on its classpath whatever the DAG's --jars or extraClassPath say. False: no jar to put.
 */
export function linkOpenlineageJar(l: NativeLayout, pysparkHome: string | undefined): boolean {
  const jar = openlineageJar(l);
  if (!jar || !pysparkHome) return false;
  const jars = path.join(pysparkHome, 'jars');
  if (!fs.existsSync(jars)) return false;
  const target = path.join(jars, path.basename(jar));
  for (const f of fs.readdirSync(jars)) {
    // another version's link, left by an earlier listener
    if (/^openlineage-spark.*\.jar$/.test(f) && f !== path.basename(jar)) fs.rmSync(path.join(jars, f), { force: true });
  }
  if (!fs.existsSync(target)) {
    try {
      fs.symlinkSync(jar, target);
    } catch {
      fs.copyFileSync(jar, target);
    }
  }
  return true;
}
