/**
 * Which stack Docker runs for a workspace's project. A project with a compose file of its own runs it
 * as it is, or DataPipeline's bundled stack with the project's folders, requirements and settings
 * (so the run tags, lineage and debugging of this extension work on it too): the user's choice,
 * asked once and kept in the setting datapipeline.project.stack. A project without one runs the
 * bundled stack with its parts; this extension's stack copied into the workspace runs as it is.
 * The native backend always runs the bundled stack's services with the project's parts. No `vscode`.
 */
import * as path from 'node:path';
import type { ProjectPaths } from '../stack/types';
import type { Project } from './detect';

export type ProjectStackChoice = 'ask' | 'own' | 'bundled';

export function parseProjectStackChoice(v: unknown): ProjectStackChoice {
  return v === 'own' || v === 'bundled' ? v : 'ask';
}

export interface DockerStack {
  /** the folder compose runs in (its compose file and .env) */
  stackDir: string;
  /** the project's parts run on the bundled stack (undefined: the folder's own compose file as it is) */
  project?: ProjectPaths;
}

export function dockerStackFor(project: Project, choice: ProjectStackChoice, bundledStackDir: string): DockerStack {
  if (project.kind === 'stack') return { stackDir: project.root };
  if (project.kind === 'bundled') return { stackDir: bundledStackDir };
  // not decided yet: as before the choice existed (Start Stack asks first)
  if (project.composeFile && choice !== 'bundled') return { stackDir: path.dirname(project.composeFile) };
  const { dagsDir, scriptsDir, pluginsDir, includeDir, requirements, packages } = project;
  return { stackDir: bundledStackDir, project: { dagsDir, scriptsDir, pluginsDir, includeDir, requirements, packages } };
}

/** Start Stack on Docker asks which stack runs: the project has a compose file of its own and the choice is not made. */
export function mustAskWhichStack(project: Project, choice: ProjectStackChoice): boolean {
  return !!project.composeFile && project.kind !== 'stack' && project.kind !== 'bundled' && choice === 'ask';
}
