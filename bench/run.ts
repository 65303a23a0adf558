/**
 * `npm run bench`: runs every known benchmark module, prints a table and writes
 * bench/results.json (a list of BenchEntry). A module that is missing is skipped with a note;
 * one that throws is reported and the others still run (exit code 1 at the end).
 *
 * Adding a benchmark = one line in BENCHES: [module file, exported function name].
 *   npm run bench [-- <name-filter>]      e.g. npm run bench -- foundation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BenchEntry, printTable, resultsFile, writeResults } from './lib';

const BENCHES: Array<[file: string, fn: string]> = [
  ['foundation.ts', 'runFoundationBench'],
  ['native.ts', 'runNativeBench'],
  ['kafka.ts', 'runKafkaBench'],
  ['spark.ts', 'runSparkBench'],
  ['airflow.ts', 'runAirflowBench'],
  ['runView.ts', 'runRunViewBenchAndRelease'],
  ['lineage.ts', 'runLineageBench'],
  ['project.ts', 'runProjectBench'],
  ['projectDocker.ts', 'runProjectDockerBench'],
  ['docker.ts', 'runDockerBench'],
  ['dockerStack.ts', 'runDockerStackBench'],
];

type BenchFn = () => Promise<BenchEntry[]> | BenchEntry[];

async function main(): Promise<void> {
  const filter = process.argv[2];
  const all: BenchEntry[] = [];
  let failed = 0;
  for (const [file, fn] of BENCHES) {
    if (filter && !file.includes(filter) && !fn.toLowerCase().includes(filter.toLowerCase())) continue;
    const modulePath = path.join(__dirname, file);
    if (!fs.existsSync(modulePath)) {
      console.log(`bench: ${file} not present, skipped`);
      continue;
    }
    const mod = (await import(modulePath)) as Record<string, unknown>;
    const run = (mod[fn] ?? (mod.default as Record<string, unknown> | undefined)?.[fn]) as BenchFn | undefined;
    if (typeof run !== 'function') {
      console.error(`bench: ${file} does not export ${fn}()`);
      failed++;
      continue;
    }
    const t0 = Date.now();
    console.log(`bench: ${fn} ...`);
    try {
      const entries = await run();
      all.push(...entries);
      console.log(`bench: ${fn} done in ${((Date.now() - t0) / 1000).toFixed(1)} s (${entries.length} entries)`);
    } catch (e) {
      failed++;
      console.error(`bench: ${fn} failed: ${e instanceof Error ? e.stack ?? e.message : e}`);
    }
  }
  console.log('');
  printTable(all);
  // A filtered run must not wipe the others' entries.
  if (filter) {
    const { appendResults } = await import('./lib');
    appendResults(all);
  } else {
    writeResults(all);
  }
  console.log(`\nwrote ${path.relative(process.cwd(), resultsFile)}`);
  if (failed) process.exitCode = 1;
}

void main();
