import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerAirflowFeature } from './commands/airflow';
import { registerConnectionsFeature } from './commands/connections';
import { registerKafkaFeature } from './commands/kafka';
import { wrapCommand } from './commands/registry';
import { registerSparkFeature } from './commands/spark';
import { registerStackFeature } from './commands/stack';
import { registerProjectFeature } from './commands/project';
import type { FeatureContext } from './featureContext';
import type { ShellHost } from './shellHost';
import { Logging } from './logging';
import { resolveStackDir } from './services/stack/stackDir';
import { detectProject, type Project } from './services/project/detect';
import { stackAirflowPassword } from './services/stack/airflowPassword';
import { cacheDir as defaultCacheDir, stateDir as defaultStateDir } from './services/util/paths';
import { Settings } from './settings';
import { createStackBackendFactory } from './stackBackends';
import { StackController } from './stackController';
import { Connections } from './connections';

/**
 * The features, loaded by the activation shell (src/extension.ts) on first use. Builds every object
 * once and passes it in; every registration goes to context.subscriptions. Spawns nothing and makes
 * no network call: backends and clients are created on first use.
 */
export function activateFeatures(context: vscode.ExtensionContext, host: ShellHost): void {
  const logging = new Logging();
  context.subscriptions.push(logging);
  const log = logging.logger('extension');
  const settings = new Settings();
  // One cache and state for the extension and `npm run stack` (~/.cache/datapipeline unless
  // $DATAPIPELINE_CACHE / $DATAPIPELINE_STATE say otherwise): a stack started from either is the same stack.
  const cacheDir = defaultCacheDir();
  const stateDir = defaultStateDir();
  // Restricted Mode: the workspace's own stack folder (its compose file, DAGs and jobs) is code the
  // stack would run, so an untrusted workspace gets the bundled stack (package.json's untrustedWorkspaces)
  const trustedFolders = () => (vscode.workspace.isTrusted ? (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath) : []);
  const stackDir = () => resolveStackDir(trustedFolders(), path.join(context.extensionPath, 'stack'));
  // the workspace's own project (its layout, or the datapipeline.project settings): what the stack runs.
  // Detected once and kept (the Stack view asks on every render); detected again when the folders,
  // the settings, the trust or a top-level part of a folder (dags/, stack/, .astro/…) change.
  let detected: Project | undefined;
  const project = () => (detected ??= detectProject(trustedFolders(), path.join(context.extensionPath, 'stack'), settings.projectOverrides));
  const layoutWatcher = vscode.workspace.createFileSystemWatcher('{stack,dags,scripts,plugins,include,.astro,Dockerfile,requirements.txt,airflow_settings.yaml,airflow_settings.yml}');
  const forget = () => (detected = undefined);
  context.subscriptions.push(
    layoutWatcher,
    layoutWatcher.onDidCreate(forget),
    layoutWatcher.onDidDelete(forget),
    vscode.workspace.onDidChangeWorkspaceFolders(forget),
    vscode.workspace.onDidGrantWorkspaceTrust(forget),
    settings.onDidChange((e) => e.affectsConfiguration('datapipeline.project') && forget()),
  );
  const stack = new StackController(
    settings,
    createStackBackendFactory({ extensionContext: context, settings, log: logging.logger('stack'), stackDir, project, cacheDir, stateDir }),
    logging.logger('stack'),
  );
  context.subscriptions.push(stack, vscode.workspace.onDidGrantWorkspaceTrust(() => stack.reload()));
  const connections = new Connections({ stack, settings, secrets: context.secrets, state: context.workspaceState, globalState: context.globalState, stackAirflowPassword: () => stackAirflowPassword(stateDir), logger: (name) => logging.logger(name) });
  context.subscriptions.push(connections);

  const showLog = () => logging.channel.show(true);
  const ctx: FeatureContext = {
    extensionContext: context,
    logger: (name) => logging.logger(name),
    showLog,
    settings,
    stack,
    connections,
    treeView: (viewId, provider) => host.treeView(viewId, provider),
    registerCommand: (id, handler) => host.registerCommand(id, wrapCommand(id, handler, { log: logging.logger(id), showLog })),
    stackDir,
    project,
    cacheDir,
    stateDir,
  };

  context.subscriptions.push(ctx.registerCommand('datapipeline.showLog', showLog));
  for (const register of FEATURES) context.subscriptions.push(...register(ctx));
  log.info(`DataPipeline ${context.extension.packageJSON.version}: features loaded`);
}

/** Each feature registers its views, commands and panels. */
const FEATURES: Array<(ctx: FeatureContext) => vscode.Disposable[]> = [registerConnectionsFeature, registerStackFeature, registerProjectFeature, registerAirflowFeature, registerKafkaFeature, registerSparkFeature];
