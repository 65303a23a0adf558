/**
 * The project's Airflow settings (airflow_settings.yaml: connections, variables, pools) applied to the
 * local stack's Airflow when it comes up and whenever the file is saved, on either backend; the
 * result said once in a notification, a mistake in the file named with its entry. Never applied to a
 * named connection's Airflow (a team's cluster): only to this machine's stack.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { requirementsKey } from '../services/project/requirements';
import { AirflowClient } from '../services/airflow/client';
import { applyAirflowSettings, parseAirflowSettings } from '../services/project/airflowSettings';
import { STACK_ADMIN_USER, stackAirflowPassword } from '../services/stack/airflowPassword';
import { errorMessage } from '../services/util/errors';
import { findService } from '../services/stack/catalog';

export function registerProjectFeature(ctx: FeatureContext): vscode.Disposable[] {
  const log = ctx.logger('project');
  const disposables: vscode.Disposable[] = [];
  /** the settings file's text last applied, and to which Airflow (applied again only when either changed) */
  let applied = '';
  let running: Promise<void> | undefined;

  // Airflow's web service (webserver or API server: the catalog's airflow-web probe) answers
  const airflowUp = () => ctx.stack.status.some((s) => findService(s.id)?.entry.health === 'airflow-web' && s.state === 'running' && s.health === 'healthy');

  const apply = async (reason: string): Promise<void> => {
    const file = ctx.project().airflowSettings;
    if (!file || !airflowUp()) return;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      log.warn(`${file}: ${errorMessage(e)}`);
      return;
    }
    const url = ctx.stack.endpoints().airflowUrl;
    const key = `${url}\n${text}`;
    if (key === applied) return;
    try {
      const settings = parseAirflowSettings(text, file);
      const client = new AirflowClient({ baseUrl: url, username: STACK_ADMIN_USER, password: stackAirflowPassword(ctx.stateDir) });
      const done = await applyAirflowSettings(client, settings);
      applied = key;
      const what = [...done.created.map((x) => `${x} (new)`), ...done.updated];
      log.info(`${reason}: applied ${file}: ${what.join(', ') || 'nothing in it'}`);
      if (done.created.length) void vscode.window.showInformationMessage(`DataPipeline: gave the local Airflow ${done.created.join(', ')} from ${vscode.workspace.asRelativePath(file)}.`);
    } catch (e) {
      log.error(`applying ${file}: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(`DataPipeline: could not apply ${vscode.workspace.asRelativePath(file)} to the local Airflow: ${errorMessage(e)}`);
    }
  };
  const queue = (reason: string) => {
    running = (running ?? Promise.resolve()).then(() => apply(reason));
  };

  // the stack came up (or Airflow restarted): apply once it answers
  let wasUp = false;
  disposables.push(
    ctx.stack.onDidChange(() => {
      const up = airflowUp();
      if (up && !wasUp) queue('Airflow is up');
      if (!up) applied = '';
      wasUp = up;
    }),
  );
  // the file saved (or created, or another file named by the setting)
  const watcher = vscode.workspace.createFileSystemWatcher('**/airflow_settings.{yaml,yml}');
  const onFile = (uri: vscode.Uri) => {
    if (uri.fsPath === ctx.project().airflowSettings) queue('airflow_settings.yaml saved');
  };
  disposables.push(watcher, watcher.onDidChange(onFile), watcher.onDidCreate(onFile));
  disposables.push(
    ctx.settings.onDidChange((e) => {
      if (e.affectsConfiguration('datapipeline.project.airflowSettingsFile')) queue('the setting changed');
    }),
  );

  // the project's requirements saved while its Airflow runs (native): installed, Airflow restarted on them, with progress
  // one install at a time; a save (or the watcher's second event for one save) while one runs makes one more after it
  let installing = false;
  let again = false;
  /** what pip reads of the file the last install ran for (a second event for the same save, or a comment saved, changes nothing) */
  let installedText: string | undefined;
  const changedSinceInstall = (): boolean => {
    const file = ctx.project().requirements;
    let text: string | undefined;
    try {
      text = file ? requirementsKey(fs.readFileSync(file, 'utf8')) : undefined;
    } catch {
      return false; // removed: nothing to install (the next start runs without it)
    }
    if (text === installedText) return false;
    installedText = text;
    return true;
  };
  const install = async (): Promise<void> => {
    if (installing) {
      again = true;
      return;
    }
    installing = true;
    try {
      do {
        again = false;
        if (airflowUp() && (await ctx.stack.backend()).reloadRequirements && changedSinceInstall()) await vscode.commands.executeCommand('datapipeline.stack.installRequirements');
      } while (again);
    } catch (e) {
      log.warn(`installing the project's requirements: ${errorMessage(e)}`);
    } finally {
      installing = false;
    }
  };
  const requirements = vscode.workspace.createFileSystemWatcher('**/*.txt');
  const onRequirements = (uri: vscode.Uri) => {
    if (uri.fsPath === ctx.project().requirements) {
      log.info(`${uri.fsPath} changed`);
      void install();
    }
  };
  disposables.push(requirements, requirements.onDidChange(onRequirements), requirements.onDidCreate(onRequirements));
  return disposables;
}
