/**
 * Benchmark entries and the results file. Every bench module exports `run<Name>Bench()`
 * returning `BenchEntry[]` (bench/run.ts collects them); modules may also call
 * appendResults() themselves when run on their own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface BenchEntry {
  /** What was measured, e.g. "vsix size" or "activation time (median of 5)". */
  name: string;
  value: number;
  /** "bytes", "ms", "msg/s", ... */
  unit: string;
  /** The comparison point (goal, or the same measure of a reference), null when there is none. */
  baseline: number | null;
  /** value / baseline, null without a baseline. */
  ratio: number | null;
}

export const resultsFile = path.join(__dirname, 'results.json');

/** Builds an entry, computing the ratio (rounded to 3 decimals). */
export function entry(name: string, value: number, unit: string, baseline: number | null = null): BenchEntry {
  const ratio = baseline ? Math.round((value / baseline) * 1000) / 1000 : null;
  return { name, value: round(value), unit, baseline: baseline === null ? null : round(baseline), ratio };
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Reads the current results list ([] when there is none). */
export function readResults(file = resultsFile): BenchEntry[] {
  if (!fs.existsSync(file)) return [];
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Array.isArray(parsed) ? (parsed as BenchEntry[]) : [];
}

/** Appends entries, replacing earlier entries with the same name (latest run wins). */
export function appendResults(entries: BenchEntry[], file = resultsFile): void {
  const names = new Set(entries.map((e) => e.name));
  const kept = readResults(file).filter((e) => !names.has(e.name));
  fs.writeFileSync(file, JSON.stringify([...kept, ...entries], null, 2) + '\n');
}

/** Writes exactly these entries (bench/run.ts: a full run replaces the file). */
export function writeResults(entries: BenchEntry[], file = resultsFile): void {
  fs.writeFileSync(file, JSON.stringify(entries, null, 2) + '\n');
}

/** A fixed-width table of entries. */
export function formatTable(entries: BenchEntry[]): string {
  const rows = [
    ['name', 'value', 'unit', 'baseline', 'ratio'],
    ...entries.map((e) => [e.name, fmt(e.value), e.unit, e.baseline === null ? '-' : fmt(e.baseline), e.ratio === null ? '-' : e.ratio.toFixed(2)]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function printTable(entries: BenchEntry[]): void {
  console.log(formatTable(entries));
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(v);
}

/**
 * Runs one bench module on its own (`tsx bench/<name>.ts`): prints its table, appends its entries
 * to the results file, then runs `cleanup` (release a shared stack, stop a daemon) either way.
 */
export function runStandalone(run: () => Promise<BenchEntry[]>, cleanup: () => unknown = () => undefined): void {
  run()
    .then((entries) => {
      printTable(entries);
      appendResults(entries);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(cleanup);
}
