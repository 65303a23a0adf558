/**
 * Named connections: the built-in "Local stack" plus any number of the user's own (the setting
 * `datapipeline.connections`), each with an optional Kafka, Airflow and Spark part. Validation of
 * what the settings hold, the read-only default, and import/export as JSON without secrets.
 * Secrets never appear here: they live in SecretStorage under the connection's id (secretKey).
 * No `vscode` import (unit-tested).
 */
import { isLoopbackHost } from '../airflow/credentials';

export const LOCAL_CONNECTION_ID = 'local';
export const LOCAL_CONNECTION_NAME = 'Local stack';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
export const AIRFLOW_AUTH = ['password', 'bearer'] as const;
/** password: Basic auth on Airflow 2, the token login (/auth/token) on Airflow 3 (detected); bearer: a token the user has. */
export type AirflowAuth = (typeof AIRFLOW_AUTH)[number];

export interface KafkaSasl {
  mechanism: SaslMechanism;
  /** PLAIN and SCRAM */
  username?: string;
  /** OAUTHBEARER: the client-credentials token endpoint, client id and optional scope */
  tokenEndpoint?: string;
  clientId?: string;
  scope?: string;
}

export interface KafkaTls {
  /** PEM bundle of the CA(s) to trust (else the system's) */
  caFile?: string;
  /** client certificate and key (PEM) for mTLS */
  certFile?: string;
  keyFile?: string;
  /** the certificate must name the host connected to (default true) */
  checkHostname?: boolean;
}

export interface KafkaConnectionConfig {
  bootstrapServers: string;
  security: KafkaSecurityProtocol;
  sasl?: KafkaSasl;
  tls?: KafkaTls;
}

export interface AirflowConnectionConfig {
  url: string;
  auth: AirflowAuth;
  /** for auth "password" */
  username?: string;
}

export interface SparkConnectionConfig {
  /** spark://host:7077 */
  masterUrl: string;
  /** http://host:8080 (its /json feeds the Spark view) */
  uiUrl: string;
  /** added to every spark-submit on this connection (e.g. --conf spark.executor.memory=2g) */
  submitArgs?: string[];
}

/** A connection as the settings hold it (and as import/export writes it): no secrets. */
export interface ConnectionProfile {
  id: string;
  name: string;
  /** undefined: the default (read-only unless every address is on this machine, see defaultReadOnly) */
  readOnly?: boolean;
  kafka?: KafkaConnectionConfig;
  airflow?: AirflowConnectionConfig;
  spark?: SparkConnectionConfig;
}

/** Where each connection's secrets live in SecretStorage. */
export type SecretKind = 'kafka' | 'kafkaKeyPassphrase' | 'airflow';
export function secretKey(connectionId: string, kind: SecretKind): string {
  return `datapipeline.connection:${connectionId}:${kind}`;
}

export function airflowSecretLabel(a: AirflowConnectionConfig): string {
  return a.auth === 'bearer' ? 'Airflow API token' : `Airflow password of ${a.username ?? 'admin'}`;
}

export class ConnectionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionConfigError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function optString(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConnectionConfigError(`${where}.${key} must be a string.`);
  return v.trim() || undefined;
}

function reqString(o: Obj, key: string, where: string): string {
  const v = optString(o, key, where);
  if (!v) throw new ConnectionConfigError(`${where}.${key} is missing.`);
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, values: readonly T[], where: string, fallback?: T): T {
  const v = optString(o, key, where);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ConnectionConfigError(`${where}.${key} is missing (one of ${values.join(', ')}).`);
  }
  const found = values.find((x) => x.toUpperCase() === v.toUpperCase());
  if (!found) throw new ConnectionConfigError(`${where}.${key} is "${v}"; use one of ${values.join(', ')}.`);
  return found;
}

function url(o: Obj, key: string, schemes: string[], where: string): string {
  const v = reqString(o, key, where);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConnectionConfigError(`${where}.${key} "${v}" is not a URL (e.g. ${schemes[0]}//host:port).`);
  }
  if (!schemes.includes(u.protocol)) throw new ConnectionConfigError(`${where}.${key} "${v}" must start with ${schemes.join(' or ')}//.`);
  return v.replace(/\/+$/, '');
}

/** "host:port,host:port" with every part checked. */
export function parseBootstrap(value: string, where = 'bootstrapServers'): string[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new ConnectionConfigError(`${where} is empty; give host:port (several separated by commas).`);
  for (const p of parts) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(p);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new ConnectionConfigError(`${where}: "${p}" is not host:port.`);
  }
  return parts;
}

function kafkaPart(raw: unknown, where: string): KafkaConnectionConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) throw new ConnectionConfigError(`${where} must be an object.`);
  const bootstrapServers = reqString(raw, 'bootstrapServers', where);
  parseBootstrap(bootstrapServers, `${where}.bootstrapServers`);
  const security = oneOf(raw, 'security', SECURITY_PROTOCOLS, where, 'PLAINTEXT');
  const out: KafkaConnectionConfig = { bootstrapServers, security };
  if (security.startsWith('SASL_')) {
    if (!isObj(raw.sasl)) throw new ConnectionConfigError(`${where}.sasl is missing: ${security} needs a mechanism (${SASL_MECHANISMS.join(', ')}).`);
    const w = `${where}.sasl`;
    const mechanism = oneOf(raw.sasl, 'mechanism', SASL_MECHANISMS, w);
    const sasl: KafkaSasl = { mechanism };
    if (mechanism === 'OAUTHBEARER') {
      sasl.tokenEndpoint = url(raw.sasl, 'tokenEndpoint', ['https:', 'http:'], w);
      sasl.clientId = reqString(raw.sasl, 'clientId', w);
      sasl.scope = optString(raw.sasl, 'scope', w);
    } else {
      sasl.username = reqString(raw.sasl, 'username', w);
    }
    out.sasl = sasl;
  }
  if (security === 'SSL' || security === 'SASL_SSL') {
    const t = raw.tls === undefined || raw.tls === null ? {} : raw.tls;
    if (!isObj(t)) throw new ConnectionConfigError(`${where}.tls must be an object.`);
    const w = `${where}.tls`;
    const tls: KafkaTls = { caFile: optString(t, 'caFile', w), certFile: optString(t, 'certFile', w), keyFile: optString(t, 'keyFile', w) };
    if (!!tls.certFile !== !!tls.keyFile) throw new ConnectionConfigError(`${w}: a client certificate needs both certFile and keyFile.`);
    if (t.checkHostname !== undefined) {
      if (typeof t.checkHostname !== 'boolean') throw new ConnectionConfigError(`${w}.checkHostname must be true or false.`);
      tls.checkHostname = t.checkHostname;
    }
    for (const k of Object.keys(tls) as Array<keyof KafkaTls>) if (tls[k] === undefined) delete tls[k];
    out.tls = tls;
  }
  return out;
}

function airflowPart(raw: unknown, where: string): AirflowConnectionConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) throw new ConnectionConfigError(`${where} must be an object.`);
  const auth = oneOf(raw, 'auth', AIRFLOW_AUTH, where, 'password');
  const out: AirflowConnectionConfig = { url: url(raw, 'url', ['http:', 'https:'], where), auth };
  if (auth === 'password') out.username = optString(raw, 'username', where) ?? 'admin';
  return out;
}

function sparkPart(raw: unknown, where: string): SparkConnectionConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) throw new ConnectionConfigError(`${where} must be an object.`);
  const out: SparkConnectionConfig = { masterUrl: url(raw, 'masterUrl', ['spark:'], where), uiUrl: url(raw, 'uiUrl', ['http:', 'https:'], where) };
  if (raw.submitArgs !== undefined) {
    if (!Array.isArray(raw.submitArgs) || raw.submitArgs.some((a) => typeof a !== 'string')) {
      throw new ConnectionConfigError(`${where}.submitArgs must be a list of strings (each one argument, e.g. ["--conf", "spark.executor.memory=2g"]).`);
    }
    if (raw.submitArgs.length) out.submitArgs = raw.submitArgs as string[];
  }
  return out;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** One connection from the settings (or an import); throws ConnectionConfigError naming the field. */
export function parseConnection(raw: unknown, where = 'connection'): ConnectionProfile {
  if (!isObj(raw)) throw new ConnectionConfigError(`${where} must be an object with an id and a name.`);
  const name = reqString(raw, 'name', where);
  const w = `${where} "${name}"`;
  const id = reqString(raw, 'id', w);
  if (!ID_RE.test(id)) throw new ConnectionConfigError(`${w}: id "${id}" may hold letters, digits, ".", "_" and "-" (at most 64).`);
  if (id === LOCAL_CONNECTION_ID) throw new ConnectionConfigError(`${w}: the id "${LOCAL_CONNECTION_ID}" is the built-in Local stack's; pick another.`);
  const out: ConnectionProfile = { id, name };
  if (raw.readOnly !== undefined) {
    if (typeof raw.readOnly !== 'boolean') throw new ConnectionConfigError(`${w}.readOnly must be true or false.`);
    out.readOnly = raw.readOnly;
  }
  const kafka = kafkaPart(raw.kafka, `${w}.kafka`);
  const airflow = airflowPart(raw.airflow, `${w}.airflow`);
  const spark = sparkPart(raw.spark, `${w}.spark`);
  if (kafka) out.kafka = kafka;
  if (airflow) out.airflow = airflow;
  if (spark) out.spark = spark;
  if (!kafka && !airflow && !spark) throw new ConnectionConfigError(`${w} has no kafka, airflow or spark part: give at least one.`);
  return out;
}

/** Every valid connection of the setting, and one message per invalid one (those are left out). */
export function parseConnections(raw: unknown): { connections: ConnectionProfile[]; errors: string[] } {
  const connections: ConnectionProfile[] = [];
  const errors: string[] = [];
  if (raw === undefined || raw === null) return { connections, errors };
  if (!Array.isArray(raw)) return { connections, errors: ['datapipeline.connections must be a list of connections.'] };
  raw.forEach((item, i) => {
    try {
      const c = parseConnection(item, `datapipeline.connections[${i}]`);
      if (connections.some((x) => x.id === c.id)) throw new ConnectionConfigError(`datapipeline.connections[${i}]: the id "${c.id}" is used twice; the first one is kept.`);
      connections.push(c);
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  return { connections, errors };
}

function hostsOf(p: ConnectionProfile): string[] {
  return addressHosts({ kafkaBootstrap: p.kafka?.bootstrapServers, airflowUrl: p.airflow?.url, sparkUiUrl: p.spark?.uiUrl, sparkMasterUrl: p.spark?.masterUrl });
}

/** The hosts of a set of addresses (a bootstrap list, URLs): what decides whether they are all on this machine. */
export function addressHosts(a: { kafkaBootstrap?: string; airflowUrl?: string; sparkUiUrl?: string; sparkMasterUrl?: string }): string[] {
  const hosts: string[] = [];
  if (a.kafkaBootstrap) for (const b of parseBootstrap(a.kafkaBootstrap)) hosts.push(b.replace(/:\d+$/, ''));
  for (const u of [a.airflowUrl, a.sparkUiUrl, a.sparkMasterUrl]) {
    if (!u) continue;
    try {
      hosts.push(new URL(u).hostname);
    } catch {
      hosts.push(u);
    }
  }
  return hosts;
}

/**
 * The read-only default: a connection with any address that is not this machine is read-only
 * unless it says `"readOnly": false`. A remote cluster is usually shared, and a topic deleted or a
 * DAG triggered there by a slip of the mouse is someone else's outage; making it writable is one
 * explicit field. Connections on 127.0.0.1 / localhost (like the local stack) are writable.
 */
export function defaultReadOnly(p: ConnectionProfile): boolean {
  return hostsOf(p).some((h) => !isLoopbackHost(h));
}

export function isReadOnly(p: ConnectionProfile): boolean {
  return p.readOnly ?? defaultReadOnly(p);
}

/** True when every address of the connection is on this machine. */
export function isLocalOnly(p: ConnectionProfile): boolean {
  return !defaultReadOnly(p);
}

/** The connections as JSON to share: no secrets (none are held here), ids and names kept. */
export function exportConnections(list: readonly ConnectionProfile[]): string {
  return `${JSON.stringify({ datapipelineConnections: 1, connections: list.map((c) => parseConnection(c)) }, null, 2)}\n`;
}

/** Keys that look like secrets: an import holding one is refused, so a secret never lands in settings. */
const SECRET_KEY_RE = /pass(word|phrase)?|secret|token(?!Endpoint)|credential|private/i;

function findSecretKey(v: unknown, path: string): string | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = findSecretKey(v[i], `${path}[${i}]`);
      if (hit) return hit;
    }
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (SECRET_KEY_RE.test(k) && k !== 'keyFile') return `${path}.${k}`;
      const hit = findSecretKey(x, `${path}.${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
}

/**
 * Connections from an export (or a bare list). Imported ids that already exist get a new id
 * (name kept, "(imported)" added) so nothing of the user's is overwritten. Throws on malformed JSON,
 * an invalid connection, or a field that looks like a secret.
 */
export function importConnections(text: string, existing: readonly ConnectionProfile[]): { added: ConnectionProfile[]; renamed: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConnectionConfigError(`The file is not JSON (${(e as Error).message}). Nothing was imported.`);
  }
  const list = Array.isArray(raw) ? raw : isObj(raw) && Array.isArray(raw.connections) ? raw.connections : undefined;
  if (!list) throw new ConnectionConfigError('The file holds no connections (expected {"connections": [...]} as Export Connections writes). Nothing was imported.');
  const secret = findSecretKey(list, 'connections');
  if (secret) throw new ConnectionConfigError(`The file holds ${secret}, which looks like a secret: secrets are kept in SecretStorage, never in settings. Remove it and import again. Nothing was imported.`);
  const taken = new Set([LOCAL_CONNECTION_ID, ...existing.map((c) => c.id)]);
  const added: ConnectionProfile[] = [];
  const renamed: string[] = [];
  list.forEach((item, i) => {
    const c = parseConnection(isObj(item) && item.id === LOCAL_CONNECTION_ID ? { ...item, id: 'imported-local' } : item, `connections[${i}]`);
    if (taken.has(c.id)) {
      let n = 2;
      while (taken.has(`${c.id}-${n}`)) n++;
      renamed.push(`${c.id} → ${c.id}-${n}`);
      c.id = `${c.id}-${n}`;
      c.name = `${c.name} (imported)`;
    }
    taken.add(c.id);
    added.push(c);
  });
  return { added, renamed };
}

/** An id for a new connection from its name: "Team Prod" → "team-prod" (unique among `taken`). */
export function idFromName(name: string, taken: Iterable<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '').slice(0, 56) || 'connection';
  const used = new Set([LOCAL_CONNECTION_ID, ...taken]);
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

/** "kafka 10.0.0.5:9093 (SASL_SSL), airflow https://…, spark spark://…": what a connection points at, for menus and tooltips. */
export function describeConnection(p: ConnectionProfile): string {
  const parts: string[] = [];
  if (p.kafka) parts.push(`Kafka ${p.kafka.bootstrapServers}${p.kafka.security === 'PLAINTEXT' ? '' : ` (${p.kafka.security}${p.kafka.sasl ? ` ${p.kafka.sasl.mechanism}` : ''})`}`);
  if (p.airflow) parts.push(`Airflow ${p.airflow.url}`);
  if (p.spark) parts.push(`Spark ${p.spark.masterUrl}`);
  return parts.join(' · ');
}
