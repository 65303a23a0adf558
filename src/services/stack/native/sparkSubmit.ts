/**
 * Runs the native stack's spark-submit as a child (argv, no shell) in its own process group:
 * streams its output, notes the application id it announces, and on abort ends the driver and
 * every process it started (python workers, the py4j JVM).
 */
import { spawn } from 'node:child_process';
import { parseAppId } from '../../spark/driverOutput';
import { isAlive, processTree } from '../../util/procfs';
import { StackError, type SparkSubmitIO, type SparkSubmitResult } from '../types';
import { abortError } from './processes';

/** SIGTERM: the group and the tree; SIGKILL later: only what is still alive in the tree (the group id may be reused by then). */
function signalTree(pid: number, sig: 'SIGTERM' | 'SIGKILL'): void {
  const pids = processTree(pid, pid);
  if (sig === 'SIGTERM') {
    try {
      process.kill(-pid, sig);
    } catch {
      /* group gone */
    }
  }
  for (const p of pids) {
    try {
      if (sig !== 'SIGKILL' || isAlive(p)) process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

export function runSparkSubmit(submit: string, argv: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }, io: SparkSubmitIO): Promise<SparkSubmitResult> {
  return new Promise<SparkSubmitResult>((resolve, reject) => {
    if (io.signal?.aborted) return reject(abortError());
    const child = spawn(submit, argv, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let appId: string | undefined;
    let seen = '';
    const note = (s: string) => {
      if (appId) return;
      seen = (seen + s).slice(-4096);
      appId = parseAppId(seen);
    };
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      note(s);
      io.onStdout(s);
    });
    child.stderr!.on('data', (d: Buffer) => {
      const s = d.toString();
      note(s);
      io.onStderr(s);
    });
    const onAbort = () => {
      if (!child.pid) return;
      signalTree(child.pid, 'SIGTERM');
      const pid = child.pid;
      setTimeout(() => signalTree(pid, 'SIGKILL'), 5000).unref();
    };
    io.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      io.signal?.removeEventListener('abort', onAbort);
      reject(new StackError(`Could not run spark-submit (${submit}): ${err.message}`, { nextStep: 'Provision the native stack again: npm run stack -- provision.' }));
    });
    child.on('close', (code, sig) => {
      io.signal?.removeEventListener('abort', onAbort);
      if (io.signal?.aborted) return reject(abortError());
      resolve({ exitCode: code ?? (sig ? 130 : 1), appId });
    });
  });
}
