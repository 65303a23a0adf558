/**
 * A project's Python requirements on the native stack: a layer of their own over the shared Airflow
 * venv, never installed into it (a project must not leak into another's Airflow).
 *
 * pip resolves the file in the Airflow venv, pinned by Airflow's constraints for its version
 * (`pip install --dry-run --report`): what the venv already satisfies stays the venv's, and a
 * requirement that conflicts with the constraints is refused naming the package. What is left is
 * installed with `--no-deps --target` into `<cache>/project-layers/<hash>`, the hash of the file, the
 * Airflow version and the Python: a changed file makes a new layer, an unchanged one is reused. The
 * Airflow processes find the layer on PYTHONPATH.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StackError, type OperationOptions } from '../types';
import type { AirflowMajor } from '../airflowVersion';
import type { NativeLayout } from './layout';
import { hashOf, layoutVersions, run } from './provision';
import { requirementsKey } from '../../project/requirements';
import { pipReason } from '../../util/pipReason';

export interface RequirementsLayer {
  /** the folder on PYTHONPATH (undefined: the venv satisfies every requirement) */
  dir?: string;
  /** name==version of what the layer holds */
  packages: string[];
  /** taken from the cache, nothing installed */
  reused: boolean;
}

export interface LayerOptions extends OperationOptions {
  /** the Airflow venv's python */
  python: string;
  requirements: string;
  /** Airflow's constraints for the version the stack runs */
  constraints: string;
  airflowVersion: string;
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
}

const DONE = 'datapipeline-layer.json';

export async function ensureRequirementsLayer(o: LayerOptions): Promise<RequirementsLayer> {
  let text: string;
  try {
    text = fs.readFileSync(o.requirements, 'utf8');
  } catch (e) {
    throw new StackError(`Cannot read the project's requirements ${o.requirements}: ${(e as Error).message}`, { nextStep: 'Fix the file or the setting datapipeline.project.requirementsFile, then start again.' });
  }
  // what pip reads: a comment saved installs nothing
  const hash = hashOf(requirementsKey(text), o.airflowVersion, o.python, fs.existsSync(o.constraints) ? fs.readFileSync(o.constraints, 'utf8') : '');
  const root = path.join(o.cacheDir, 'project-layers');
  const dir = path.join(root, hash);
  try {
    const done = JSON.parse(fs.readFileSync(path.join(dir, DONE), 'utf8')) as { packages: string[] };
    return { dir: done.packages.length ? dir : undefined, packages: done.packages, reused: true };
  } catch {
    // not made yet (or cut short): made below
  }
  const env = { ...(o.env ?? process.env), PIP_DISABLE_PIP_VERSION_CHECK: '1' };
  o.onProgress?.({ step: `Resolving the project's requirements (${path.basename(o.requirements)}) against Airflow ${o.airflowVersion}'s constraints`, percent: 0 });
  fs.mkdirSync(root, { recursive: true });
  const report = path.join(root, `${hash}.report.json`);
  // relative lines of the file (-r other.txt, ./pkg) are relative to it
  const cwd = path.dirname(o.requirements);
  const dry = await run(o.python, ['-m', 'pip', 'install', '--dry-run', '--quiet', '--report', report, '-r', o.requirements, '-c', o.constraints], { env, cwd, signal: o.signal, timeoutMs: 300_000 });
  if (dry.code !== 0) {
    throw new StackError(`The project's requirements (${o.requirements}) cannot be installed beside Airflow ${o.airflowVersion}:\n${pipReason(dry.stderr + '\n' + dry.stdout)}`, {
      nextStep: `Change the version in ${path.basename(o.requirements)} to one Airflow ${o.airflowVersion}'s constraints allow (${path.basename(o.constraints)}), or remove the line; nothing was installed.`,
    });
  }
  const install = ((JSON.parse(fs.readFileSync(report, 'utf8')) as { install?: Array<{ metadata: { name: string; version: string } }> }).install ?? []).map((i) => `${i.metadata.name}==${i.metadata.version}`);
  fs.rmSync(report, { force: true });
  if (install.length) {
    o.onProgress?.({ step: `Installing the project's requirements: ${install.join(', ')}`, percent: 50 });
    const tmp = `${dir}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const r = await run(o.python, ['-m', 'pip', 'install', '--quiet', '--no-deps', '--no-compile', '--target', tmp, ...install], { env, cwd, signal: o.signal, timeoutMs: 900_000 });
    if (r.code !== 0) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new StackError(`Installing the project's requirements (${install.join(', ')}) failed:\n${pipReason(r.stderr + '\n' + r.stdout)}`, {
        nextStep: 'Check that PyPI (or PIP_INDEX_URL) is reachable, then start again.',
      });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } else {
    fs.mkdirSync(dir, { recursive: true });
  }
  fs.writeFileSync(path.join(dir, DONE), JSON.stringify({ packages: install, requirements: o.requirements, airflow: o.airflowVersion }, null, 2));
  return { dir: install.length ? dir : undefined, packages: install, reused: false };
}

/** The layer of the project's requirements for the Airflow this layout runs, set on the layout (its processes' PYTHONPATH). */
export async function applyRequirementsLayer(l: NativeLayout, airflow: AirflowMajor, requirements: string | undefined, env: NodeJS.ProcessEnv, opts: OperationOptions): Promise<void> {
  l.requirementsLayer = undefined;
  if (!requirements) return;
  const v = layoutVersions(l);
  const airflowVersion = (airflow === 3 ? v.airflow3 : v.airflow) ?? v.airflow;
  const layer = await ensureRequirementsLayer({
    ...opts,
    python: path.join(l.airflowVenv, 'bin', 'python'),
    requirements,
    constraints: path.join(l.versionsDir, `airflow-constraints-${airflowVersion}.txt`),
    airflowVersion,
    cacheDir: l.cacheDir,
    env,
  });
  l.requirementsLayer = layer.dir;
}
