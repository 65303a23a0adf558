/**
 * A lock on a native stack state folder, so two callers (the CLI, several test runs, the extension)
 * never start or stop the same services at the same time. The lock is a directory holding the
 * owner's pid; a lock whose owner is gone is taken over.
 * Callers in one process queue too (never nest: the inner call would wait for the outer).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, readStat } from '../../util/procfs';
import { abortError, sleep } from './processes';

interface LockOwner {
  pid: number;
  startTime: number;
  what: string;
}

function readOwner(dir: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * Runs fn while holding the lock `<runDir>/lock`. Waits (up to timeoutMs) while another live process holds it.
 *
 * Taking the lock is one rename of a prepared folder (owner.json inside) onto `lock`: it either
 * happens whole or fails because the lock exists, so a lock is never seen without its owner.
 * Taking over a stale lock happens under a second lock (`lock.takeover`, mkdir), re-checking the
 * owner there, so two processes that both saw the same dead owner cannot both remove it and
 * both enter (one of them would otherwise remove the lock the other had just taken).
 */
export async function withStateLock<T>(
  runDir: string,
  what: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; signal?: AbortSignal; onWait?: (owner: string) => void } = {},
): Promise<T> {
  fs.mkdirSync(runDir, { recursive: true });
  const dir = path.join(runDir, 'lock');
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  const me: LockOwner = { pid: process.pid, startTime: readStat(process.pid)?.startTime ?? 0, what };
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw abortError();
    if (tryAcquire(dir, me)) break;
    const owner = readOwner(dir);
    if (isStale(dir, owner)) {
      takeOver(dir, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Another process (pid ${owner?.pid ?? '?'}: ${owner?.what ?? 'unknown'}) has been working on the native stack in ${path.dirname(runDir)} for too long. Wait for it, or stop it, then try again.`,
      );
    }
    if (!told && owner) {
      told = true;
      opts.onWait?.(`pid ${owner.pid} (${owner.what})`);
    }
    await sleep(100 + Math.floor(Math.random() * 400), opts.signal);
  }
  try {
    return await fn();
  } finally {
    removeLock(dir);
  }
}

/**
 * Removes a lock folder by first renaming it away whole. Removing it in place (owner.json, then the
 * folder) leaves a moment where `lock` is an empty folder, and a rename onto an empty folder succeeds:
 * another process would take the lock and then have it removed under it.
 */
function removeLock(dir: string): void {
  const gone = `${dir}.old.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(dir, gone);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  fs.rmSync(gone, { recursive: true, force: true });
}

/** Creates `dir` with owner.json in one rename; false when the lock is held. */
function tryAcquire(dir: string, me: LockOwner): boolean {
  const tmp = `${dir}.new.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    fs.writeFileSync(path.join(tmp, 'owner.json'), JSON.stringify(me));
    fs.renameSync(tmp, dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'ENOTDIR') throw e;
    return false;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function isStale(dir: string, owner: LockOwner | undefined): boolean {
  // a lock without an owner is from an older version or a crash while writing it
  return owner ? !isAlive(owner.pid, owner.startTime || undefined) : ageMs(dir) > 5000;
}

function sameOwner(a: LockOwner | undefined, b: LockOwner | undefined): boolean {
  return a?.pid === b?.pid && a?.startTime === b?.startTime && a?.what === b?.what;
}

/** Removes the stale lock, unless someone else has taken it over meanwhile. */
function takeOver(dir: string, seen: LockOwner | undefined): void {
  const guard = `${dir}.takeover`;
  try {
    fs.mkdirSync(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // another process is taking over right now (a takeover takes microseconds; one older than 30 s crashed)
    if (ageMs(guard) > 30_000) fs.rmSync(guard, { recursive: true, force: true });
    return;
  }
  try {
    const now = readOwner(dir);
    if (fs.existsSync(dir) && sameOwner(now, seen) && isStale(dir, now)) removeLock(dir);
  } finally {
    fs.rmSync(guard, { recursive: true, force: true });
  }
}

function ageMs(p: string): number {
  try {
    return Date.now() - fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}
