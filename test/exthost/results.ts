/**
 * The results file an extension-host test run writes (and `test-results/exthost.json`).
 * Shared by the runner extension, the desktop entry and the code-server driver.
 * `stats` has the same fields as mocha's JSON reporter; `passes`/`failures`/`pending` are counts.
 */
export interface ExthostTestResult {
  title: string;
  fullTitle: string;
  file?: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: { message: string; stack?: string };
}

export interface ExthostResults {
  stats: {
    suites: number;
    tests: number;
    passes: number;
    pending: number;
    failures: number;
    start: string;
    end: string;
    duration: number;
  };
  passes: number;
  failures: number;
  pending: number;
  tests: ExthostTestResult[];
  /** Where the suites ran: `code-server <version>` or `vscode-desktop <version>`. */
  host?: string;
}
