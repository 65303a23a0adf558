/**
 * Reads a compose project without running the CLI: the compose file (with `yaml`, merge keys on),
 * its `.env`, variable interpolation, and per service the host ports it needs and whether it is a
 * one-shot job (something waits for it with `service_completed_successfully`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

export interface ComposePort {
  host: string;
  port: number;
  containerPort?: number;
  /** from the `datapipeline.ports` label, e.g. "Web UI" */
  name?: string;
  /** true when the label marks it as an http UI */
  http?: boolean;
}

export interface ComposeService {
  name: string;
  /** host ports this service needs free before `up` */
  ports: ComposePort[];
  /** exits by design; healthy means "exited 0" */
  oneShot: boolean;
  hasHealthcheck: boolean;
  image?: string;
  /** built from a Dockerfile of the project (compose `build:`) */
  built: boolean;
  /** compose profiles: a service with any is started only when one of them is enabled */
  profiles: string[];
  networkMode?: string;
  labels: Record<string, string>;
  /** the services it depends on (depends_on, list or map) */
  dependsOn: string[];
}

export interface ComposeModel {
  file: string;
  dir: string;
  env: Record<string, string>;
  services: ComposeService[];
  raw: Record<string, unknown>;
}

/** Parses KEY=VALUE lines of a .env file (quotes stripped, comments ignored). */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

/**
 * Compose interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR:?err}, $$ → $;
 * a default may hold another (${A:-${B:-c}}), as compose reads it.
 */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      // to the matching brace: a nested ${...} in a default is part of it
      let depth = 1;
      let j = i + 2;
      for (; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) break;
      }
      if (depth > 0) {
        out += text.slice(i); // unbalanced: left as it is
        break;
      }
      out += expandBraced(text.slice(i + 2, j), vars);
      i = j + 1;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      out += vars[bare[0]] ?? '';
      i += 1 + bare[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function expandBraced(braced: string, vars: Record<string, string | undefined>): string {
  const b = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(braced);
  if (!b) return '';
  const [, name, colon, op, arg] = b;
  const v = vars[name];
  const unset = colon ? v === undefined || v === '' : v === undefined;
  if (op === '-') return unset ? interpolate(arg ?? '', vars) : v!;
  if (op === '+') return unset ? '' : interpolate(arg ?? '', vars);
  if (op === '?') {
    if (unset) throw new Error(`Required variable ${name} is not set: ${arg}`);
    return v!;
  }
  return v ?? '';
}

function interpolateDeep(value: unknown, vars: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateDeep(v, vars);
    return out;
  }
  return value;
}

/** "127.0.0.1:8085:8080", "8085:8080/tcp", "9092", or the long syntax → host ports. */
export function parsePortSpec(spec: unknown): ComposePort | undefined {
  if (spec && typeof spec === 'object') {
    const o = spec as { published?: string | number; target?: number; host_ip?: string };
    if (o.published === undefined) return undefined;
    return { host: o.host_ip || '0.0.0.0', port: Number(o.published), containerPort: o.target };
  }
  const s = String(spec).replace(/\/(tcp|udp)$/, '');
  const parts = s.split(':');
  if (parts.length === 1) return undefined; // container port only: a random host port
  const containerPort = Number(parts[parts.length - 1]);
  const hostPort = Number(parts[parts.length - 2]);
  const host = parts.length >= 3 ? parts.slice(0, parts.length - 2).join(':') : '0.0.0.0';
  if (!Number.isFinite(hostPort)) return undefined;
  return { host, port: hostPort, containerPort };
}

/** The `datapipeline.ports` label: "Web UI=18081/http,Worker=18082" (for host-network services). */
export function parsePortsLabel(label: string | undefined): ComposePort[] {
  if (!label) return [];
  const out: ComposePort[] = [];
  for (const item of label.split(',')) {
    const m = /^\s*(?:([^=]+)=)?\s*(\d+)(?:\/(http|tcp))?\s*$/.exec(item);
    if (!m) continue;
    out.push({ host: '127.0.0.1', port: Number(m[2]), name: m[1]?.trim(), http: m[3] === 'http' });
  }
  return out;
}

function labelsOf(svc: Record<string, unknown>): Record<string, string> {
  const l = svc.labels;
  if (Array.isArray(l)) {
    const out: Record<string, string> = {};
    for (const item of l) {
      const [k, ...rest] = String(item).split('=');
      out[k] = rest.join('=');
    }
    return out;
  }
  if (l && typeof l === 'object') {
    return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, String(v)]));
  }
  return {};
}

/** Reads and interpolates `file` (default `<dir>/docker-compose.yaml`) with `<dir>/.env` and `env`. */
export function loadComposeModel(dir: string, file?: string, env: NodeJS.ProcessEnv = process.env): ComposeModel {
  const composeFile = file ? path.resolve(dir, file) : findComposeFile(dir);
  const dotEnvPath = path.join(dir, '.env');
  const dotEnv = fs.existsSync(dotEnvPath) ? parseDotEnv(fs.readFileSync(dotEnvPath, 'utf8')) : {};
  // Like compose: the process environment wins over .env.
  const vars: Record<string, string | undefined> = { ...dotEnv, ...env };
  const doc = (parse(fs.readFileSync(composeFile, 'utf8'), { merge: true }) ?? {}) as Record<string, unknown>;
  const raw = interpolateDeep(doc, vars) as Record<string, unknown>;
  const servicesRaw = (raw.services ?? {}) as Record<string, Record<string, unknown>>;

  const waitedToComplete = new Set<string>();
  for (const svc of Object.values(servicesRaw)) {
    const deps = svc?.depends_on;
    if (deps && !Array.isArray(deps) && typeof deps === 'object') {
      for (const [name, cond] of Object.entries(deps as Record<string, { condition?: string }>)) {
        if (cond?.condition === 'service_completed_successfully') waitedToComplete.add(name);
      }
    }
  }

  const services: ComposeService[] = Object.entries(servicesRaw).map(([name, svc]) => {
    const labels = labelsOf(svc ?? {});
    const published = ((svc?.ports as unknown[]) ?? []).map(parsePortSpec).filter((p): p is ComposePort => !!p);
    const labelled = parsePortsLabel(labels['datapipeline.ports']);
    const ports = [...labelled];
    for (const p of published) {
      const same = ports.find((q) => q.port === p.port);
      if (same) Object.assign(same, { host: p.host, containerPort: p.containerPort });
      else ports.push(p);
    }
    const hc = svc?.healthcheck as { test?: unknown; disable?: boolean } | undefined;
    return {
      name,
      ports,
      oneShot: waitedToComplete.has(name) || labels['datapipeline.oneshot'] === 'true',
      hasHealthcheck: !!hc && !hc.disable && hc.test !== undefined && !(Array.isArray(hc.test) && hc.test[0] === 'NONE'),
      image: svc?.image as string | undefined,
      built: svc?.build !== undefined,
      profiles: Array.isArray(svc?.profiles) ? (svc.profiles as unknown[]).map(String) : [],
      networkMode: svc?.network_mode as string | undefined,
      labels,
      dependsOn: Array.isArray(svc?.depends_on) ? (svc.depends_on as unknown[]).map(String) : svc?.depends_on && typeof svc.depends_on === 'object' ? Object.keys(svc.depends_on) : [],
    };
  });
  return { file: composeFile, dir, env: Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)) as Record<string, string>, services, raw };
}

export function findComposeFile(dir: string): string {
  for (const name of ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`No compose file (docker-compose.yaml) in ${dir}.`);
}
