#!/usr/bin/env node
// `npm run test:fresh`: the README's commands as a new user gets them. Clones HEAD into a temporary
// folder, points DATAPIPELINE_CACHE at an empty folder (the package managers' own download caches,
// ~/.npm, ~/.cache/pip, ~/.m2 and Docker's image layers, stay warm, so this takes minutes), runs every
// install step through `npm test`'s own entry, then one quick test of each stage.
//
//   npm run test:fresh                  setup from empty + one quick test per stage
//   npm run test:fresh -- --setup-only  setup from empty + build only (what .ci/run does)
//   npm run test:fresh -- --keep        keep the clone and its cache afterwards
//
// Uncommitted changes are not part of HEAD: commit first. The clone's native stack runs on ports
// shifted by DP_STACK_PORT_OFFSET (default 300 here), so a stack already running is not disturbed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, root, seconds } from './lib/setup.mjs';

const argv = process.argv.slice(2);
const setupOnly = argv.includes('--setup-only');
const keep = argv.includes('--keep');
const unknown = argv.filter((a) => !['--setup-only', '--keep'].includes(a));
if (unknown.length) {
  console.error(`unknown option ${unknown.join(' ')}; use --setup-only and/or --keep`);
  process.exit(2);
}

const t0 = Date.now();
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim();
if (dirty) console.log('fresh check: uncommitted changes are not included (it clones HEAD):\n' + dirty.split('\n').map((l) => `  ${l}`).join('\n'));
const top = fs.mkdtempSync(path.join(process.env.DP_FRESH_DIR || os.tmpdir(), 'dp-fresh-'));
const clone = path.join(top, 'datapipeline');
const cache = path.join(top, 'cache');
fs.mkdirSync(cache);
const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
console.log(`fresh check of ${head}: clone ${clone}, empty DATAPIPELINE_CACHE ${cache}`);
let r = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', root, clone], { stdio: 'inherit' });
if (r.status !== 0) process.exit(1);
// the clone sits beside a shared/ folder as the checkout does (CI's layout)
const shared = path.join(root, '..', 'shared');
if (fs.existsSync(shared)) fs.symlinkSync(shared, path.join(top, 'shared'));

const env = cleanEnv(process.env, {
  DATAPIPELINE_CACHE: cache,
  DP_STACK_PORT_OFFSET: process.env.DP_STACK_PORT_OFFSET ?? '300',
  ...(setupOnly ? { DP_SETUP_ONLY: '1' } : { DP_QUICK: '1' }),
});
delete env.DATAPIPELINE_STATE; // state follows the empty cache
delete env.DP_SKIP_SETUP;
// exactly as the README says: npm test, through npm
r = spawnSync('npm', ['test'], { cwd: clone, env, stdio: 'inherit' });
const ok = r.status === 0;

// stop what the clone's quick tests may have left running (its own state folder only)
spawnSync('npm', ['run', '--silent', 'stack', '--', 'down'], { cwd: clone, env, stdio: 'ignore' });
const du = spawnSync('du', ['-sh', cache], { encoding: 'utf8' }).stdout.split('\t')[0];
if (!keep) fs.rmSync(top, { recursive: true, force: true });
console.log(`\nfresh check ${ok ? 'passed' : 'FAILED'} in ${seconds(Date.now() - t0)} (${setupOnly ? 'setup and build' : 'setup, build and one quick test per stage'}; the empty cache grew to ${du})${keep ? `; kept ${top}` : ''}`);
process.exit(ok ? 0 : 1);
