/**
 * The stack's files for the Docker backend: the workspace's `stack/` when it has one; otherwise a
 * writable copy of the files bundled with the extension (compose bind-mounts ./dags and
 * ./scripts, which must not point into the installed extension). No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const STAMP = '.datapipeline-bundled-version';

/** Copies a folder tree (files and folders only; symlinks are copied as what they point to). */
export function copyTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, dereference: true, errorOnExist: false, force: true });
}

/**
 * The folder to run the stack from: `resolved` unless it is the bundled copy, in which case the
 * bundled files are copied into `writableDir` (again when the extension version changed).
 */
export function prepareStackDir(resolved: string, bundled: string, writableDir: string, version: string): string {
  if (path.resolve(resolved) !== path.resolve(bundled)) return resolved;
  const stamp = path.join(writableDir, STAMP);
  const current = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : undefined;
  if (current !== version) {
    fs.mkdirSync(writableDir, { recursive: true });
    copyTree(bundled, writableDir);
    fs.writeFileSync(stamp, version + '\n');
  }
  return writableDir;
}

export class StackExistsError extends Error {
  constructor(readonly target: string) {
    super(`${target} already exists.`);
    this.name = 'StackExistsError';
  }
}

/** "Add Stack to Workspace": copies the bundled stack into `<workspaceFolder>/stack` (never over an existing one). */
export function addStackToWorkspace(bundled: string, workspaceFolder: string): string {
  const target = path.join(workspaceFolder, 'stack');
  if (fs.existsSync(target)) throw new StackExistsError(target);
  copyTree(bundled, target);
  return target;
}

/**
 * The path of `file` inside one of the stack copies that are not the user's (the extension's
 * install folder, the copy the Docker backend runs from), relative to that copy; undefined when it
 * is elsewhere. Edits there are lost when the extension updates.
 */
export function pathInBundledStack(file: string, copies: string[]): string | undefined {
  for (const dir of copies) {
    const rel = path.relative(path.resolve(dir), path.resolve(file));
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  }
  return undefined;
}
