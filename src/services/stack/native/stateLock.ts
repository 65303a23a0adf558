/**
 * A lock on a native stack state folder, so two callers (the CLI, several test runs, the extension)
 * never start or stop the same services at the same time. The lock is a directory created
 * atomically with mkdir, holding the owner's pid; a lock whose owner is gone is taken over.
 * Callers in one process queue too (never nest: the inner call would wait for the outer).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, readStat } from './procfs';
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

/** Runs fn while holding the lock `<runDir>/lock`. Waits (up to timeoutMs) while another live process holds it. */
export async function withStateLock<T>(
  runDir: string,
  what: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; signal?: AbortSignal; onWait?: (owner: string) => void } = {},
): Promise<T> {
  fs.mkdirSync(runDir, { recursive: true });
  const dir = path.join(runDir, 'lock');
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw abortError();
    try {
      fs.mkdirSync(dir);
      const me: LockOwner = { pid: process.pid, startTime: readStat(process.pid)?.startTime ?? 0, what };
      fs.writeFileSync(path.join(dir, 'owner.json'), JSON.stringify(me));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(dir);
    const stale = owner ? !isAlive(owner.pid, owner.startTime || undefined) : lockAgeMs(dir) > 5000;
    if (stale) {
      fs.rmSync(dir, { recursive: true, force: true });
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
    await sleep(500, opts.signal);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function lockAgeMs(dir: string): number {
  try {
    return Date.now() - fs.statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}
