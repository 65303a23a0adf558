/**
 * Runs the extension-host suites (test/exthost/**\/*.test.ts) inside code-server's extension host:
 * builds the runner extension (suites bundled in), installs it next to datapipeline.vsix into a
 * throwaway profile, starts code-server on a free 127.0.0.1 port, connects headless Chromium
 * (the extension host only starts once a client connects), waits for the runner's results file,
 * prints a report and writes test-results/exthost.json. Exit code 1 on any failure.
 *
 *   npm run test:exthost [-- --grep <pattern>] [--keep]
 *
 * runInCodeServer() is exported for the benchmarks (mode 'bench').
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildExthostArtifacts } from '../exthost-runner/build';
import {
  createProfile,
  datapipelineVsix,
  ensureCodeServer,
  folderUrl,
  installExtensions,
  launchChromium,
  readExthostLog,
  repoRoot,
  resultsDir,
  sleep,
  startCodeServer,
} from '../e2e/lib/codeServer';
import type { ExthostResults } from './results';

export interface RunInCodeServerOptions {
  mode: 'test' | 'bench';
  grep?: string;
  /** Bench rounds (extension-host restarts); default 5. */
  rounds?: number;
  timeoutMs?: number;
  /** Keep the temp profile and logs. */
  keep?: boolean;
}

export interface RunInCodeServerResult<T> {
  results: T;
  /** The extension-host log, for diagnostics. */
  exthostLog: string;
  durationMs: number;
}

export async function runInCodeServer<T = ExthostResults>(o: RunInCodeServerOptions): Promise<RunInCodeServerResult<T>> {
  const t0 = Date.now();
  const codeServer = ensureCodeServer();
  if (!fs.existsSync(datapipelineVsix)) throw new Error(`${datapipelineVsix} is missing; run \`npm run package\` first.`);
  const artifacts = await buildExthostArtifacts();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-exthost-'));
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(workspace);
  // a hostile repository's settings: a workspace must not choose the program the extension runs
  // (test/exthost/hostileWorkspace.test.ts checks that this never ran)
  const hostileMarker = path.join(dir, 'hostile-compose-ran');
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(
    path.join(workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'datapipeline.docker.composeCommand': `node -e require('fs').writeFileSync('${hostileMarker}','ran')` }, null, 2),
  );
  const resultsFile = path.join(dir, 'results.json');
  const profile = createProfile(dir);
  installExtensions(codeServer, profile, [datapipelineVsix, artifacts.runnerVsix, artifacts.helloVsix]);
  const server = await startCodeServer({
    codeServer,
    profile,
    workspace,
    logFile: path.join(dir, 'code-server.log'),
    env: {
      DATAPIPELINE_EXTHOST_RESULTS: resultsFile,
      DATAPIPELINE_EXTHOST_MODE: o.mode,
      DATAPIPELINE_EXTHOST_GREP: o.grep ?? '',
      DATAPIPELINE_EXTHOST_BENCH_ROUNDS: String(o.rounds ?? 5),
      DATAPIPELINE_EXTHOST_HOSTILE_MARKER: hostileMarker,
    },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(folderUrl(server.url, workspace));
    const timeoutMs = o.timeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    let roundsSeen = 0;
    for (;;) {
      if (fs.existsSync(resultsFile)) {
        const parsed = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { done?: boolean; error?: string; rounds?: unknown[] };
        if (parsed.error) throw new Error(`The runner extension failed: ${parsed.error}`);
        if (o.mode === 'test' || parsed.done) {
          return { results: parsed as T, exthostLog: readExthostLog(profile.userDataDir), durationMs: Date.now() - t0 };
        }
        // Bench: a round was recorded; a window reload gives the next round a fresh extension host.
        const rounds = parsed.rounds?.length ?? 0;
        if (rounds > roundsSeen) {
          roundsSeen = rounds;
          await page.reload();
        }
      }
      if (Date.now() > deadline) {
        const log = readExthostLog(profile.userDataDir);
        throw new Error(
          `No results from the extension host within ${timeoutMs / 1000} s. Extension-host log (tail):\n${log.split('\n').slice(-40).join('\n')}`,
        );
      }
      await sleep(500); // poll interval of a bounded wait
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    if (!(o.keep || process.env.DATAPIPELINE_E2E_KEEP === '1')) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

/** Spec-like report of a results object. */
export function formatReport(r: ExthostResults): string {
  const lines: string[] = [''];
  let lastSuite = '';
  for (const t of r.tests) {
    const suite = t.fullTitle.slice(0, t.fullTitle.length - t.title.length).trim();
    if (suite !== lastSuite) {
      lines.push(`  ${suite}`);
      lastSuite = suite;
    }
    const mark = t.state === 'passed' ? '✔' : t.state === 'pending' ? '-' : '✘';
    lines.push(`    ${mark} ${t.title}${t.state === 'passed' ? ` (${t.durationMs} ms)` : ''}`);
  }
  lines.push('', `  ${r.passes} passing, ${r.failures} failing${r.pending ? `, ${r.pending} pending` : ''} (${r.host ?? 'code-server'})`);
  r.tests
    .filter((t) => t.state === 'failed')
    .forEach((t, i) => lines.push('', `  ${i + 1}) ${t.fullTitle}`, `     ${(t.error?.stack ?? t.error?.message ?? '').split('\n').join('\n     ')}`));
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const grepAt = argv.indexOf('--grep');
  const grep = grepAt >= 0 ? argv[grepAt + 1] : undefined;
  const out = path.join(resultsDir, 'exthost.json');
  fs.mkdirSync(resultsDir, { recursive: true });
  let results: ExthostResults;
  try {
    const r = await runInCodeServer<ExthostResults>({ mode: 'test', grep, keep: argv.includes('--keep') });
    results = r.results;
    console.log(formatReport(results));
    console.log(`\n  extension-host run took ${(r.durationMs / 1000).toFixed(1)} s`);
  } catch (e) {
    // A run that could not start is one failed test, so npm test's tally shows it.
    const message = e instanceof Error ? e.message : String(e);
    const now = new Date().toISOString();
    results = {
      stats: { suites: 0, tests: 1, passes: 0, pending: 0, failures: 1, start: now, end: now, duration: 0 },
      passes: 0,
      failures: 1,
      pending: 0,
      tests: [{ title: 'extension-host run', fullTitle: 'extension-host run', state: 'failed', durationMs: 0, error: { message } }],
    };
    console.error(`extension-host run failed: ${message}`);
  }
  fs.writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`  results: ${path.relative(repoRoot, out)}`);
  process.exitCode = results.failures > 0 ? 1 : 0;
}

if (require.main === module) void main();
