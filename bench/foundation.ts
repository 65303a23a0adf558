/**
 * Foundation benchmarks: packaged .vsix size, activation shell and features bundle sizes, and DataPipeline's
 * activation time against a hello-world extension, both activated in the same code-server
 * extension host in the same run (alternating order, extension host restarted between rounds;
 * medians). Goal: activation ratio <= 1.5.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchResults } from '../test/exthost-runner/src/runner';
import { runInCodeServer } from '../test/exthost/run';
import { type BenchEntry, entry, median } from './lib';

const repoRoot = path.resolve(__dirname, '..');
const DATAPIPELINE_ID = 'datapipeline.datapipeline';
const HELLO_ID = 'datapipeline-test.hello-extension';

export async function runFoundationBench(rounds = Number(process.env.DATAPIPELINE_BENCH_ROUNDS ?? '7')): Promise<BenchEntry[]> {
  // Measure what users get: the production build, packaged.
  const pkg = spawnSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, encoding: 'utf8' });
  if (pkg.status !== 0) throw new Error(`npm run package failed:\n${pkg.stdout}\n${pkg.stderr}`);
  const vsix = fs.statSync(path.join(repoRoot, 'datapipeline.vsix')).size;
  const bundle = fs.statSync(path.join(repoRoot, 'dist', 'extension.js')).size;
  const features = fs.statSync(path.join(repoRoot, 'dist', 'main.js')).size;

  const { results } = await runInCodeServer<BenchResults>({ mode: 'bench', rounds, timeoutMs: 120_000 + rounds * 60_000 });
  const dp = results.rounds.map((r) => r.activationMs[DATAPIPELINE_ID]);
  const hello = results.rounds.map((r) => r.activationMs[HELLO_ID]);
  const firstUse = results.rounds.map((r) => r.firstUseMs ?? Number.NaN);
  const dpMedian = median(dp);
  const helloMedian = median(hello);
  console.log(`  activation ms per round: datapipeline [${dp.map((v) => v.toFixed(1)).join(', ')}], hello [${hello.map((v) => v.toFixed(1)).join(', ')}]`);
  return [
    entry('vsix size', vsix, 'bytes'),
    entry('activation shell size (dist/extension.js)', bundle, 'bytes'),
    entry('features bundle size, loaded on first use (dist/main.js)', features, 'bytes'),
    entry(`activation time vs hello-world (median of ${dp.length})`, dpMedian, 'ms', helloMedian),
    entry(`first command after activation, loading the features (median of ${firstUse.length})`, median(firstUse), 'ms'),
  ];
}
