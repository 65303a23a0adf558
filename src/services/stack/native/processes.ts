/**
 * Starting and stopping the native services as recorded process trees.
 * Each service runs under stack/native/supervise.py as a session leader; its pid, process group
 * and start time are recorded in <state>/run/<service>.json, its exit code in <service>.exit.json.
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, processTree, readStat } from './procfs';

export interface RunRecord {
  service: string;
  pid: number;
  pgid: number;
  startTime: number;
  startedAt: string;
  argv: string[];
  log: string;
}

export interface ExitRecord {
  code: number;
  signal: string | null;
  at: number;
}

export class ProcessStore {
  constructor(readonly runDir: string, readonly logsDir: string) {}

  recordPath(service: string): string {
    return path.join(this.runDir, `${service}.json`);
  }
  exitPath(service: string): string {
    return path.join(this.runDir, `${service}.exit.json`);
  }
  logPath(service: string): string {
    return path.join(this.logsDir, `${service}.log`);
  }

  read(service: string): RunRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.recordPath(service), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
  }

  readExit(service: string): ExitRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.exitPath(service), 'utf8')) as ExitRecord;
    } catch {
      return undefined;
    }
  }

  /** The recorded process is still alive (same pid and start time). */
  alive(service: string): RunRecord | undefined {
    const r = this.read(service);
    if (r && isAlive(r.pid, r.startTime)) return r;
    return undefined;
  }

  /**
   * Starts argv under the supervisor, stdout+stderr appended to the service log.
   * Returns the child (so an in-process caller sees its exit) and the record.
   */
  start(
    service: string,
    python: string,
    supervisor: string,
    argv: string[],
    opts: { env: NodeJS.ProcessEnv; cwd: string },
  ): { child: ChildProcess; record: RunRecord } {
    fs.mkdirSync(this.runDir, { recursive: true });
    fs.mkdirSync(this.logsDir, { recursive: true });
    const log = this.logPath(service);
    rotate(log);
    fs.appendFileSync(log, `\n===== ${new Date().toISOString()} starting ${service}: ${argv.join(' ')}\n`);
    fs.rmSync(this.exitPath(service), { force: true });
    const fd = fs.openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(python, [supervisor, this.exitPath(service), '--', ...argv], {
        cwd: opts.cwd,
        env: opts.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    if (!child.pid) throw new Error(`Could not start ${service} (${argv[0]}).`);
    child.unref();
    child.on('error', () => undefined);
    const st = readStat(child.pid);
    const record: RunRecord = {
      service,
      pid: child.pid,
      pgid: child.pid,
      startTime: st?.startTime ?? 0,
      startedAt: new Date().toISOString(),
      argv,
      log,
    };
    const tmp = this.recordPath(service) + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify(record, null, 2));
    fs.renameSync(tmp, this.recordPath(service));
    return { child, record };
  }

  /** Every live pid of the recorded tree (supervisor, program, its children). */
  pids(service: string): number[] {
    const r = this.alive(service);
    if (!r) {
      const rec = this.read(service);
      // the supervisor is gone but children of its group may linger
      return rec ? processTree(-1, rec.pgid) : [];
    }
    return processTree(r.pid, r.pgid);
  }

  /**
   * Stops exactly the recorded tree: SIGTERM to the group and every descendant, wait,
   * SIGKILL what is left after `graceMs`, then remove the record.
   */
  async stop(service: string, graceMs = 20000): Promise<void> {
    const rec = this.read(service);
    if (!rec) return;
    const signalAll = (sig: NodeJS.Signals): number[] => {
      const pids = this.alive(service) ? processTree(rec.pid, rec.pgid) : processTree(-1, rec.pgid);
      if (pids.length === 0) return pids;
      try {
        process.kill(-rec.pgid, sig);
      } catch {
        /* group gone */
      }
      for (const p of pids) {
        try {
          process.kill(p, sig);
        } catch {
          /* gone */
        }
      }
      return pids;
    };
    let remaining = signalAll('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (remaining.length && Date.now() < deadline) {
      await sleep(200);
      remaining = remaining.filter((p) => isAlive(p));
    }
    if (remaining.length) {
      signalAll('SIGKILL');
      for (const p of remaining) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const killDeadline = Date.now() + 5000;
      while (remaining.length && Date.now() < killDeadline) {
        await sleep(100);
        remaining = remaining.filter((p) => isAlive(p));
      }
    }
    fs.appendFileSync(this.logPath(service), `===== ${new Date().toISOString()} stopped ${service}\n`);
    fs.rmSync(this.recordPath(service), { force: true });
    fs.rmSync(this.exitPath(service), { force: true });
  }
}

function rotate(log: string): void {
  try {
    if (fs.statSync(log).size > 20 * 1024 * 1024) fs.renameSync(log, log + '.1');
  } catch {
    /* no log yet */
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(): Error {
  const e = new Error('Cancelled');
  e.name = 'AbortError';
  return e;
}

/** Last `n` lines of a file (reads at most the last 256 KiB). */
export function tailLines(file: string, n: number): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    if (len < size) lines.shift();
    return lines.slice(-n);
  } finally {
    fs.closeSync(fd);
  }
}
