/**
 * Which stack folder the running stack was started from, and which folders have run a stack on this
 * machine. There is one stack per machine (its ports are fixed, and the Docker backend's compose
 * project and volumes are one set): a workspace that starts its own stack replaces another
 * workspace's, and a Reset deletes data every workspace shares. So a start or stop asks first when
 * another folder's stack runs, and Reset names every folder whose data it deletes. Kept in the state
 * folder both backends, the extension and `npm run stack` share. No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extensionRoot } from '../util/paths';
import { writePrivateFile } from '../util/privateFiles';

const OWNER_FILE = 'stack-owner.json';
const USED_FILE = 'stacks-used.json';
/** the stamp prepareStackDir leaves in the writable copy of the bundled stack */
const BUNDLED_STAMP = '.datapipeline-bundled-version';

export interface StackOwner {
  stackDir: string;
  backend: 'docker' | 'native';
  startedAt: string;
}

/** The extension's own stack files (its install folder, or the writable copy the Docker backend runs): one stack, whichever copy. */
export function isBundledStackDir(dir: string): boolean {
  return path.resolve(dir) === path.join(extensionRoot(__dirname), 'stack') || fs.existsSync(path.join(dir, BUNDLED_STAMP));
}

/** Two stack folders run the same stack: the same folder, or both the extension's own copies. */
export function sameStack(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b) || (isBundledStackDir(a) && isBundledStackDir(b));
}

/** "the bundled stack" or the folder, for messages. */
export function describeStackDir(dir: string): string {
  return isBundledStackDir(dir) ? 'the bundled stack' : dir;
}

/** Records a successful start: the owner of the running stack, and one more folder that has used the shared data. */
export function recordStackStart(stateDir: string, stackDir: string, backend: StackOwner['backend']): void {
  fs.mkdirSync(stateDir, { recursive: true });
  const owner: StackOwner = { stackDir: path.resolve(stackDir), backend, startedAt: new Date().toISOString() };
  writePrivateFile(path.join(stateDir, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`);
  const used = stacksUsed(stateDir, backend);
  if (!used.some((d) => sameStack(d, stackDir))) {
    const all = readJson<Record<string, string[]>>(path.join(stateDir, USED_FILE)) ?? {};
    all[backend] = [...used, path.resolve(stackDir)];
    writePrivateFile(path.join(stateDir, USED_FILE), `${JSON.stringify(all, null, 2)}\n`);
  }
}

/** Who started the stack last (undefined: nobody recorded). Whether it still runs is the backend's to say. */
export function lastStackOwner(stateDir: string): StackOwner | undefined {
  const o = readJson<StackOwner>(path.join(stateDir, OWNER_FILE));
  return o && typeof o.stackDir === 'string' && (o.backend === 'docker' || o.backend === 'native') ? o : undefined;
}

/** The stack folders whose stacks have kept their data in this backend's shared data (existing ones). */
export function stacksUsed(stateDir: string, backend: StackOwner['backend']): string[] {
  const list = readJson<Record<string, unknown>>(path.join(stateDir, USED_FILE))?.[backend];
  return Array.isArray(list) ? list.filter((d): d is string => typeof d === 'string' && fs.existsSync(d)) : [];
}

/** Reset's line naming the workspaces whose data it deletes, when others than `mine` have used it. */
export function sharedDataLine(stateDir: string, backend: StackOwner['backend'], mine: string): string | undefined {
  const others = stacksUsed(stateDir, backend).filter((d) => !sameStack(d, mine));
  if (!others.length) return undefined;
  return `the data of every stack run on this machine, which is shared: also the stack${others.length === 1 ? '' : 's'} of ${others.map(describeStackDir).join(', ')}`;
}

/**
 * The question before a start, restart or stop from `mine` while `owner`'s stack runs: undefined when
 * it is the same stack (or nothing runs).
 */
export function otherStackQuestion(owner: StackOwner | undefined, mine: string, action: 'start' | 'stop'): string | undefined {
  if (!owner || sameStack(owner.stackDir, mine)) return undefined;
  const theirs = describeStackDir(owner.stackDir);
  return action === 'start'
    ? `The stack running now was started from ${theirs}, not from this workspace's ${describeStackDir(mine)}. Starting replaces it with this workspace's stack (its DAGs and jobs); the data (topics, Airflow's database) is shared.`
    : `The stack running now was started from ${theirs}, not from this workspace's ${describeStackDir(mine)}. Stopping it stops it for that workspace too.`;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
