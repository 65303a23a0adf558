/**
 * Wait `ms`; rejects with the signal's reason as soon as it aborts (so a vscode.CancellationError
 * given to abort() stays one, and VS Code shows no error for a cancel). The native backend's
 * `sleep` (stack/native/processes.ts) rejects with its own AbortError instead, which its callers test.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
