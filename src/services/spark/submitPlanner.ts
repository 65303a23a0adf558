/**
 * Turns what a user typed in the Submit Spark Job form into a validated SparkSubmitRequest, and a
 * request into the spark-submit argv (an array: it is passed to spawn/exec as is, never to a shell).
 */
import type { SparkSubmitRequest } from '../stack/types';

/** Maven coordinates of Spark's Kafka connector matching Spark 3.5.0 (Scala 2.12). */
export const KAFKA_CONNECTOR_PACKAGE = 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.0';

/** What the quick form keeps per file (workspaceState), as typed. */
export interface SubmitFormState {
  /** program arguments, shell-like quoting allowed: `--date 2024-01-01 "two words"` */
  args: string;
  /** comma/space separated Maven coordinates */
  packages: string;
  /** comma separated jar paths */
  jars: string;
  /** `key=value` pairs separated by newlines or whitespace */
  conf: string;
  driverMemory: string;
  executorMemory: string;
  kafkaConnector: boolean;
}

export const EMPTY_FORM: SubmitFormState = {
  args: '',
  packages: '',
  jars: '',
  conf: '',
  driverMemory: '',
  executorMemory: '',
  kafkaConnector: false,
};

export class SubmitFormError extends Error {
  constructor(
    readonly field: keyof SubmitFormState,
    message: string,
  ) {
    super(message);
    this.name = 'SubmitFormError';
  }
}

/**
 * Split a line of program arguments like a POSIX shell would split words, without expanding
 * anything: quotes group, backslash escapes, `$(...)`, `;` and globs stay literal text.
 */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\')) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new SubmitFormError('args', `Unclosed ${quote} quote in the program arguments.`);
  if (inWord) out.push(cur);
  return out;
}

const MEMORY_RE = /^\d+[kmgt]?b?$/i;
const COORD_RE = /^[\w.-]+:[\w.-]+:[\w.+-]+$/;
const CONF_KEY_RE = /^[A-Za-z][\w.-]*$/;

function splitList(s: string): string[] {
  return s
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

export function parseConfPairs(text: string): Record<string, string> {
  const conf: Record<string, string> = {};
  for (const pair of splitArgs(text)) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!CONF_KEY_RE.test(key)) {
      throw new SubmitFormError('conf', `"${pair}" is not a key=value pair (e.g. spark.sql.shuffle.partitions=4).`);
    }
    conf[key] = pair.slice(eq + 1);
  }
  return conf;
}

/** Validate the form and build the request for `file`. Throws SubmitFormError naming the field. */
export function formToRequest(file: string, form: SubmitFormState): SparkSubmitRequest {
  const req: SparkSubmitRequest = { file };
  const args = splitArgs(form.args);
  if (args.length) req.args = args;
  const packages = splitList(form.packages);
  for (const p of packages) {
    if (!COORD_RE.test(p)) {
      throw new SubmitFormError('packages', `"${p}" is not a Maven coordinate group:artifact:version.`);
    }
  }
  if (packages.length) req.packages = packages;
  const jars = form.jars
    .split(',')
    .map((j) => j.trim())
    .filter(Boolean);
  if (jars.length) req.jars = jars;
  const conf = parseConfPairs(form.conf);
  if (Object.keys(conf).length) req.conf = conf;
  for (const field of ['driverMemory', 'executorMemory'] as const) {
    const v = form[field].trim();
    if (!v) continue;
    if (!MEMORY_RE.test(v)) {
      throw new SubmitFormError(field, `"${v}" is not a memory size like 512m or 2g.`);
    }
    req[field] = v;
  }
  if (form.kafkaConnector) req.kafkaConnector = true;
  return req;
}

export interface ArgvOptions {
  /** spark://host:7077 */
  masterUrl: string;
  /** path of the .py as spark-submit will see it (inside the container for docker) */
  file?: string;
  /**
   * Local Kafka connector jars used for the Kafka preset; when empty the preset falls back to
   * `--packages` with KAFKA_CONNECTOR_PACKAGE (downloads through Ivy).
   */
  kafkaJars?: string[];
  /** the connector is already on Spark's classpath (the bundled Docker images bake it in): add nothing */
  kafkaConnectorBuiltIn?: boolean;
  /** Extra `--conf` added before the user's (the user's win). */
  defaultConf?: Record<string, string>;
}

/** The argv after `spark-submit` (client deploy mode; Spark runs Python only in client mode on a standalone master). */
export function buildSparkSubmitArgv(req: SparkSubmitRequest, opts: ArgvOptions): string[] {
  const argv = ['--master', req.master ?? opts.masterUrl, '--deploy-mode', 'client'];
  const packages = [...(req.packages ?? [])];
  const jars = [...(req.jars ?? [])];
  if (req.kafkaConnector && !opts.kafkaConnectorBuiltIn) {
    if (opts.kafkaJars?.length) jars.push(...opts.kafkaJars.filter((j) => !jars.includes(j)));
    else if (!packages.includes(KAFKA_CONNECTOR_PACKAGE)) packages.push(KAFKA_CONNECTOR_PACKAGE);
  }
  if (packages.length) argv.push('--packages', packages.join(','));
  if (jars.length) argv.push('--jars', jars.join(','));
  const conf = { ...(opts.defaultConf ?? {}), ...(req.conf ?? {}) };
  for (const [k, v] of Object.entries(conf)) argv.push('--conf', `${k}=${v}`);
  if (req.driverMemory) argv.push('--driver-memory', req.driverMemory);
  if (req.executorMemory) argv.push('--executor-memory', req.executorMemory);
  argv.push(...(req.extraArgs ?? []));
  argv.push(opts.file ?? req.file, ...(req.args ?? []));
  return argv;
}

/** One-line summary of a request for logs and notifications. */
export function describeRequest(req: SparkSubmitRequest): string {
  const parts: string[] = [];
  if (req.args?.length) parts.push(`${req.args.length} arg(s)`);
  if (req.kafkaConnector) parts.push('Kafka connector');
  if (req.packages?.length) parts.push(`packages ${req.packages.join(',')}`);
  if (req.jars?.length) parts.push(`${req.jars.length} jar(s)`);
  if (req.conf) parts.push(`${Object.keys(req.conf).length} conf`);
  if (req.driverMemory) parts.push(`driver ${req.driverMemory}`);
  if (req.executorMemory) parts.push(`executor ${req.executorMemory}`);
  return parts.join(', ');
}
