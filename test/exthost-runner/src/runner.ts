/**
 * Test-only extension. When code-server's extension host starts with DATAPIPELINE_EXTHOST_RESULTS
 * set, it either runs the bundled mocha suites (dist/suites/*.test.js) or, with
 * DATAPIPELINE_EXTHOST_MODE=bench, times the activation of DataPipeline against a hello-world
 * extension, once per extension host (the driver reloads the window between rounds). Results go to the results file;
 * the driver (test/exthost/run.ts) waits for it. Without the env var it does nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { runSuites } from '../../exthost/mochaRunner';
import type { ExthostResults } from '../../exthost/results';

export const DATAPIPELINE_ID = 'datapipeline.datapipeline';
export const HELLO_ID = 'datapipeline-test.hello-extension';

export interface BenchRound {
  order: string[];
  /** Milliseconds from activate() call to resolution, by extension id. */
  activationMs: Record<string, number>;
  /** DataPipeline's first command after activation (it loads the features bundle), in ms. */
  firstUseMs?: number;
}
export interface BenchResults {
  done: boolean;
  rounds: BenchRound[];
  error?: string;
}

export function activate(context: vscode.ExtensionContext): void {
  const resultsFile = process.env.DATAPIPELINE_EXTHOST_RESULTS;
  if (!resultsFile) return;
  const mode = process.env.DATAPIPELINE_EXTHOST_MODE ?? 'test';
  const work = mode === 'bench' ? runBench(resultsFile) : runTests(context, resultsFile);
  work.catch((e: unknown) => {
    const message = e instanceof Error ? e.stack ?? e.message : String(e);
    console.error(`[exthost-runner] ${message}`);
    writeAtomic(resultsFile, JSON.stringify({ done: true, error: message, rounds: [], stats: null }));
  });
}

async function runTests(context: vscode.ExtensionContext, resultsFile: string): Promise<void> {
  const suitesDir = path.join(context.extensionPath, 'dist', 'suites');
  const files = fs
    .readdirSync(suitesDir)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(suitesDir, f));
  const results: ExthostResults = await runSuites(files, {
    grep: process.env.DATAPIPELINE_EXTHOST_GREP || undefined,
    log: (line) => console.log(`[exthost-runner] ${line}`),
  });
  results.host = `code-server (VS Code ${vscode.version})`;
  writeAtomic(resultsFile, JSON.stringify(results, null, 2));
}

async function runBench(resultsFile: string): Promise<void> {
  const rounds = Number(process.env.DATAPIPELINE_EXTHOST_BENCH_ROUNDS ?? '5');
  const state: BenchResults = fs.existsSync(resultsFile)
    ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as BenchResults)
    : { done: false, rounds: [] };
  // fixed wait: let the freshly started host settle (other startup activations) before timing.
  await new Promise((r) => setTimeout(r, 1500));
  // Alternate which extension goes first so neither always pays for a cold disk cache.
  const order = state.rounds.length % 2 === 0 ? [DATAPIPELINE_ID, HELLO_ID] : [HELLO_ID, DATAPIPELINE_ID];
  const activationMs: Record<string, number> = {};
  for (const id of order) {
    const ext = vscode.extensions.getExtension(id);
    if (!ext) throw new Error(`Extension ${id} is not installed in this code-server profile.`);
    if (ext.isActive) throw new Error(`Extension ${id} was already active before timing; its activation events fired at startup.`);
    const t0 = performance.now();
    await ext.activate();
    activationMs[id] = performance.now() - t0;
  }
  // The features load on first use: time the first command (Show Log) to report what activation deferred.
  const t1 = performance.now();
  await vscode.commands.executeCommand('datapipeline.showLog');
  const firstUseMs = performance.now() - t1;
  state.rounds.push({ order, activationMs, firstUseMs });
  state.done = state.rounds.length >= rounds;
  // The driver reloads the browser window for the next round: code-server then starts a fresh
  // extension host (its restartExtensionHost command is not available to extensions).
  writeAtomic(resultsFile, JSON.stringify(state, null, 2));
}

/** The driver polls the file; never let it read a half-written one. */
function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

export function deactivate(): void {}
