/**
 * Builds the extension-host test artefacts:
 *  - test/exthost-runner/dist/runner.js        the runner extension (mocha bundled in)
 *  - test/exthost-runner/dist/suites/*.test.js every test/exthost/**\/*.test.ts, one bundle each
 *  - test/exthost-runner/dist/desktopIndex.js  the @vscode/test-electron entry (desktop)
 *  - out/exthost/exthost-runner.vsix and out/exthost/hello-extension.vsix (vsce)
 * Run directly (`tsx test/exthost-runner/build.ts`) or through buildExthostArtifacts().
 */
import { spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const runnerDir = path.join(repoRoot, 'test', 'exthost-runner');
export const helloDir = path.join(repoRoot, 'test', 'fixtures', 'hello-extension');
export const outDir = path.join(repoRoot, 'out', 'exthost');

export interface ExthostArtifacts {
  runnerVsix: string;
  helloVsix: string;
  /** Folder holding desktopIndex.js and suites/ (for @vscode/test-electron). */
  distDir: string;
  suites: string[];
}

/** Every extension-host suite, relative to the repo root, sorted. */
export function findSuites(dir = path.join(repoRoot, 'test', 'exthost')): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findSuites(p));
    else if (entry.name.endsWith('.test.ts')) found.push(p);
  }
  return found.sort();
}

export async function buildExthostArtifacts(): Promise<ExthostArtifacts> {
  const distDir = path.join(runnerDir, 'dist');
  fs.rmSync(distDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'error',
    // mocha's parallel mode is never used; its worker files are resolved lazily.
    external: ['vscode', './reporters/parallel-buffered', './worker.js'],
    absWorkingDir: repoRoot,
  };
  const suites = findSuites();
  if (suites.length === 0) throw new Error('No test/exthost/**/*.test.ts suites found.');
  // Suite bundles are named after their path below test/exthost (a/b.test.ts -> a-b.test.js).
  const suiteEntries = Object.fromEntries(
    suites.map((s) => [path.relative(path.join(repoRoot, 'test', 'exthost'), s).replace(/\.ts$/, '').split(path.sep).join('-'), s]),
  );
  await Promise.all([
    esbuild.build({ ...common, entryPoints: { runner: path.join(runnerDir, 'src', 'runner.ts') }, outdir: distDir }),
    esbuild.build({ ...common, entryPoints: { desktopIndex: path.join(repoRoot, 'test', 'exthost', 'desktopIndex.ts') }, outdir: distDir }),
    esbuild.build({ ...common, entryPoints: suiteEntries, outdir: path.join(distDir, 'suites') }),
  ]);
  const runnerVsix = path.join(outDir, 'exthost-runner.vsix');
  const helloVsix = path.join(outDir, 'hello-extension.vsix');
  vscePackage(runnerDir, runnerVsix);
  vscePackage(helloDir, helloVsix);
  return { runnerVsix, helloVsix, distDir, suites };
}

function vscePackage(extensionDir: string, outFile: string): void {
  const vsce = path.join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(
    process.execPath,
    [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', outFile],
    { cwd: extensionDir, encoding: 'utf8' },
  );
  if (r.status !== 0) {
    throw new Error(`vsce package failed in ${extensionDir} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

if (require.main === module) {
  buildExthostArtifacts().then(
    (a) => console.log(`built ${path.relative(repoRoot, a.runnerVsix)} (${a.suites.length} suites), ${path.relative(repoRoot, a.helloVsix)}`),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
