// Install steps shared by `npm start` and `npm test`: idempotent, cached, quiet when done.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = (name) => path.join(root, 'node_modules', '.bin', name);
export const cacheDir = (env = process.env) => env.DATAPIPELINE_CACHE || path.join(os.homedir(), '.cache', 'datapipeline');

/**
 * The environment for every child: what the outer `npm test` / `npm start` exported for itself
 * (npm_config_* with npm_config_user_agent naming the outer Node, npm_package_*, npm_lifecycle_*,
 * INIT_CWD) is removed, so a nested npm, pip, mvn or go reads only its own configuration. A user's
 * own NPM_CONFIG_* (upper case) stays. scripts/setup/lib.sh does the same for the shell steps.
 */
export function cleanEnv(env = process.env, extra = {}) {
  const out = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^npm_/.test(k) || k === 'INIT_CWD' || k === 'NODE') continue;
    out[k] = v;
  }
  if (out.PATH) out.PATH = out.PATH.split(path.delimiter).filter((d) => !/[\\/]@npmcli[\\/]run-script[\\/]lib[\\/]node-gyp-bin$/.test(d)).join(path.delimiter);
  return { ...out, ...extra };
}

/** Runs argv (no shell) with inherited output; returns true on exit 0. Prints a timed line when `label` is set. */
export function run(label, cmd, args, env = {}) {
  const t0 = Date.now();
  if (label) console.log(`\n=== ${label}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: cleanEnv(process.env, env) });
  const ok = r.status === 0;
  if (label) console.log(`=== ${label}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds(Date.now() - t0)}`);
  return ok;
}

/** Like run(), but ends the process (after `onFail`) when the step fails. */
export function must(label, cmd, args, env, onFail = () => undefined) {
  if (!run(label, cmd, args, env)) {
    onFail();
    console.error(`stopped: "${label}" failed (see above).`);
    process.exit(1);
  }
}

/** `npm ci` once per package-lock.json change (stamp in node_modules). */
export function ensureNodeModules(onFail) {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.dp-installed');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  must('npm ci (the extension\'s npm packages, about 30 s)', 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {}, onFail);
  fs.writeFileSync(stamp, new Date().toISOString());
}

export function seconds(ms) {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * The install steps each need asks for (see setupSteps). A step's script prints what it installs
 * and roughly how long it takes, and nothing when it is already done.
 */
export function setupSteps({ aptPackages = [], docker = false, codeServer = false, nativeStack = false, airflow3 = false, testClients = false } = {}) {
  const steps = [];
  if (aptPackages.length) {
    steps.push({ name: 'system packages', cmd: 'bash', args: ['scripts/setup/apt.sh', ...aptPackages], retry: `bash scripts/setup/apt.sh ${aptPackages.join(' ')}` });
  }
  if (docker) steps.push({ name: 'Docker', cmd: 'bash', args: ['scripts/setup/docker.sh'], retry: 'bash scripts/setup/docker.sh' });
  if (codeServer) steps.push({ name: 'code-server', cmd: 'bash', args: ['scripts/setup/code-server.sh'], retry: 'bash scripts/setup/code-server.sh', quietStdout: true });
  if (nativeStack) steps.push({ name: 'native stack (Kafka, Spark, Airflow)', cmd: bin('tsx'), args: ['src/cli/stack.ts', 'provision'], retry: 'npm run stack -- provision' });
  if (airflow3) steps.push({ name: 'Airflow 3 for the client tests', cmd: 'bash', args: ['scripts/setup/airflow3.sh'], retry: 'bash scripts/setup/airflow3.sh', quietStdout: true });
  if (testClients) steps.push({ name: 'foreign Kafka clients for the tests', cmd: 'bash', args: ['scripts/setup/test-clients.sh'], retry: 'bash scripts/setup/test-clients.sh', quietStdout: true });
  return steps;
}

/** Runs one step, streaming its output; resolves { ok, printed }. */
function runStep(step) {
  return new Promise((resolve) => {
    const child = spawn(step.cmd, step.args, { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = false;
    child.stdout.on('data', (d) => {
      // scripts that print a result path on stdout (code-server.sh) stay quiet about it
      if (step.quietStdout) return;
      printed = true;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      printed = true;
      process.stderr.write(d);
    });
    child.on('error', (e) => {
      process.stderr.write(`${e.message}\n`);
      resolve({ ok: false, printed: true });
    });
    child.on('close', (code) => resolve({ ok: code === 0, printed }));
  });
}

/**
 * Runs the install steps in order. Prints nothing when everything is already installed; otherwise
 * each step's own lines, and at the end the total time. A failure names the step and the one
 * command that retries it, then ends the process (after `onFail`).
 */
export async function setup(needs, onFail = () => undefined) {
  const t0 = Date.now();
  let worked = false;
  for (const step of setupSteps(needs)) {
    const s0 = Date.now();
    const { ok, printed } = await runStep(step);
    worked ||= printed;
    if (!ok) {
      console.error(`\nsetup: "${step.name}" failed after ${seconds(Date.now() - s0)}.`);
      console.error(`Retry just this step with:  ${step.retry}`);
      console.error('(or run the same npm command again: finished steps are skipped)');
      onFail();
      process.exit(1);
    }
  }
  if (worked) console.log(`\nsetup: done in ${seconds(Date.now() - t0)} (cache: ${cacheDir()}; the next run skips what is installed)`);
}
