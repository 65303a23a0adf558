/**
 * Airflow's connections, variables and pools through its REST API (the same endpoints under /api/v1
 * and /api/v2): listed for the DAGs view with secrets masked, created, changed and deleted. A
 * connection is typed as Airflow's own URI form (`postgres://user:pass@host:5432/db?sslmode=disable`),
 * the form `airflow connections add --conn-uri` and AIRFLOW_CONN_* variables take. No `vscode` import.
 */
import type { AirflowClient } from './client';
import { AirflowError } from './errors';

export interface AirflowConnectionFields {
  id: string;
  type: string;
  host?: string;
  schema?: string;
  login?: string;
  /** write-only: Airflow 2 never returns it, Airflow 3 returns it masked */
  password?: string;
  port?: number;
  /** JSON text, as Airflow keeps it */
  extra?: string;
  description?: string;
}

export interface AirflowVariableFields {
  key: string;
  value: string;
  description?: string;
}

export interface AirflowPoolFields {
  name: string;
  slots: number;
  description?: string;
  /** listing only */
  occupied?: number;
}

export interface AirflowObjects {
  connections: AirflowConnectionFields[];
  variables: AirflowVariableFields[];
  pools: AirflowPoolFields[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (o: Obj, k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
const num = (o: Obj, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
const enc = encodeURIComponent;

/**
 * Names whose values are secrets, as Airflow's own masker decides (airflow.utils.log.secrets_masker's
 * DEFAULT_SENSITIVE_FIELDS): a variable or an extra field whose name contains one is shown masked.
 */
export const SENSITIVE_NAMES = ['access_token', 'api_key', 'apikey', 'authorization', 'passphrase', 'passwd', 'password', 'private_key', 'secret', 'token', 'keyfile_dict', 'service_account'];
export const MASK = '••••••';

export function isSensitiveName(name: string): boolean {
  const n = name.toLowerCase();
  return SENSITIVE_NAMES.some((s) => n.includes(s));
}

/** A variable's value as the view shows it: masked when its key names a secret, else its first line, cut at 80 characters. */
export function shownVariableValue(v: AirflowVariableFields): string {
  if (isSensitiveName(v.key) || v.value === '***') return MASK;
  const first = v.value.split(/\r?\n/)[0];
  const cut = first.length > 80 ? `${first.slice(0, 79)}…` : first;
  return cut + (v.value.includes('\n') && cut === first ? ' …' : '');
}

/** A connection's extra JSON with the values of sensitive keys masked (at any depth); text that is not JSON is masked whole. */
export function maskedExtra(extra: string | undefined): string | undefined {
  if (extra === undefined || extra === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(extra);
  } catch {
    return MASK;
  }
  const mask = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(mask);
    if (!isObj(v)) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSensitiveName(k) && x !== null && x !== '' ? MASK : mask(x)]));
  };
  return JSON.stringify(mask(parsed));
}

export class ConnectionUriError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionUriError';
  }
}

/**
 * Airflow's connection URI (`type://login:password@host:port/schema?k=v`), as Connection(uri=...)
 * reads it: the scheme is the type ('-' for '_'), userinfo and path percent-decoded, the query the
 * extra (or `__extra__`, its JSON whole).
 */
export function parseConnectionUri(id: string, uri: string): AirflowConnectionFields {
  const m = /^([A-Za-z][A-Za-z0-9+.\-_]*):\/\/(.*)$/s.exec(uri.trim());
  if (!m) throw new ConnectionUriError(`"${uri}" is not a connection URI: it starts with the connection type, e.g. postgres://user:password@localhost:5432/db`);
  const type = m[1].replace(/-/g, '_').toLowerCase();
  let rest = m[2];
  // a host with its own protocol (spark://spark://master:7077: the host is spark://master), as Airflow reads it
  const inner = /^([A-Za-z][A-Za-z0-9+.\-]*):\/\/(.*)$/s.exec(rest);
  const protocol = inner?.[1];
  if (inner) rest = inner[2];
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let schema: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    schema = rest.slice(slash + 1) || undefined;
    rest = rest.slice(0, slash);
  }
  let userinfo: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const dec = (s: string, what: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new ConnectionUriError(`The ${what} in "${uri}" has a '%' that is not followed by two hex digits; write % as %25.`);
    }
  };
  const out: AirflowConnectionFields = { id, type };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const login = dec(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'login');
    if (login) out.login = login;
    if (colon >= 0) out.password = dec(userinfo.slice(colon + 1), 'password');
  }
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(rest);
  if (!hp) throw new ConnectionUriError(`The host and port in "${uri}" are not host[:port].`);
  if (hp[1]) out.host = (protocol ? `${protocol}://` : '') + dec(hp[1], 'host');
  if (hp[2]) {
    const port = Number(hp[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConnectionUriError(`The port in "${uri}" is not 1-65535.`);
    out.port = port;
  }
  if (schema !== undefined) out.schema = dec(schema, 'schema');
  if (query) {
    const params = new URLSearchParams(query);
    const whole = params.get('__extra__');
    if (whole !== null) {
      try {
        JSON.parse(whole);
      } catch (e) {
        throw new ConnectionUriError(`__extra__ in "${uri}" is not JSON: ${(e as Error).message}`);
      }
      out.extra = whole;
    } else {
      const extra: Record<string, string> = {};
      for (const [k, v] of params) extra[k] = v;
      out.extra = JSON.stringify(extra);
    }
  }
  return out;
}

/** The URI of a connection as listed, without its password (what an edit starts from); extras with secrets are left out. */
export function connectionUri(c: AirflowConnectionFields): string {
  const e = encodeURIComponent;
  let s = `${c.type.replace(/_/g, '-')}://`;
  if (c.login) s += `${e(c.login)}@`;
  if (c.host) {
    const proto = /^([A-Za-z][A-Za-z0-9+.\-]*):\/\/(.*)$/s.exec(c.host);
    const host = proto ? proto[2] : c.host;
    s += (proto ? `${proto[1]}://` : '') + (host.startsWith('[') ? host : e(host));
  }
  if (c.port !== undefined) s += `:${c.port}`;
  if (c.schema) s += `/${e(c.schema)}`;
  if (c.extra) {
    try {
      const x = JSON.parse(c.extra) as unknown;
      if (isObj(x) && Object.values(x).every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
        const params = new URLSearchParams(Object.entries(x).filter(([k]) => !isSensitiveName(k)).map(([k, v]) => [k, String(v)]));
        if ([...params].length) s += `${c.schema ? '' : '/'}?${params.toString()}`;
      }
    } catch {
      // not JSON: left out of the URI (kept by an edit, which sends only what the URI names)
    }
  }
  return s;
}

/**
 * The extra an edit sends (undefined: the stored extra stays as it is). The URI shows no secret
 * field of the extra (connectionUri), and Airflow shows them masked ('***'), so an edit cannot send
 * them back: when the URI's fields are the stored ones less the secrets, nothing is sent; when the URI
 * changes other fields, the secrets Airflow still shows are kept, and a masked one is refused with
 * the fix (write it in the URI too).
 */
export function editedExtra(stored: string | undefined, fromUri: string | undefined): string | undefined {
  if (fromUri === undefined || stored === undefined) return fromUri;
  let old: unknown;
  let next: unknown;
  try {
    old = JSON.parse(stored);
    next = JSON.parse(fromUri);
  } catch {
    return fromUri;
  }
  if (!isObj(old) || !isObj(next)) return fromUri;
  const hidden = Object.entries(old).filter(([k]) => isSensitiveName(k) && !(k in next));
  if (!hidden.length) return fromUri;
  const shown = Object.fromEntries(Object.entries(old).filter(([k]) => !hidden.some(([h]) => h === k)));
  // the URI's values are text: 5 and "5" are the same field
  const flat = (o: Obj) => JSON.stringify(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]).sort());
  if (flat(shown) === flat(next)) return undefined;
  const masked = hidden.filter(([, v]) => v === '***').map(([k]) => k);
  if (masked.length) {
    throw new ConnectionUriError(`The connection's extra holds ${masked.join(', ')}, which Airflow does not show: to change its other extra fields, write ${masked.map((k) => `${k}=…`).join('&')} in the URI too.`);
  }
  return JSON.stringify({ ...next, ...Object.fromEntries(hidden) });
}

/** What a connection row says: `postgres://airflow@localhost:5432/orders` (never a password, extras masked). */
export function connectionSummary(c: AirflowConnectionFields): string {
  return connectionUri({ ...c, extra: undefined });
}

/** The connection as Airflow's REST API takes it (only the fields given). */
export function connectionBody(c: AirflowConnectionFields): Obj {
  const body: Obj = { connection_id: c.id, conn_type: c.type };
  if (c.host !== undefined) body.host = c.host;
  if (c.schema !== undefined) body.schema = c.schema;
  if (c.login !== undefined) body.login = c.login;
  if (c.password !== undefined) body.password = c.password;
  if (c.port !== undefined) body.port = c.port;
  if (c.extra !== undefined) body.extra = c.extra;
  if (c.description !== undefined) body.description = c.description;
  return body;
}

function decodeConnection(v: unknown): AirflowConnectionFields | undefined {
  if (!isObj(v) || typeof v.connection_id !== 'string') return undefined;
  return {
    id: v.connection_id,
    type: str(v, 'conn_type') ?? '',
    host: str(v, 'host'),
    schema: str(v, 'schema'),
    login: str(v, 'login'),
    port: num(v, 'port'),
    extra: str(v, 'extra'),
    description: str(v, 'description'),
  };
}

/** One connection as Airflow has it, with its extra (Airflow 2's listing leaves the extra out). */
export async function getConnection(client: AirflowClient, id: string): Promise<AirflowConnectionFields> {
  const c = decodeConnection(await client.request('GET', `/connections/${enc(id)}`));
  if (!c) throw new AirflowError('badResponse', `Airflow answered GET /connections/${id} with something that is not a connection.`, `${client.baseUrl}/connections/${id}`, 'Check that the URL is an Airflow REST API.');
  return c;
}

/** The three listings, read together. */
export async function listAirflowObjects(client: AirflowClient): Promise<AirflowObjects> {
  const [c, v, p] = await Promise.all([client.pageAll('/connections', 'connections', {}), client.pageAll('/variables', 'variables', {}), client.pageAll('/pools', 'pools', {})]);
  const defined = <T>(x: T | undefined): x is T => x !== undefined;
  return {
    connections: c.map(decodeConnection).filter(defined).sort((a, b) => a.id.localeCompare(b.id)),
    variables: v
      .map((x) => (isObj(x) && typeof x.key === 'string' ? { key: x.key, value: typeof x.value === 'string' ? x.value : JSON.stringify(x.value ?? ''), description: str(x, 'description') } : undefined))
      .filter(defined)
      .sort((a, b) => a.key.localeCompare(b.key)),
    pools: p
      .map((x) => (isObj(x) && typeof x.name === 'string' ? { name: x.name, slots: num(x, 'slots') ?? 0, occupied: num(x, 'occupied_slots'), description: str(x, 'description') } : undefined))
      .filter(defined)
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export type AirflowObjectKind = 'connection' | 'variable' | 'pool';
const COLLECTION: Record<AirflowObjectKind, string> = { connection: 'connections', variable: 'variables', pool: 'pools' };

/** Creates it, or (it exists: 409) updates it; true when it was created. */
export async function upsertAirflowObject(client: AirflowClient, kind: AirflowObjectKind, id: string, body: Obj): Promise<boolean> {
  try {
    await client.request('POST', `/${COLLECTION[kind]}`, { body });
    return true;
  } catch (e) {
    if (!(e instanceof AirflowError && e.status === 409)) throw e;
    await patch(client, kind, id, body);
    return false;
  }
}

/**
 * PATCH as each Airflow takes it. A pool: Airflow 2 wants its name and slots; Airflow 3 (3.1) also
 * wants include_deferred in every patch, even with an update mask, so the pool's own value is read
 * and sent back unchanged.
 */
async function patch(client: AirflowClient, kind: AirflowObjectKind, id: string, body: Obj): Promise<void> {
  let sent = body;
  if (kind === 'pool' && (await client.apiVersion()) === 'v2' && body.include_deferred === undefined) {
    const current = await client.request('GET', `/pools/${enc(id)}`);
    sent = { ...body, include_deferred: isObj(current) && typeof current.include_deferred === 'boolean' ? current.include_deferred : false };
  }
  await client.request('PATCH', `/${COLLECTION[kind]}/${enc(id)}`, { body: sent });
}

/**
 * A connection changed to what its new URI says: every field set (absent ones cleared), except the
 * password when the URI has none and the extra when it is undefined (the stored ones stay). Sent with an update mask naming exactly
 * those fields.
 */
export async function updateConnection(client: AirflowClient, c: AirflowConnectionFields): Promise<void> {
  const body: Obj = {
    connection_id: c.id,
    conn_type: c.type,
    host: c.host ?? null,
    schema: c.schema ?? null,
    login: c.login ?? null,
    port: c.port ?? null,
  };
  // an extra not given stays as stored (editedExtra)
  if (c.extra !== undefined) body.extra = c.extra;
  if (c.password !== undefined) body.password = c.password;
  const mask = Object.keys(body).filter((k) => k !== 'connection_id');
  // a list: Airflow 2 (connexion) reads it comma-separated, Airflow 3 (FastAPI) as the parameter repeated
  const updateMask = (await client.apiVersion()) === 'v1' ? mask.join(',') : mask;
  await client.request('PATCH', `/connections/${enc(c.id)}`, { body, query: { update_mask: updateMask } });
}

/** A variable's value, or a pool's slots, changed. */
export async function updateAirflowObject(client: AirflowClient, kind: 'variable' | 'pool', id: string, body: Obj): Promise<void> {
  await patch(client, kind, id, body);
}

export async function deleteAirflowObject(client: AirflowClient, kind: AirflowObjectKind, id: string): Promise<void> {
  await client.request('DELETE', `/${COLLECTION[kind]}/${enc(id)}`);
}
