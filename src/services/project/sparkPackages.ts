/**
 * The Maven packages a project's DAGs give spark-submit (`packages="g:a:v,…"` of a
 * SparkSubmitOperator, or `"--packages", "…"` in an argv), read from the DAG files as text: the
 * Docker stack resolves them once, when the project's image is built (where the registries are
 * reachable), so a submit downloads nothing. Pure apart from reading the folder; no `vscode`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const COORDINATE = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+$/;
/** packages="…" / packages='…' (keyword argument), and "--packages", "…" (an argv list) */
const PATTERNS = [/\bpackages\s*=\s*(["'])([^"'\n]+)\1/g, /["']--packages["']\s*,\s*(["'])([^"'\n]+)\1/g];
const MAX_FILE_BYTES = 1024 * 1024;

/** Coordinates in one file's text, in order of appearance. */
export function sparkPackagesIn(text: string): string[] {
  const out: string[] = [];
  for (const re of PATTERNS) {
    for (const m of text.matchAll(re)) {
      for (const c of m[2].split(',').map((x) => x.trim())) if (COORDINATE.test(c)) out.push(c);
    }
  }
  return out;
}

/** Every coordinate the folder's Python files name (sorted, each once; files over 1 MB and hidden folders skipped). */
export function findSparkPackages(dir: string | undefined): string[] {
  const found = new Set<string>();
  const walk = (d: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === '__pycache__') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 6) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.py')) {
        try {
          if (fs.statSync(p).size > MAX_FILE_BYTES) continue;
          for (const c of sparkPackagesIn(fs.readFileSync(p, 'utf8'))) found.add(c);
        } catch {
          // unreadable: its packages resolve at submit, as before
        }
      }
    }
  };
  if (dir) walk(dir, 0);
  return [...found].sort();
}
