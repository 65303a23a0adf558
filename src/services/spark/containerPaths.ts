/**
 * Where a workspace file is inside the spark-master container: read the bind mounts of the
 * compose stack (`stack/docker-compose.yaml`, parsed with `yaml`) and map the host path through
 * them. A file outside every mount must be copied into the container before spark-submit can
 * read it; the mapping says so and proposes the target path.
 */
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { parse } from 'yaml';

export interface BindMount {
  /** absolute host path */
  source: string;
  /** absolute container path */
  target: string;
  readOnly: boolean;
}

export type ContainerPathMapping =
  | { kind: 'mounted'; containerPath: string; mount: BindMount }
  | { kind: 'copy'; containerPath: string; reason: string };

/** Where files outside every mount are copied to inside the container. */
export const COPY_DIR_IN_CONTAINER = '/tmp/datapipeline-submit';

function expandEnv(s: string, env: NodeJS.ProcessEnv): string {
  // Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR
  return s.replace(/\$\{(\w+)(?:(:?-)([^}]*))?\}|\$(\w+)/g, (_m, braced, op, def, bare) => {
    const name = braced ?? bare;
    const v = env[name];
    if (op === ':-') return v ? v : (def ?? '');
    if (op === '-') return v !== undefined ? v : (def ?? '');
    return v ?? '';
  });
}

/** The bind mounts of one compose service (short `src:dst[:ro]` and long `{type: bind}` syntax). Named volumes are skipped. */
export function parseComposeBindMounts(
  composeText: string,
  composeDir: string,
  service = 'spark-master',
  env: NodeJS.ProcessEnv = process.env,
): BindMount[] {
  // merge keys: the bundled stack's services take their volumes from an x-spark-common anchor (<<)
  const doc = parse(composeText, { merge: true }) as unknown;
  const services = (doc as { services?: Record<string, unknown> } | null)?.services;
  if (!services || typeof services !== 'object') throw new Error('The compose file has no services section.');
  const svc = services[service] as { volumes?: unknown } | undefined;
  if (!svc) throw new Error(`The compose file has no "${service}" service.`);
  const vols = Array.isArray(svc.volumes) ? svc.volumes : [];
  const mounts: BindMount[] = [];
  const resolveSource = (src: string) => {
    const s = expandEnv(src, env);
    if (s.startsWith('~')) return path.join(env.HOME ?? '', s.slice(1));
    return path.resolve(composeDir, s);
  };
  for (const v of vols) {
    if (typeof v === 'string') {
      const parts = expandEnv(v, env).split(':');
      if (parts.length < 2) continue; // anonymous volume
      const [src, dst, mode] = parts;
      // A bind mount source is a path; anything else is a named volume.
      if (!/^[./~]/.test(src)) continue;
      mounts.push({
        source: resolveSource(src),
        target: path.posix.normalize(dst),
        readOnly: (mode ?? '').split(',').includes('ro'),
      });
    } else if (v && typeof v === 'object') {
      const o = v as { type?: string; source?: string; target?: string; read_only?: boolean };
      if (o.type !== 'bind' || !o.source || !o.target) continue;
      mounts.push({ source: resolveSource(o.source), target: path.posix.normalize(o.target), readOnly: !!o.read_only });
    }
  }
  return mounts;
}

/** Map a host file to its path in the container; the most specific (longest) mount wins. */
export function mapToContainerPath(hostFile: string, mounts: BindMount[]): ContainerPathMapping {
  const abs = path.resolve(hostFile);
  let best: BindMount | undefined;
  for (const m of mounts) {
    const rel = path.relative(m.source, abs);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
    if (!best || m.source.length > best.source.length) best = m;
  }
  if (best) {
    const rel = path.relative(best.source, abs).split(path.sep).join('/');
    return { kind: 'mounted', containerPath: path.posix.join(best.target, rel), mount: best };
  }
  // A stable folder per host directory, so two files with the same name never collide.
  const dirHash = crypto.createHash('sha256').update(path.dirname(abs)).digest('hex').slice(0, 12);
  const where = mounts.length ? mounts.map((m) => m.source).join(', ') : 'no bind mounts';
  return {
    kind: 'copy',
    containerPath: path.posix.join(COPY_DIR_IN_CONTAINER, dirHash, path.basename(abs)),
    reason: `${abs} is outside the folders mounted into spark-master (${where}); it is copied into the container.`,
  };
}
