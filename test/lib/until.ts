/**
 * The one wait of the test suites and benchmarks: asks `fn` every `intervalMs` until it answers
 * something (not undefined, null or false) and returns that answer; after `timeoutMs` it fails
 * naming `what` (and whatever `detail` adds, e.g. log tails). Wait on a condition, never a fixed sleep.
 */
export interface UntilOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** errors thrown by `fn` count as "not yet" (a service still starting) instead of failing the wait */
  ignoreErrors?: boolean;
  /** appended to the timeout error */
  detail?: () => string;
}

export async function until<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: number | UntilOptions = {},
): Promise<T> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      if (!o.ignoreErrors) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${why}${o.detail ? `\n${o.detail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 250));
  }
}
