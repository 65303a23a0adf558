/** The stack's versions and pins, and the version strings of the tools it needs. Pure. */

/** The stack's versions: one place for both backends (stack/.env, which compose reads too). */
export interface StackVersions {
  kafka: string;
  spark: string;
  airflow: string;
  /** the Airflow 3 the stack runs when asked to (AIRFLOW3_VERSION) */
  airflow3?: string;
}

/** KAFKA_VERSION, SPARK_VERSION and AIRFLOW_VERSION of a parsed stack/.env; throws naming what is missing. */
export function stackVersions(env: Record<string, string>, file = 'stack/.env'): StackVersions {
  const get = (k: string) => {
    const v = env[k];
    if (!v || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`${file} has no valid ${k} (found "${v ?? ''}"); it should read e.g. ${k}=1.2.3.`);
    return v;
  };
  const out: StackVersions = { kafka: get('KAFKA_VERSION'), spark: get('SPARK_VERSION'), airflow: get('AIRFLOW_VERSION') };
  if (env.AIRFLOW3_VERSION) out.airflow3 = get('AIRFLOW3_VERSION');
  return out;
}
/** Parses `java -version` output ("openjdk version "17.0.15" ..." or "1.8.0_392"). */
export function parseJavaMajor(output: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 && m[2] ? Number(m[2]) : major;
}

/** Parses "Python 3.11.7". */
export function parsePythonVersion(output: string): { major: number; minor: number; text: string } | undefined {
  const m = /Python (\d+)\.(\d+)(?:\.\d+)?/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), text: m[0].slice('Python '.length) };
}

export function pythonSupported(v: { major: number; minor: number }): boolean {
  return v.major === 3 && v.minor >= 9 && v.minor <= 11;
}

/** Parses a pins file (name==version lines, comments) into a map keyed by normalized name. */
export function parsePins(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)$/.exec(line);
    if (!m) throw new Error(`Bad pin line: "${rawLine}" (expected name==version)`);
    out.set(normalizePkg(m[1]), m[2]);
  }
  return out;
}

export function normalizePkg(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * Artifact name of a jar file name: "kafka-clients-3.4.1.jar" -> "kafka-clients". The version starts at
 * the first "-<digits>.<digit>", so "spark-sql-kafka-0-10_2.12-3.5.0.jar" keeps its "-0-10_2.12".
 */
export function jarArtifact(fileName: string): string {
  return fileName.replace(/\.jar$/, '').replace(/-\d+\.\d[\w.+-]*$/, '');
}

/** Connector jars not already shipped by pyspark (same artifact name). */
export function connectorExtras(connectorJars: string[], pysparkJars: string[]): string[] {
  const have = new Set(pysparkJars.map(jarArtifact));
  return connectorJars.filter((j) => !have.has(jarArtifact(j))).sort();
}

