import type * as vscode from 'vscode';
import type { Settings } from './settings';
import type { StackController } from './stackController';
import type { Logger } from './services/util/logger';
import type { CommandHandler } from './commands/registry';
import type { TreeViewSource } from './views/base';
import type { Connections } from './connections';
import type { Project } from './services/project/detect';

/**
 * Everything a feature needs, built once in `activate` and passed in (no singletons).
 * Features export `registerXxxFeature(ctx: FeatureContext): vscode.Disposable[]`.
 */
export interface FeatureContext {
  readonly extensionContext: vscode.ExtensionContext;
  /** A child logger of the one "DataPipeline" LogOutputChannel. */
  logger(name: string): Logger;
  /** Reveals the DataPipeline log. */
  showLog(): void;
  readonly settings: Settings;
  readonly stack: StackController;
  /** The Kafka, Spark and Airflow clients for the stack's endpoints (built once per address). */
  readonly connections: Connections;
  /** The TreeView the activation shell created for a view id, now served by the given provider. */
  readonly treeView: TreeViewSource;
  /** Registers a command through the shared wrapper (logs, catches, shows the error once). */
  registerCommand(id: string, handler: CommandHandler): vscode.Disposable;
  /** Folder holding the stack's files (dags/, scripts/, docker-compose.yaml): the workspace's `stack/` if it has one. */
  stackDir(): string;
  /** the workspace's project: its DAGs, jobs, plugins, include folder, requirements, Airflow settings (services/project/detect.ts) */
  project(): Project;
  /** Where downloads/venvs are cached ($DATAPIPELINE_CACHE, else ~/.cache/datapipeline: the same as `npm run stack`). */
  readonly cacheDir: string;
  /** Where the native stack keeps pids/logs/data ($DATAPIPELINE_STATE, else <cache>/state). */
  readonly stateDir: string;
}
