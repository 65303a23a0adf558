/** A process of the native stack's Airflow (Run Task, Test DAG) streamed, and stopped with its children on abort. */
import { spawn } from 'node:child_process';
import type { AirflowRunIO } from '../types';

/** Spawns argv in its own process group; abort sends SIGTERM to the group, SIGKILL after `killAfterMs`. Resolves with the exit code (128 + signal when killed). */
export function spawnStreaming(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; killAfterMs?: number }, io: AirflowRunIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (c: string) => io.onStdout(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => io.onStderr(c));
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* gone */
      }
    };
    const onAbort = () => {
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), opts.killAfterMs ?? 5000);
    };
    if (io.signal?.aborted) onAbort();
    else io.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      io.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('close', (code, sig) => {
      io.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // what the task started (a spark-submit) goes with it
      if (io.signal?.aborted) signalGroup('SIGKILL');
      resolve(code ?? 128 + (sig ? (({ SIGTERM: 15, SIGKILL: 9, SIGINT: 2 }) as Record<string, number>)[sig] ?? 1 : 1));
    });
  });
}
