#!/usr/bin/env node
// `npm test`: installs what it needs (idempotent, cached, quiet when done), builds, checks, then
// runs every test stage and ends with one line "N passed, N failed".
// DP_STAGES=unit,integration limits the stages (and installs only what they need); DP_SKIP_SETUP=1
// skips the install steps; DP_SETUP_ONLY=1 stops after setup and build; DP_QUICK=1 runs one quick
// test of each stage (the fresh check, scripts/fresh.mjs, uses the last two).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bin, ensureNodeModules, must as mustOrExit, root, run, seconds, setup } from './lib/setup.mjs';

process.chdir(root);
const results = path.join(root, 'test-results');
fs.mkdirSync(results, { recursive: true });
const started = Date.now();
// A failed install or build step still ends with the closing line CI reads.
const failLine = () => console.log('\n0 passed, 1 failed');
const must = (label, cmd, args, env) => mustOrExit(label, cmd, args, env, failLine);

// 1. Dependencies and installs.
ensureNodeModules(failLine);
const STAGES = ['unit', 'integration', 'docker', 'exthost', 'e2e'];
const stages = (process.env.DP_STAGES || STAGES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const has = (s) => stages.includes(s);
const unknown = stages.filter((s) => !STAGES.includes(s));
if (unknown.length) {
  console.error(`DP_STAGES: unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`);
  process.exit(2);
}
if (process.env.DP_SKIP_SETUP !== '1') {
  await setup(
    {
      aptPackages: has('exthost') || has('e2e') ? ['chromium'] : [], // the headless client of code-server
      codeServer: has('exthost') || has('e2e'),
      nativeStack: has('integration') || has('e2e'),
      airflow3: has('integration'),
      testClients: has('integration'),
      docker: has('docker') || has('e2e'), // test/e2e/stack.test.ts drives a real dockerd too
    },
    failLine,
  );
}

// 2. Build and static checks.
must('build + package', 'npm', ['run', '--silent', 'package']);
if (process.env.DP_SETUP_ONLY === '1') {
  console.log(`\nsetup and build done in ${seconds(Date.now() - started)} (DP_SETUP_ONLY=1: no tests run)`);
  process.exit(0);
}
const checks = [
  run('typecheck', bin('tsc'), ['--noEmit', '-p', '.']),
  run('lint', bin('eslint'), ['--no-error-on-unmatched-pattern', 'src', 'test', 'media', 'bench', 'scripts']),
];

// 3. Test stages: each writes its counts to test-results/<stage>.json.
// DP_QUICK=1: one quick test per stage, enough to prove that what setup installed runs. A title
// that no longer matches makes the stage report 0 passed, which fails the run.
const quick = process.env.DP_QUICK === '1';
const QUICK = {
  integration: { files: ['test/integration/kafka.test.ts'], grep: 'creates a topic with configs' },
  docker: { files: ['test/docker/dockerBackend.test.ts'], grep: 'starts every service, reporting each' },
  e2e: { files: ['test/e2e/foundation.test.ts'], grep: 'shows its four views' },
};
const mocha = (stage, globs, extra = []) => {
  const file = path.join(results, `${stage}.json`);
  fs.rmSync(file, { force: true });
  const q = quick ? QUICK[stage] : undefined;
  const args = ['--require', 'tsx/cjs', ...extra, '--reporter', path.join(root, 'scripts/mocha-reporter.cjs'), ...(q ? ['--grep', q.grep, ...q.files] : globs)];
  const ok = run(`tests: ${stage}${q ? ' (quick)' : ''}`, bin('mocha'), args, { DP_RESULTS_FILE: file });
  return { stage, file, ok };
};
const ran = [];
if (has('unit')) ran.push(mocha('unit', ['test/unit/**/*.test.ts'], ['--timeout', '20000']));
if (has('integration')) ran.push(mocha('integration', ['test/integration/**/*.test.ts'], ['--require', 'test/integration/harness.ts', '--timeout', '900000']));
if (has('docker')) ran.push(mocha('docker', ['test/docker/**/*.test.ts'], ['--timeout', '300000']));
if (has('exthost')) {
  const file = path.join(results, 'exthost.json');
  fs.rmSync(file, { force: true });
  ran.push({ stage: 'exthost', file, ok: run('tests: exthost (code-server extension host)', bin('tsx'), ['test/exthost/run.ts']) });
}
if (has('e2e')) ran.push(mocha('e2e', ['test/e2e/**/*.test.ts'], ['--require', 'test/integration/harness.ts', '--timeout', '600000']));

// 4. Summary.
let passed = 0;
let failed = checks.filter((c) => !c).length;
console.log('\n=== summary');
const failures = [];
for (const r of ran) {
  let counts = { passes: 0, failures: 0 };
  try {
    counts = JSON.parse(fs.readFileSync(r.file, 'utf8'));
  } catch {
    counts = { passes: 0, failures: 1 }; // the stage died before reporting
  }
  if (!r.ok && counts.failures === 0) counts.failures = 1;
  // a stage that ran no test at all proves nothing (a grep or glob that matches nothing)
  if (counts.passes === 0 && counts.failures === 0) counts.failures = 1;
  passed += counts.passes;
  failed += counts.failures;
  console.log(`${r.stage.padEnd(12)} ${String(counts.passes).padStart(4)} passed ${String(counts.failures).padStart(4)} failed`);
  failures.push(...(counts.failed ?? []).map((f) => ({ stage: r.stage, ...f })));
}
// Which tests failed, at the end where a CI log's tail shows them (the stage's own output may be cut).
for (const f of failures) {
  console.log(`\nFAILED ${f.stage}: ${f.title}`);
  console.log(String(f.error ?? '').split('\n').slice(0, 8).map((l) => `    ${l}`).join('\n'));
}
if (checks.some((c) => !c)) console.log('typecheck/lint failed (counted as failures)');
console.log(`total time ${((Date.now() - started) / 60000).toFixed(1)} min`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
