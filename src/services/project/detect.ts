/**
 * Which project a workspace folder is, and where its parts are: the DAGs, the jobs (scripts), the
 * plugins, the include folder, its Python requirements and Debian packages, its Airflow connections,
 * variables and pools (Astro's airflow_settings.yaml), its own compose file. The stack runs the
 * project from where its files are, with no edit to them. Pure apart from reading the folder; no
 * `vscode` import (the CLI and the tests detect the same way).
 *
 * Layouts, first match wins:
 *   stack    this extension's stack copied into the workspace (`stack/` with dags/ or a compose file)
 *   astro    an Astro CLI project (`.astro/config.yaml`, or a Dockerfile FROM astro-runtime)
 *   root     the original stack's layout: `dags/` at the root beside `scripts/` or a compose file
 *   dags     a folder of DAGs: `dags/`, or Python files that define DAGs at the root
 *   bundled  none of these: the extension's own stack and its example pipeline
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProjectPaths } from '../stack/types';

export type ProjectKind = 'stack' | 'astro' | 'root' | 'dags' | 'bundled';

/** The parts the stack runs (ProjectPaths: DAGs, jobs, plugins, include, requirements, Debian packages), and what the extension does with the rest. */
export interface Project extends ProjectPaths {
  kind: ProjectKind;
  /** the folder the project is (for `stack`: the workspace's stack/ folder) */
  root: string;
  /** Airflow connections, variables and pools (Astro's airflow_settings.yaml format) */
  airflowSettings?: string;
  /** the project's own compose file */
  composeFile?: string;
  /** what each path came from: the layout, or the setting that overrides it */
  overridden: Array<keyof ProjectOverrides>;
}

/** Settings that name a part of the project (relative to the workspace folder, or absolute). */
export interface ProjectOverrides {
  dagsFolder?: string;
  scriptsFolder?: string;
  pluginsFolder?: string;
  includeFolder?: string;
  requirementsFile?: string;
  airflowSettingsFile?: string;
}

const COMPOSE_FILES = ['docker-compose.yaml', 'docker-compose.yml', 'compose.yaml', 'compose.yml'];

const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const isFile = (p: string) => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};
const dirIn = (root: string, name: string) => (isDir(path.join(root, name)) ? path.join(root, name) : undefined);
const fileIn = (root: string, ...names: string[]) => names.map((n) => path.join(root, n)).find(isFile);

/** A Dockerfile built on Astronomer's runtime image. */
function astroDockerfile(root: string): boolean {
  const f = path.join(root, 'Dockerfile');
  if (!isFile(f)) return false;
  try {
    return /^\s*FROM\s+\S*(astro-runtime|astronomer\/)/im.test(fs.readFileSync(f, 'utf8').slice(0, 4096));
  } catch {
    return false;
  }
}

/** Python files at the top of `dir` that define a DAG (the words Airflow's own file filter looks for). */
function hasDagFiles(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.py'));
  } catch {
    return false;
  }
  return names.slice(0, 200).some((n) => {
    try {
      const text = fs.readFileSync(path.join(dir, n), 'utf8').slice(0, 64 * 1024);
      return /\bairflow\b/.test(text) && /\bDAG\b|@dag\b/.test(text);
    } catch {
      return false;
    }
  });
}

/** The layout of one workspace folder, or undefined when it is not a project. */
export function detectLayout(folder: string): Omit<Project, 'overridden'> | undefined {
  const stack = path.join(folder, 'stack');
  if (dirIn(stack, 'dags') || fileIn(stack, 'docker-compose.yaml')) {
    return { kind: 'stack', root: stack, dagsDir: path.join(stack, 'dags'), scriptsDir: dirIn(stack, 'scripts'), pluginsDir: dirIn(stack, 'plugins'), composeFile: fileIn(stack, 'docker-compose.yaml') };
  }
  const common = {
    root: folder,
    scriptsDir: dirIn(folder, 'scripts'),
    pluginsDir: dirIn(folder, 'plugins'),
    includeDir: dirIn(folder, 'include'),
    requirements: fileIn(folder, 'requirements.txt'),
    airflowSettings: fileIn(folder, 'airflow_settings.yaml', 'airflow_settings.yml'),
  };
  if (isFile(path.join(folder, '.astro', 'config.yaml')) || astroDockerfile(folder)) {
    // Astro runs the project from its Dockerfile, not a compose file of its own
    return { kind: 'astro', ...common, dagsDir: path.join(folder, 'dags'), packages: fileIn(folder, 'packages.txt') };
  }
  const dags = dirIn(folder, 'dags');
  const composeFile = fileIn(folder, ...COMPOSE_FILES);
  if (dags && (common.scriptsDir || composeFile)) return { kind: 'root', ...common, dagsDir: dags, composeFile };
  if (dags) return { kind: 'dags', ...common, dagsDir: dags, composeFile };
  if (hasDagFiles(folder)) return { kind: 'dags', ...common, dagsDir: folder, composeFile };
  return undefined;
}

/**
 * The project of the workspace: the first folder that is one (settings override each path), else
 * the extension's bundled stack. An untrusted workspace passes no folders (its files are code the
 * stack would run).
 */
export function detectProject(workspaceFolders: readonly string[], bundledStackDir: string, overrides: ProjectOverrides = {}): Project {
  let found: Omit<Project, 'overridden'> | undefined;
  let base: string | undefined;
  for (const folder of workspaceFolders) {
    found = detectLayout(folder);
    if (found) {
      base = folder;
      break;
    }
  }
  if (!found) {
    base = workspaceFolders[0];
    found = base && Object.values(overrides).some(Boolean) ? { kind: 'dags', root: base, dagsDir: path.join(base, 'dags') } : undefined;
  }
  const project: Project = found
    ? { ...found, overridden: [] }
    : { kind: 'bundled', root: bundledStackDir, dagsDir: path.join(bundledStackDir, 'dags'), scriptsDir: path.join(bundledStackDir, 'scripts'), pluginsDir: path.join(bundledStackDir, 'plugins'), overridden: [] };
  if (project.kind === 'bundled' || !base) return project;
  const at = (p: string) => path.resolve(base!, p);
  const set = <K extends keyof ProjectOverrides>(key: K, apply: (p: string) => void) => {
    const v = overrides[key]?.trim();
    if (!v) return;
    apply(at(v));
    project.overridden.push(key);
  };
  set('dagsFolder', (p) => (project.dagsDir = p));
  set('scriptsFolder', (p) => (project.scriptsDir = p));
  set('pluginsFolder', (p) => (project.pluginsDir = p));
  set('includeFolder', (p) => (project.includeDir = p));
  set('requirementsFile', (p) => (project.requirements = p));
  set('airflowSettingsFile', (p) => (project.airflowSettings = p));
  return project;
}

/** What the Stack view's Project node says of each part: [label, path or "none"]. */
export function describeProject(p: Project): Array<{ label: string; value?: string; overridden?: boolean }> {
  const o = (k: keyof ProjectOverrides) => p.overridden.includes(k);
  return [
    { label: 'DAGs', value: p.dagsDir, overridden: o('dagsFolder') },
    { label: 'Jobs (scripts)', value: p.scriptsDir, overridden: o('scriptsFolder') },
    { label: 'Plugins', value: p.pluginsDir, overridden: o('pluginsFolder') },
    { label: 'Include', value: p.includeDir, overridden: o('includeFolder') },
    { label: 'Requirements', value: p.requirements, overridden: o('requirementsFile') },
    { label: 'Debian packages', value: p.packages },
    { label: 'Airflow settings', value: p.airflowSettings, overridden: o('airflowSettingsFile') },
    { label: 'Compose file', value: p.composeFile },
  ];
}

export const PROJECT_KIND_LABEL: Record<ProjectKind, string> = {
  stack: "DataPipeline's stack (in the workspace)",
  astro: 'Astro CLI project',
  root: 'DAGs, scripts and compose file at the root',
  dags: 'a folder of DAGs',
  bundled: "DataPipeline's example pipeline (no project in the workspace)",
};
