import * as fs from 'node:fs';
import * as path from 'node:path';

/** True when `dir` holds the stack's files (a dags/ folder, or the compose file). */
export function isStackDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'dags')) || fs.existsSync(path.join(dir, 'docker-compose.yaml'));
}

/**
 * Where the stack's files come from: the first workspace folder with a `stack/` folder, else a
 * workspace folder that is itself a stack folder (dags/ + scripts/), else the copy bundled with
 * the extension.
 */
export function resolveStackDir(workspaceFolders: readonly string[], bundledStackDir: string): string {
  for (const folder of workspaceFolders) {
    const candidate = path.join(folder, 'stack');
    if (isStackDir(candidate)) return candidate;
  }
  for (const folder of workspaceFolders) {
    if (fs.existsSync(path.join(folder, 'dags')) && fs.existsSync(path.join(folder, 'scripts'))) return folder;
  }
  return bundledStackDir;
}
