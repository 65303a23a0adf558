/** What the stack's images are built from, as one hash an image carries in a label (a changed input rebuilds it). */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ComposeModel } from '../../docker/composeFile';

/** image label holding buildInputsHash() of what the image was built from */
export const BUILD_HASH_LABEL = 'datapipeline.build-hash';

/** Folders of a compose project that are data or code mounted into the containers (the OpenLineage receiver's too), not image build inputs. */
const NOT_BUILD_INPUTS = new Set(['dags', 'scripts', 'plugins', 'include', 'lineage', 'logs', 'checkpoints', 'native', 'node_modules', '.git']);

/**
 * A hash of everything an image of the stack is built from: the Dockerfiles and the files they
 * copy (every file of the project folder but its DAGs, jobs, data and the compose file itself)
 * and the build arguments' values. An image whose label differs was built from something else.
 */
export function buildInputsHash(model: ComposeModel): string {
  const h = crypto.createHash('sha256');
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!rel && (NOT_BUILD_INPUTS.has(e.name) || e.name === '.env' || e.name === path.basename(model.file))) continue;
      if (e.name === '__pycache__' || e.name.endsWith('.md')) continue;
      const p = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) h.update(r).update('\0').update(fs.readFileSync(p)).update('\0');
    }
  };
  walk(model.dir, '');
  for (const k of ['BASE_IMAGE', 'KAFKA_VERSION', 'SPARK_VERSION', 'AIRFLOW_VERSION']) h.update(`${k}=${model.env[k] ?? ''}\0`);
  return h.digest('hex').slice(0, 16);
}
