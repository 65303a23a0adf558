import * as os from 'node:os';
import * as path from 'node:path';

/** Where installs and downloads are cached (never inside the repo). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATAPIPELINE_CACHE || path.join(os.homedir(), '.cache', 'datapipeline');
}

/** Where the native stack keeps pids, logs and data when run from the command line. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATAPIPELINE_STATE || path.join(cacheDir(env), 'state');
}

/** The repository / extension root (this file lives in src/services/util or is bundled into dist/). */
export function extensionRoot(fromDir: string = __dirname): string {
  let dir = fromDir;
  for (let i = 0; i < 6; i++) {
    if (require('node:fs').existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(fromDir, '..');
}
