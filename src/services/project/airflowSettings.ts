/**
 * A project's Airflow connections, variables and pools for local development, in Astro CLI's
 * `airflow_settings.yaml` format, read and applied to the local stack's Airflow through its REST API
 * (both backends, Airflow 2 and 3: the same endpoints under /api/v1 and /api/v2). Applying creates
 * what is missing and updates what differs; it deletes nothing. No `vscode` import.
 *
 *   airflow:
 *     connections: [{ conn_id, conn_type, conn_host, conn_schema, conn_login, conn_password, conn_port, conn_extra }]
 *     pools:       [{ pool_name, pool_slot, pool_description }]
 *     variables:   [{ variable_name, variable_value }]
 */
import { parseDocument } from 'yaml';
import type { AirflowClient } from '../airflow/client';
import { connectionBody, upsertAirflowObject, type AirflowConnectionFields, type AirflowObjectKind, type AirflowPoolFields, type AirflowVariableFields } from '../airflow/airflowObjects';

export type SettingsConnection = AirflowConnectionFields;
export type SettingsPool = AirflowPoolFields;
export type SettingsVariable = AirflowVariableFields;

export interface AirflowSettingsFile {
  connections: SettingsConnection[];
  pools: SettingsPool[];
  variables: SettingsVariable[];
}

/** A mistake in the file: where it is and what to write instead. */
export class AirflowSettingsError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'AirflowSettingsError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

/** Parses the file's text; throws AirflowSettingsError naming the entry and the field that is wrong. */
export function parseAirflowSettings(source: string, file = 'airflow_settings.yaml'): AirflowSettingsFile {
  const doc = parseDocument(source, { prettyErrors: false });
  if (doc.errors.length) throw new AirflowSettingsError(file, `not valid YAML: ${doc.errors[0].message}`);
  const root = doc.toJS() as unknown;
  const out: AirflowSettingsFile = { connections: [], pools: [], variables: [] };
  if (root === null || root === undefined) return out;
  if (!isObj(root) || (root.airflow !== undefined && root.airflow !== null && !isObj(root.airflow))) throw new AirflowSettingsError(file, 'expected a mapping with the key "airflow" (connections, pools, variables).');
  const airflow = (root.airflow ?? {}) as Obj;
  const list = (key: string): unknown[] => {
    const v = airflow[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new AirflowSettingsError(file, `airflow.${key} must be a list.`);
    return v;
  };
  list('connections').forEach((c, i) => {
    const where = `airflow.connections[${i}]`;
    if (!isObj(c)) throw new AirflowSettingsError(file, `${where} must be a mapping.`);
    const id = text(c.conn_id);
    const type = text(c.conn_type);
    if (!id) throw new AirflowSettingsError(file, `${where} has no conn_id.`);
    if (!type) throw new AirflowSettingsError(file, `${where} (${id}) has no conn_type (e.g. http, postgres, spark).`);
    let port: number | undefined;
    if (c.conn_port !== undefined && c.conn_port !== null && c.conn_port !== '') {
      port = Number(c.conn_port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AirflowSettingsError(file, `${where} (${id}): conn_port "${String(c.conn_port)}" is not a port.`);
    }
    let extra: string | undefined;
    if (isObj(c.conn_extra)) extra = JSON.stringify(c.conn_extra);
    else if (c.conn_extra !== undefined && c.conn_extra !== null && c.conn_extra !== '') {
      extra = text(c.conn_extra);
      try {
        JSON.parse(extra ?? '');
      } catch {
        throw new AirflowSettingsError(file, `${where} (${id}): conn_extra must be a mapping or JSON text.`);
      }
    }
    out.connections.push({ id, type, host: text(c.conn_host), schema: text(c.conn_schema), login: text(c.conn_login), password: text(c.conn_password), port, extra });
  });
  list('pools').forEach((p, i) => {
    const where = `airflow.pools[${i}]`;
    if (!isObj(p)) throw new AirflowSettingsError(file, `${where} must be a mapping.`);
    const name = text(p.pool_name);
    if (!name) throw new AirflowSettingsError(file, `${where} has no pool_name.`);
    const slots = Number(p.pool_slot);
    if (!Number.isInteger(slots) || slots < -1) throw new AirflowSettingsError(file, `${where} (${name}): pool_slot must be a whole number (found "${String(p.pool_slot)}").`);
    out.pools.push({ name, slots, description: text(p.pool_description) });
  });
  list('variables').forEach((v, i) => {
    const where = `airflow.variables[${i}]`;
    if (!isObj(v)) throw new AirflowSettingsError(file, `${where} must be a mapping.`);
    const key = text(v.variable_name);
    if (!key) throw new AirflowSettingsError(file, `${where} has no variable_name.`);
    const value = isObj(v.variable_value) || Array.isArray(v.variable_value) ? JSON.stringify(v.variable_value) : (text(v.variable_value) ?? '');
    out.variables.push({ key, value });
  });
  const dup = (what: string, names: string[]) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw new AirflowSettingsError(file, `${what} "${n}" is listed twice.`);
      seen.add(n);
    }
  };
  dup('connection', out.connections.map((c) => c.id));
  dup('pool', out.pools.map((p) => p.name));
  dup('variable', out.variables.map((v) => v.key));
  return out;
}

export interface AppliedSettings {
  created: string[];
  updated: string[];
}

/** Creates it, or (it exists) updates it, and says which. */
async function upsert(client: AirflowClient, kind: AirflowObjectKind, id: string, body: Obj, label: string, done: AppliedSettings): Promise<void> {
  (await upsertAirflowObject(client, kind, id, body) ? done.created : done.updated).push(label);
}

/** Applies the file's connections, pools and variables to the stack's Airflow (nothing is deleted). */
export async function applyAirflowSettings(client: AirflowClient, s: AirflowSettingsFile): Promise<AppliedSettings> {
  const done: AppliedSettings = { created: [], updated: [] };
  for (const c of s.connections) await upsert(client, 'connection', c.id, connectionBody(c), `connection ${c.id}`, done);
  for (const p of s.pools) await upsert(client, 'pool', p.name, { name: p.name, slots: p.slots, ...(p.description !== undefined ? { description: p.description } : {}) }, `pool ${p.name}`, done);
  for (const v of s.variables) await upsert(client, 'variable', v.key, { key: v.key, value: v.value }, `variable ${v.key}`, done);
  return done;
}
