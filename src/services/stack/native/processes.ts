/**
 * Starting and stopping the native services as recorded process trees.
 * Each service runs under stack/native/supervise.py as a session leader; its pid, process group
 * and start time are recorded in <state>/run/<service>.json, its exit code in <service>.exit.json.
 *
 * A record can outlive its processes (a reboot, a container restart, a crash) and its pid or
 * process group can then belong to another program. So a process is treated as ours only when
 * its identity still matches: it was started in this boot, and it carries the run id we put in
 * the environment of the service (every child inherits it), or, for records written before run
 * ids, it is the supervisor itself with the recorded start time and command line. Nothing else
 * is ever signalled.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootId, cmdline, environOf, environValue, isAlive, processTree, programName, readStat } from '../../util/procfs';

/** The environment variable that marks every process of one service run. */
export const RUN_ID_ENV = 'DATAPIPELINE_RUN_ID';

export interface RunRecord {
  service: string;
  pid: number;
  pgid: number;
  startTime: number;
  startedAt: string;
  argv: string[];
  log: string;
  /** marks every process of this run (environment variable RUN_ID_ENV) */
  runId?: string;
  /** /proc/sys/kernel/random/boot_id when the record was written */
  bootId?: string;
}

export interface StopResult {
  /** processes signalled */
  signalled: number;
  /** set when the record was stale: what was found and left alone */
  note?: string;
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

  /** The recorded supervisor is still alive and still ours (same boot, pid, start time and run id). */
  alive(service: string): RunRecord | undefined {
    const r = this.read(service);
    if (r && isAlive(r.pid, r.startTime) && this.ours(r, r.pid)) return r;
    return undefined;
  }

  /**
   * Whether `pid` is a process of the run `rec` describes (see the header), from one look: 'unknown'
   * while its environment reads as empty (a process that execs, e.g. a pyenv shim: bash, then pyenv,
   * then python, reads so for a moment). Never waits: status polls call this on the extension host.
   */
  private identify(rec: RunRecord, pid: number): boolean | 'unknown' {
    if (rec.bootId && rec.bootId !== bootId()) return false;
    if (rec.runId) {
      // the supervisor itself: pid and start time in this boot name one process (exec keeps both)
      if (pid === rec.pid && isAlive(pid, rec.startTime)) return true;
      const env = environOf(pid);
      if (env === '') return isAlive(pid) ? 'unknown' : false;
      return environValue(pid, RUN_ID_ENV, env) === rec.runId;
    }
    // a record from before run ids: only the supervisor itself, by start time and command line
    return pid === rec.pid && isAlive(pid, rec.startTime) && cmdline(pid).some((a) => a.endsWith('supervise.py'));
  }

  /** Whether `pid` is ours now; a process caught mid-exec counts while the supervisor that started it is alive and ours. */
  ours(rec: RunRecord, pid: number): boolean {
    const id = this.identify(rec, pid);
    return id === 'unknown' ? this.identify(rec, rec.pid) === true : id;
  }

  /** Whether `pid` is ours, asking again (5 ms apart, up to 200 ms, without blocking) while it reads as mid-exec: for signalling. */
  private async oursSettled(rec: RunRecord, pid: number): Promise<boolean> {
    for (let i = 0; ; i++) {
      const id = this.identify(rec, pid);
      if (id !== 'unknown') return id;
      if (i >= 40) return false;
      await sleep(5);
    }
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
    const runId = randomUUID();
    let child: ChildProcess;
    try {
      child = spawn(python, [supervisor, this.exitPath(service), '--', ...argv], {
        cwd: opts.cwd,
        env: { ...opts.env, [RUN_ID_ENV]: runId },
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
      runId,
      bootId: bootId(),
    };
    const tmp = this.recordPath(service) + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify(record, null, 2));
    fs.renameSync(tmp, this.recordPath(service));
    return { child, record };
  }

  /** Every live pid of the recorded tree (supervisor, program, its children) that is still ours. */
  pids(service: string): number[] {
    const rec = this.read(service);
    if (!rec) return [];
    return this.candidates(rec).filter((p) => this.ours(rec, p));
  }

  /** The same, each process identified for certain before it is signalled (a mid-exec one is asked again). */
  private async settledPids(rec: RunRecord): Promise<number[]> {
    const out: number[] = [];
    for (const p of this.candidates(rec)) if (await this.oursSettled(rec, p)) out.push(p);
    return out;
  }

  /** The supervisor's tree and process group as recorded, before the identity check. */
  private candidates(rec: RunRecord): number[] {
    return processTree(isAlive(rec.pid, rec.startTime) ? rec.pid : -1, rec.pgid);
  }

  /**
   * Stops exactly the recorded tree: SIGTERM to every process of it that is still ours, wait,
   * SIGKILL what is left after `graceMs`, then remove the record. A stale record (its pid or
   * group now another program's) is dropped and the result says what was left alone.
   * Never throws because the logs folder has gone.
   */
  async stop(service: string, graceMs = 20000): Promise<StopResult> {
    const rec = this.read(service);
    if (!rec) return { signalled: 0 };
    const supervisorOurs = !!this.alive(service);
    const ours = new Set(await this.settledPids(rec));
    const foreign = this.candidates(rec).filter((p) => !ours.has(p));
    const signalAll = async (sig: NodeJS.Signals): Promise<number[]> => {
      const pids = await this.settledPids(rec);
      if (pids.length === 0) return pids;
      // the group kill reaches a child forked a moment ago; only while the group is provably ours
      if (supervisorOurs && isAlive(rec.pid, rec.startTime)) {
        try {
          process.kill(-rec.pgid, sig);
        } catch {
          /* group gone */
        }
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
    let remaining = await signalAll('SIGTERM');
    const signalled = remaining.length;
    const deadline = Date.now() + graceMs;
    while (remaining.length && Date.now() < deadline) {
      await sleep(200);
      remaining = remaining.filter((p) => isAlive(p));
    }
    if (remaining.length) {
      await signalAll('SIGKILL');
      const killDeadline = Date.now() + 5000;
      while (remaining.length && Date.now() < killDeadline) {
        await sleep(100);
        remaining = remaining.filter((p) => isAlive(p));
      }
    }
    let note: string | undefined;
    if (!supervisorOurs && signalled === 0) {
      const others = foreign.slice(0, 3).map((p) => `pid ${p} (${programName(p) ?? 'unknown'})`);
      note =
        `The run record of ${service} was stale (pid ${rec.pid} has gone) and was dropped` +
        (others.length ? `; ${others.join(', ')} now use${others.length === 1 ? 's' : ''} its process ids and ${others.length === 1 ? 'was' : 'were'} left alone.` : '.');
    }
    try {
      fs.mkdirSync(this.logsDir, { recursive: true });
      fs.appendFileSync(this.logPath(service), `===== ${new Date().toISOString()} stopped ${service}${note ? ` (${note})` : ''}\n`);
    } catch {
      /* a log line is not worth failing a stop for */
    }
    fs.rmSync(this.recordPath(service), { force: true });
    fs.rmSync(this.exitPath(service), { force: true });
    return { signalled, note };
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
