/**
 * Runs compiled extension-host suites with mocha inside whatever extension host loads this
 * module (code-server's through the runner extension, desktop VS Code through
 * @vscode/test-electron) and collects an {@link ExthostResults}. Bundled, so it must not
 * import `vscode` itself; the suites do.
 */
import Mocha from 'mocha';
import * as path from 'node:path';
import type { ExthostResults, ExthostTestResult } from './results';

export interface RunSuitesOptions {
  /** Only tests whose full title matches (mocha --grep). */
  grep?: string;
  /** Per-test timeout in ms (default 30 s: activation and real services are slow on 2 cores). */
  timeoutMs?: number;
  /** Progress lines (default console.log, which lands in the extension-host log). */
  log?: (line: string) => void;
}

export async function runSuites(files: string[], options: RunSuitesOptions = {}): Promise<ExthostResults> {
  const log = options.log ?? ((line: string) => console.log(line));
  const mocha = new Mocha({ ui: 'bdd', timeout: options.timeoutMs ?? 30_000, color: false, reporter: NullReporter });
  if (options.grep) mocha.grep(options.grep);
  for (const f of files) mocha.addFile(f);

  const tests: ExthostTestResult[] = [];
  const start = new Date();
  let suites = 0;
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('suite', (s: Mocha.Suite) => {
      if (!s.root) suites++;
    });
    runner.on('pass', (t: Mocha.Test) => {
      tests.push(toResult(t, 'passed'));
      log(`  ✔ ${t.fullTitle()} (${t.duration ?? 0} ms)`);
    });
    runner.on('pending', (t: Mocha.Test) => {
      tests.push(toResult(t, 'pending'));
      log(`  - ${t.fullTitle()}`);
    });
    runner.on('fail', (t: Mocha.Test, err: Error) => {
      // Hook failures ("before all" hook) arrive here too; they count as a failed test.
      tests.push({ ...toResult(t, 'failed'), error: { message: String(err?.message ?? err), stack: err?.stack } });
      log(`  ✘ ${t.fullTitle()}: ${err?.message ?? err}`);
    });
  });
  const end = new Date();
  const count = (state: ExthostTestResult['state']) => tests.filter((t) => t.state === state).length;
  const stats = {
    suites,
    tests: tests.length,
    passes: count('passed'),
    pending: count('pending'),
    failures: count('failed'),
    start: start.toISOString(),
    end: end.toISOString(),
    duration: end.getTime() - start.getTime(),
  };
  return { stats, passes: stats.passes, failures: stats.failures, pending: stats.pending, tests };
}

function toResult(t: Mocha.Runnable, state: ExthostTestResult['state']): ExthostTestResult {
  return {
    title: t.title,
    fullTitle: t.fullTitle(),
    file: t.file ? path.basename(t.file) : undefined,
    state,
    durationMs: t.duration ?? 0,
  };
}

/** Mocha needs a reporter; ours listens to the runner directly. */
class NullReporter extends Mocha.reporters.Base {}
