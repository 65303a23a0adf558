import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendFactory } from './stackController';
import type { Settings } from './settings';
import { createBackendFactory } from './services/stack/select';
import { prepareStackDir } from './services/stack/stackFiles';
import type { Logger } from './services/util/logger';
import type { Project } from './services/project/detect';
import { dockerStackFor } from './services/project/whichStack';

export interface StackBackendDeps {
  extensionContext: vscode.ExtensionContext;
  settings: Settings;
  log: Logger;
  /** the resolved stack folder (workspace stack/ or the bundled one) */
  stackDir: () => string;
  /** the workspace's project (the native stack runs its DAGs, jobs, plugins and include folder) */
  project: () => Project;
  cacheDir: string;
  stateDir: string;
}

/**
 * The StackController's backend factory: `auto` probes Docker (CLI, daemon, compose) and falls
 * back to the native processes. The Docker backend runs from the workspace's stack/ or from a
 * writable copy of the bundled files in global storage.
 */
export function createStackBackendFactory(deps: StackBackendDeps): BackendFactory {
  const ext = deps.extensionContext;
  const bundled = path.join(ext.extensionPath, 'stack');
  const version = String(ext.extension.packageJSON.version ?? '0');
  // what the stack's processes and compose read from the environment: where the receiver forwards events
  const env = (): NodeJS.ProcessEnv => {
    const forward = deps.settings.lineageForwardUrl;
    return forward ? { ...process.env, DATAPIPELINE_LINEAGE_FORWARD: forward } : process.env;
  };
  return createBackendFactory({
    env: env(),
    // a project with a compose file of its own: that file as it is, or the bundled stack with the project's parts (the setting)
    dockerStackDir: () => prepareStackDir(dockerStackFor(deps.project(), deps.settings.projectStack, bundled).stackDir, bundled, path.join(ext.globalStorageUri.fsPath, 'stack'), version),
    dockerProject: () => dockerStackFor(deps.project(), deps.settings.projectStack, bundled).project,
    composeCommand: () => deps.settings.composeCommand,
    extraCaFile: () => deps.settings.dockerExtraCaFile,
    scale: () => deps.settings.stackScale,
    airflow: () => deps.settings.airflowVersion,
    stateDir: deps.stateDir,
    log: deps.log,
    onWarning: (message) => void vscode.window.showWarningMessage(`DataPipeline: ${message}`),
    createNative: async () => {
      const { createNativeBackend } = await import('./services/stack/native/nativeBackend');
      return createNativeBackend({
        stackDir: deps.stackDir(),
        project: deps.project(),
        cacheDir: deps.cacheDir,
        stateDir: deps.stateDir,
        ports: deps.settings.nativePorts,
        scale: deps.settings.stackScale,
        airflow: deps.settings.airflowVersion,
        airflowDatabase: deps.settings.airflowDatabase,
        env: env(),
      });
    },
  });
}
