/**
 * Kafka connection security: the kafkajs `ssl`/`sasl` options of a connection (TLS with a CA file,
 * mTLS, the hostname check; SASL PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER by client credentials),
 * and the diagnosis of a failed connection into an error that names the connection and what failed
 * (a wrong password, a mechanism the broker has not enabled, a certificate not trusted, a hostname
 * mismatch, a client certificate required, TLS against a plain listener or the reverse, a host that
 * does not answer). No `vscode` import.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { KafkaConnectionConfig, KafkaSecurityProtocol } from '../connections/profile';

export interface KafkaSecrets {
  /** SASL password (PLAIN/SCRAM) or the OAuth client secret (OAUTHBEARER) */
  secret?: string;
  /** passphrase of an encrypted client key */
  keyPassphrase?: string;
}

/** What a KafkaService needs beyond the bootstrap servers to reach a secured cluster. */
export interface KafkaSecurity {
  protocol: KafkaSecurityProtocol;
  ssl?: tls.ConnectionOptions;
  sasl?: SASLOptions;
  /** the connection's name, for messages ("team-prod") */
  connectionName?: string;
  /** SASL user or OAuth client id, for messages */
  principal?: string;
  mechanism?: string;
}

export class KafkaSecurityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaSecurityConfigError';
  }
}

function readPem(file: string, what: string, connection: string, read: (f: string) => Buffer): Buffer {
  try {
    return read(file);
  } catch (e) {
    throw new KafkaSecurityConfigError(`${connection}: the ${what} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix the path in the connection.`);
  }
}

/**
 * kafkajs options for a connection's Kafka part. Files are read here (a missing file is named now,
 * not as a handshake failure later). A secret the connection needs and does not have throws.
 */
export function kafkaSecurity(
  cfg: KafkaConnectionConfig,
  secrets: KafkaSecrets,
  opts: { connectionName: string; read?: (f: string) => Buffer; tokens?: OAuthTokenSource } = { connectionName: 'Kafka' },
): KafkaSecurity {
  const read = opts.read ?? ((f: string) => fs.readFileSync(f));
  const name = opts.connectionName;
  const out: KafkaSecurity = { protocol: cfg.security, connectionName: name };
  if (cfg.security === 'SSL' || cfg.security === 'SASL_SSL') {
    const t = cfg.tls ?? {};
    const ssl: tls.ConnectionOptions = { rejectUnauthorized: true };
    if (t.caFile) ssl.ca = [readPem(t.caFile, 'CA file', name, read)];
    if (t.certFile && t.keyFile) {
      ssl.cert = readPem(t.certFile, 'client certificate', name, read);
      ssl.key = readPem(t.keyFile, 'client key', name, read);
      if (secrets.keyPassphrase) ssl.passphrase = secrets.keyPassphrase;
    }
    // the chain is still verified; only the name check is off (the user said so for this connection)
    if (t.checkHostname === false) ssl.checkServerIdentity = () => undefined;
    out.ssl = ssl;
  }
  if (cfg.security === 'SASL_PLAINTEXT' || cfg.security === 'SASL_SSL') {
    const s = cfg.sasl;
    if (!s) throw new KafkaSecurityConfigError(`${name}: ${cfg.security} needs a SASL mechanism.`);
    out.mechanism = s.mechanism;
    if (s.mechanism === 'OAUTHBEARER') {
      if (!secrets.secret) throw new KafkaSecurityConfigError(`${name}: no OAuth client secret is stored for client ${s.clientId}. Enter it (Edit Connection).`);
      const tokens = opts.tokens ?? new OAuthTokenSource({ tokenEndpoint: s.tokenEndpoint!, clientId: s.clientId!, clientSecret: secrets.secret, scope: s.scope });
      out.principal = s.clientId;
      out.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await tokens.token() }) };
    } else {
      if (secrets.secret === undefined) throw new KafkaSecurityConfigError(`${name}: no SASL password is stored for ${s.username}. Enter it (Edit Connection).`);
      out.principal = s.username;
      const username = s.username ?? '';
      const password = secrets.secret;
      out.sasl =
        s.mechanism === 'PLAIN'
          ? { mechanism: 'plain', username, password }
          : s.mechanism === 'SCRAM-SHA-256'
            ? { mechanism: 'scram-sha-256', username, password }
            : { mechanism: 'scram-sha-512', username, password };
    }
  }
  return out;
}

/**
 * OAuth 2 client credentials (RFC 6749 §4.4): a token from the endpoint, kept until shortly before
 * it expires. The secret goes in the form body, never in a URL or a log line.
 */
export class OAuthTokenSource {
  private current?: { token: string; until: number };
  private pending?: Promise<string>;

  constructor(private readonly o: { tokenEndpoint: string; clientId: string; clientSecret: string; scope?: string; timeoutMs?: number }) {}

  token(): Promise<string> {
    if (this.current && Date.now() < this.current.until) return Promise.resolve(this.current.token);
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetchToken(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.o.clientId, client_secret: this.o.clientSecret });
    if (this.o.scope) body.set('scope', this.o.scope);
    let res: Response;
    try {
      res = await fetch(this.o.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      throw new KafkaSecurityConfigError(`OAuth token endpoint ${this.o.tokenEndpoint} unreachable (${cause?.code ?? (e as Error).message}).`);
    }
    const text = await res.text();
    let parsed: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // described below
    }
    if (!res.ok || typeof parsed.access_token !== 'string') {
      const why = typeof parsed.error === 'string' ? `${parsed.error}${typeof parsed.error_description === 'string' ? `: ${parsed.error_description}` : ''}` : `HTTP ${res.status}`;
      throw new KafkaSecurityConfigError(`OAuth token endpoint ${this.o.tokenEndpoint} refused client ${this.o.clientId} (${why}). Check the client id and secret.`);
    }
    const ttl = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 300;
    this.current = { token: parsed.access_token, until: Date.now() + Math.max(1, ttl - 30) * 1000 };
    return parsed.access_token;
  }
}

export type KafkaConnectFailure =
  | 'auth'
  | 'mechanism'
  | 'tls-untrusted'
  | 'tls-hostname'
  | 'tls-expired'
  | 'tls-client-cert'
  | 'tls-not-tls'
  | 'expects-tls'
  | 'token'
  | 'config'
  | 'unreachable';

/** What failed, in a few words (a tree row's label; the full message is its tooltip). */
export const FAILURE_SUMMARY: Record<KafkaConnectFailure, string> = {
  auth: 'login refused (wrong user or password)',
  mechanism: 'SASL mechanism not enabled',
  'tls-untrusted': 'TLS certificate not trusted',
  'tls-hostname': 'TLS certificate is for another host',
  'tls-expired': 'TLS certificate expired',
  'tls-client-cert': 'client certificate refused',
  'tls-not-tls': 'the listener does not speak TLS',
  'expects-tls': 'the listener expects TLS',
  token: 'OAuth token refused',
  config: 'connection settings incomplete',
  unreachable: 'unreachable',
};

/** The error codes, messages and names along an error's cause chain (kafkajs wraps in its retries). */
function chain(e: unknown): Array<{ name: string; message: string; code?: string }> {
  const out: Array<{ name: string; message: string; code?: string }> = [];
  const seen = new Set<unknown>();
  for (let c = e as { name?: string; message?: string; code?: string; type?: string; cause?: unknown; originalError?: unknown } | undefined; c && !seen.has(c) && out.length < 8; ) {
    seen.add(c);
    // kafkajs puts the broker's error name in `type` (e.g. UNSUPPORTED_SASL_MECHANISM)
    const code = typeof c.code === 'string' ? c.code : typeof c.type === 'string' ? c.type : undefined;
    out.push({ name: String(c.name ?? ''), message: String(c.message ?? ''), code });
    c = (c.originalError ?? c.cause) as typeof c;
  }
  return out;
}

const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/** Classifies a failed connect from what the error chain says (no I/O). */
export function classifyKafkaError(e: unknown, protocol: KafkaSecurityProtocol): KafkaConnectFailure {
  const links = chain(e);
  const text = links.map((l) => `${l.name} ${l.code ?? ''} ${l.message}`).join(' | ');
  const codes = links.map((l) => l.code).filter(Boolean) as string[];
  if (links.some((l) => l.name === 'KafkaSecurityConfigError')) return /OAuth token endpoint/.test(text) ? 'token' : 'config';
  if (/mechanism is not supported by the server|UNSUPPORTED_SASL_MECHANISM|does not support the requested SASL mechanism/i.test(text)) return 'mechanism';
  if (/KafkaJSSASLAuthenticationError|SASL_AUTHENTICATION_FAILED|authentication failed/i.test(text)) return 'auth';
  if (codes.includes('ERR_TLS_CERT_ALTNAME_INVALID') || /Hostname\/IP does not match certificate/i.test(text)) return 'tls-hostname';
  if (codes.some((c) => UNTRUSTED.has(c)) || /self[- ]signed certificate|unable to verify the first certificate|unable to get local issuer/i.test(text)) return 'tls-untrusted';
  if (codes.includes('CERT_HAS_EXPIRED') || /certificate has expired/i.test(text)) return 'tls-expired';
  if (/CERTIFICATE_REQUIRED|certificate required|bad certificate|BAD_CERTIFICATE|certificate unknown|unknown ca|alert number (42|46|48)\b/i.test(text)) return 'tls-client-cert';
  if (/WRONG_VERSION_NUMBER|wrong version number|packet length too long|unknown protocol/i.test(text)) return 'tls-not-tls';
  const tlsOn = protocol === 'SSL' || protocol === 'SASL_SSL';
  // a TLS client whose handshake the peer drops (ECONNRESET before secure connection) is usually at a plain listener
  if (tlsOn && /before secure TLS connection was established/i.test(text)) return 'tls-not-tls';
  // a plain client to a TLS listener: the broker reads our request as a broken handshake and closes, or never answers
  if (!tlsOn && /Connection closed by the server|Closed connection|ECONNRESET/i.test(text) && !/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(text)) return 'expects-tls';
  return 'unreachable';
}

export interface PeerCertificate {
  subject: string;
  issuer: string;
  altNames: string;
  validTo: string;
  /** Node's verdict with the connection's own trust settings (undefined: trusted) */
  authorizationError?: string;
}

function dn(o: Record<string, string | string[] | undefined> | undefined): string {
  if (!o) return '?';
  const parts = ['CN', 'O', 'OU'].flatMap((k) => (o[k] === undefined ? [] : [`${k}=${Array.isArray(o[k]) ? (o[k] as string[]).join('+') : o[k]}`]));
  return parts.join(', ') || '?';
}

/** Looks at the certificate a TLS server presents (without trusting it), to name it in an error. */
export function peerCertificate(host: string, port: number, ssl: tls.ConnectionOptions = {}, timeoutMs = 5000): Promise<PeerCertificate | undefined> {
  return new Promise((resolve) => {
    const servername = net.isIP(host) ? undefined : host;
    const socket = tls.connect({ ...ssl, host, port, servername, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    const done = (v: PeerCertificate | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => {
      const c = socket.getPeerCertificate();
      if (!c || !c.subject) return done(undefined);
      done({
        subject: dn(c.subject as unknown as Record<string, string>),
        issuer: dn(c.issuer as unknown as Record<string, string>),
        altNames: c.subjectaltname ?? '',
        validTo: c.valid_to,
        authorizationError: socket.authorized ? undefined : String(socket.authorizationError ?? ''),
      });
    });
    socket.once('error', () => done(undefined));
  });
}

/**
 * The SASL mechanisms a listener offers, asked with one SaslHandshake (v1) request of our own: a
 * failed handshake in kafkajs keeps the broker's list to itself. Undefined when the listener does not answer.
 */
export function saslMechanismsOffered(host: string, port: number, ssl?: tls.ConnectionOptions, timeoutMs = 5000): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    const clientId = Buffer.from('datapipeline-probe');
    const mechanism = Buffer.from('PROBE');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 2 + mechanism.length);
    let o = body.writeInt16BE(17, 0); // SaslHandshake
    o = body.writeInt16BE(1, o);
    o = body.writeInt32BE(1, o); // correlation id
    o = body.writeInt16BE(clientId.length, o);
    o += clientId.copy(body, o);
    o = body.writeInt16BE(mechanism.length, o);
    mechanism.copy(body, o);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    const socket = ssl
      ? tls.connect({ ...ssl, host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false, checkServerIdentity: () => undefined })
      : net.connect({ host, port });
    let got = Buffer.alloc(0);
    const done = (v: string[] | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once(ssl ? 'secureConnect' : 'connect', () => socket.write(Buffer.concat([size, body])));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 4 || got.length < 4 + got.readInt32BE(0)) return;
      try {
        let p = 4 + 4 + 2; // size, correlation id, error code
        const n = got.readInt32BE(p);
        p += 4;
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          const len = got.readInt16BE(p);
          out.push(got.subarray(p + 2, p + 2 + len).toString());
          p += 2 + len;
        }
        done(out);
      } catch {
        done(undefined);
      }
    });
    socket.once('error', () => done(undefined));
  });
}

/** A failed connect, named: what failed on which connection, and what to do. */
export interface KafkaConnectDiagnosis {
  kind: KafkaConnectFailure;
  message: string;
}

function firstBroker(bootstrap: string): { host: string; port: number } {
  const first = bootstrap.split(',')[0].trim();
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(first);
  return m ? { host: m[1], port: Number(m[2]) } : { host: first, port: 9092 };
}

/** A message for a failed connect; for certificate problems it looks at the certificate to name it. */
export async function describeKafkaConnectFailure(e: unknown, bootstrap: string, sec: KafkaSecurity | undefined): Promise<KafkaConnectDiagnosis> {
  const protocol = sec?.protocol ?? 'PLAINTEXT';
  const kind = classifyKafkaError(e, protocol);
  const who = sec?.connectionName ? `Kafka connection "${sec.connectionName}"` : 'Kafka';
  const at = `${who} (${bootstrap})`;
  const raw = chain(e).map((l) => l.message).filter(Boolean).pop() ?? String(e);
  const { host, port } = firstBroker(bootstrap);
  const cert = kind.startsWith('tls-') && kind !== 'tls-not-tls' && kind !== 'tls-client-cert' ? await peerCertificate(host, port, { ca: sec?.ssl?.ca }) : undefined;
  const named = cert ? `${cert.subject}, issued by ${cert.issuer}` : undefined;
  switch (kind) {
    case 'auth':
      return { kind, message: `${at}: the broker rejected ${sec?.mechanism ?? 'SASL'} login for "${sec?.principal ?? '?'}" (wrong user or password). Enter the password again (Edit Connection) and retry.` };
    case 'mechanism': {
      const enabled = (await saslMechanismsOffered(host, port, sec?.ssl))?.join(', ');
      return { kind, message: `${at}: SASL mechanism ${sec?.mechanism ?? '?'} is not enabled on this listener${enabled ? ` (it offers ${enabled})` : ''}. Pick the mechanism the cluster uses (ask its admins: sasl.enabled.mechanisms).` };
    }
    case 'tls-untrusted':
      return { kind, message: `${at}: the TLS certificate of ${host}:${port}${named ? ` (${named})` : ''} is not trusted${cert?.authorizationError ? ` (${cert.authorizationError})` : ''}. Set the connection's CA file to the PEM of its issuer${cert ? ` (${cert.issuer})` : ''}.` };
    case 'tls-hostname':
      return { kind, message: `${at}: the TLS certificate of ${host}:${port} is for ${cert?.altNames || named || 'another name'}, not ${host} (hostname mismatch). Connect by a name the certificate lists, or turn the hostname check off for this connection if you trust it anyway.` };
    case 'tls-expired':
      return { kind, message: `${at}: the TLS certificate of ${host}:${port}${named ? ` (${named})` : ''} has expired (valid to ${cert?.validTo ?? '?'}). The cluster's admins must renew it.` };
    case 'tls-client-cert':
      return { kind, message: `${at}: the broker requires a client certificate it trusts (mTLS) and refused ours${sec?.ssl?.cert ? '' : ' (none is set)'}. Set the connection's client certificate and key.` };
    case 'tls-not-tls':
      return { kind, message: `${at}: ${host}:${port} does not speak TLS. Use security PLAINTEXT or SASL_PLAINTEXT for this listener, or the cluster's TLS port.` };
    case 'expects-tls':
      return { kind, message: `${at}: ${host}:${port} accepted the connection but did not answer Kafka's protocol in plain text; it probably expects TLS. Use security SSL or SASL_SSL (${raw}).` };
    case 'token':
    case 'config':
      return { kind, message: `${at}: ${raw}` };
    default:
      return {
        kind,
        message: sec?.connectionName
          ? `${at} is unreachable: ${raw}. Check the connection's bootstrap servers and that this machine can reach them.`
          : `Kafka unreachable at ${bootstrap}: ${raw}. Start the stack or check datapipeline.kafka.bootstrapServers.`,
      };
  }
}

/** Kafka could not be reached or refused us; `kind` says what failed (a wrong password, an untrusted certificate, …). */
export class KafkaUnreachableError extends Error {
  readonly kind: KafkaConnectFailure;
  constructor(readonly bootstrap: string, cause: unknown, diagnosis?: KafkaConnectDiagnosis) {
    super(diagnosis?.message ?? `Kafka unreachable at ${bootstrap}: ${(cause as Error)?.message ?? cause}. Start the stack or check datapipeline.kafka.bootstrapServers.`);
    this.kind = diagnosis?.kind ?? 'unreachable';
    this.name = 'KafkaUnreachableError';
  }
}
