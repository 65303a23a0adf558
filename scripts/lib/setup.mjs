// Install steps shared by `npm start` and `npm test`: idempotent, cached, quiet when done.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = (name) => path.join(root, 'node_modules', '.bin', name);

/** Runs argv (no shell) with inherited output; returns true on exit 0. Prints a timed line when `label` is set. */
export function run(label, cmd, args, env = {}) {
  const t0 = Date.now();
  if (label) console.log(`\n=== ${label}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } });
  const ok = r.status === 0;
  if (label) console.log(`=== ${label}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
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
  must('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {}, onFail);
  fs.writeFileSync(stamp, new Date().toISOString());
}

/**
 * System and cached installs: apt packages, code-server (Node 24), the native stack's jars and
 * venvs, Airflow 3 for the client tests, Docker. Each script prints nothing once done.
 */
export function setup({ codeServer = false, nativeStack = false, airflow3 = false, docker = false } = {}, onFail) {
  must('setup: system packages', 'bash', ['scripts/setup/apt.sh'], {}, onFail);
  if (docker && fs.existsSync(path.join(root, 'scripts/setup/docker.sh'))) must('setup: Docker', 'bash', ['scripts/setup/docker.sh'], {}, onFail);
  if (codeServer) must('setup: code-server', 'bash', ['scripts/setup/code-server.sh'], {}, onFail);
  if (nativeStack) must('setup: native stack (Kafka, Spark, Airflow)', bin('tsx'), ['src/cli/stack.ts', 'provision'], {}, onFail);
  if (airflow3 && fs.existsSync(path.join(root, 'scripts/setup/airflow3.sh'))) must('setup: Airflow 3 for client tests', 'bash', ['scripts/setup/airflow3.sh'], {}, onFail);
}
