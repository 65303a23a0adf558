/**
 * `extensionTestsPath` entry for @vscode/test-electron (desktop VS Code): runs the same bundled
 * suites the code-server runner runs, prints a report and fails the run on test failures.
 * Built by test/exthost-runner/build.ts to test/exthost-runner/dist/desktopIndex.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runSuites } from './mochaRunner';

export async function run(): Promise<void> {
  const suitesDir = path.join(__dirname, 'suites');
  const files = fs.readdirSync(suitesDir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(suitesDir, f));
  const results = await runSuites(files, { grep: process.env.DATAPIPELINE_EXTHOST_GREP });
  results.host = 'vscode-desktop';
  const out = process.env.DATAPIPELINE_EXTHOST_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`${results.passes} passing, ${results.failures} failing`);
  if (results.failures > 0) throw new Error(`${results.failures} extension-host test(s) failed`);
}
