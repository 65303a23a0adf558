import * as path from 'node:path';
import * as vscode from 'vscode';
import { mustAskWhichStack } from '../services/project/whichStack';
import type { FeatureContext } from '../featureContext';
import { addStackToWorkspace, StackExistsError } from '../services/stack/stackFiles';
import { summarize } from '../services/stack/statusModel';
import { otherStackQuestion, sharedDataLine } from '../services/stack/owner';
import { setStackAirflowPassword, stackPasswordError } from '../services/stack/airflowPassword';
import { StackError, type OperationOptions, type ServiceId, type StackBackend, type StackProgress } from '../services/stack/types';
import { StackTreeProvider, type StackNode } from '../views/stackView';
import { describeError as describeAnyError } from './registry';
import { affectsStackBackend } from '../settings';
import { airflowName } from '../services/stack/airflowVersion';

/** What Start/Stop/Restart resolve with (tests and other features read it). */
export interface StackCommandResult {
  ok: boolean;
  /** "8/8 running" after the operation */
  summary: string;
  error?: string;
  service?: ServiceId;
}

type ServiceArg = StackNode | ServiceId | undefined;

function serviceOf(arg: ServiceArg): ServiceId | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg;
  if (arg.kind === 'service') return arg.status.id;
  if (arg.kind === 'port') return arg.service.id;
  return undefined;
}

/**
 * Start/Stop/Restart Stack (cancellable progress naming each service as it becomes healthy),
 * restart one service, stream a service's logs, open a service's UI, add the stack to the
 * workspace, reset data; the Stack view and the "DataPipeline: 8/8 running" status bar item.
 */
export function registerStackFeature(ctx: FeatureContext): vscode.Disposable[] {
  const log = ctx.logger('stack');
  const stack = ctx.stack;
  const tree = new StackTreeProvider(stack, () => ctx.project(), () => stack.endpointNotes());
  const disposables: vscode.Disposable[] = [tree];
  const view = tree.attachView(ctx.treeView, 'datapipeline.stack');
  // the Stack view always shows this machine's stack, whichever connection the other views show
  tree.showSource(() => (ctx.connections.active.local ? 'Local stack' : `Local stack (other views: ${ctx.connections.active.name})`), ctx.connections.onDidChangeActive);

  const statusItem = vscode.window.createStatusBarItem('datapipeline.stackStatus', vscode.StatusBarAlignment.Left, 50);
  statusItem.name = 'DataPipeline Stack';
  statusItem.command = 'datapipeline.stack.focus';
  disposables.push(statusItem);

  let known = false;
  const render = () => {
    const sum = summarize(stack.status);
    statusItem.text = known ? `$(server-process) DataPipeline: ${sum.text}` : '$(server-process) DataPipeline';
    statusItem.tooltip = !known
      ? 'Reading the stack status… Click to open the Stack view.'
      : sum.running
      ? `${sum.ok} of ${sum.total} services are up${sum.degraded ? ' — some are not healthy' : ''}. Click to open the Stack view.`
      : 'The DataPipeline stack is stopped. Click to open the Stack view.';
    statusItem.backgroundColor = sum.degraded ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    statusItem.show();
    view.badge = sum.degraded ? { value: sum.total - sum.ok, tooltip: `${sum.total - sum.ok} services are not healthy` } : undefined;
    tree.refresh(50);
  };
  disposables.push(stack.onDidChange(render));
  render();

  /** Reads the status once; a failure (daemon down…) is shown in the view instead of thrown. */
  const refresh = async (): Promise<void> => {
    try {
      await stack.refreshStatus();
      known = true;
      render();
      tree.setError(undefined);
    } catch (err) {
      log.warn(`reading the stack status failed: ${describeError(err)}`);
      tree.setError(describeError(err));
    }
  };
  let readOnce = false;
  const readWhenVisible = () => {
    if (view.visible && !readOnce) {
      readOnce = true;
      void refresh();
    }
  };
  disposables.push(view.onDidChangeVisibility(readWhenVisible));
  readWhenVisible();
  // The status bar is always visible: read the status once soon after activation (not during it).
  const firstRead = setTimeout(() => {
    if (!known) void refresh();
  }, 1500);
  disposables.push({ dispose: () => clearTimeout(firstRead) });
  // A new backend (any setting it is made from changed: backend, ports, scale, Airflow version…) has
  // its own status: read it when the view is showing (else the view would stay empty until a poll).
  disposables.push(
    ctx.settings.onDidChange((e) => {
      if (affectsStackBackend(e)) {
        readOnce = false;
        readWhenVisible();
      }
    }),
  );

  // Another Airflow for the local stack: asked before the running stack's Airflow is restarted. Each
  // Airflow keeps its own metadata database, so nothing is migrated or deleted either way.
  disposables.push(
    ctx.settings.onDidChange(async (e) => {
      if (!e.affectsConfiguration('datapipeline.stack.airflowVersion') || !stack.running) return;
      const name = airflowName(ctx.settings.airflowVersion ?? 2);
      const choice = await vscode.window.showInformationMessage(
        `Restart the stack with ${name} now?`,
        {
          modal: true,
          detail:
            `${name} keeps its own metadata database: the runs, connections and users of the other Airflow stay in theirs, ` +
            'unchanged, for when you switch back. Nothing is migrated or deleted. The stack’s Airflow services restart; Kafka and Spark keep running.',
        },
        'Restart Now',
      );
      if (choice === 'Restart Now') await vscode.commands.executeCommand('datapipeline.stack.start');
    }),
  );

  /** One output channel per service; a new Show Logs restarts the follow. */
  const logChannels = new Map<string, { channel: vscode.OutputChannel; abort?: AbortController }>();
  disposables.push({
    dispose: () => {
      for (const l of logChannels.values()) {
        l.abort?.abort();
        l.channel.dispose();
      }
    },
  });
  const showServiceLogs = async (arg: ServiceArg): Promise<void> => {
    const service = serviceOf(arg) ?? (await pickService(stack.status.map((s) => s.id)));
    if (!service) return;
    const backend = await stack.backend();
    let entry = logChannels.get(service);
    if (!entry) {
      entry = { channel: vscode.window.createOutputChannel(`DataPipeline: ${service}`) };
      logChannels.set(service, entry);
    }
    entry.abort?.abort();
    const abort = new AbortController();
    entry.abort = abort;
    const channel = entry.channel;
    channel.clear();
    channel.show(true);
    const follow = (): void => {
      backend.logs(service, (line) => channel.appendLine(line), { follow: true, tail: 500, signal: abort.signal }).then(
        () => {
          if (abort.signal.aborted) return;
          channel.appendLine(`--- ${service} stopped: end of its log (following again when it runs) ---`);
          // A restarted service (new container or process) is followed again.
          const sub = stack.onDidChange(() => {
            const st = stack.status.find((x) => x.id === service);
            if (abort.signal.aborted || !st || (st.state !== 'running' && st.state !== 'starting')) return;
            sub.dispose();
            channel.appendLine(`--- ${service} is running again ---`);
            follow();
          });
          abort.signal.addEventListener('abort', () => sub.dispose(), { once: true });
        },
        (err: unknown) => channel.appendLine(`--- could not read the logs of ${service}: ${describeError(err)} ---`),
      );
    };
    follow();
  };

  /** Runs a stack operation under a cancellable notification; failures get one message with "Show Logs". */
  const withProgress = async (title: string, op: (backend: StackBackend, opts: OperationOptions) => Promise<void>): Promise<StackCommandResult> => {
    let backend: StackBackend;
    try {
      backend = await stack.backend();
    } catch (err) {
      return fail(err);
    }
    const notices: string[] = [];
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `DataPipeline: ${title}`, cancellable: true },
      async (progress, token): Promise<{ ok: true } | { ok: false; cancelled: boolean; err: unknown }> => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        let last = 0;
        const onProgress = (p: StackProgress) => {
          log.info(`${title}: ${p.step}`);
          if (p.notice) notices.push(p.step);
          const increment = Math.max(0, p.percent - last);
          last = Math.max(last, p.percent);
          progress.report({ message: p.step, increment });
        };
        try {
          await op(backend, { signal: abort.signal, onProgress });
          return { ok: true };
        } catch (err) {
          return { ok: false, cancelled: abort.signal.aborted, err };
        } finally {
          sub.dispose();
        }
      },
    );
    await refresh();
    for (const n of notices) void vscode.window.showWarningMessage(`DataPipeline: ${n}`);
    if (outcome.ok) return { ok: true, summary: summarize(stack.status).text };
    if (outcome.cancelled) {
      void vscode.window.showInformationMessage(`DataPipeline: ${title} was cancelled; ${describeError(outcome.err)}`);
      return { ok: false, summary: summarize(stack.status).text, error: 'cancelled' };
    }
    return fail(outcome.err);
  };

  const fail = (err: unknown): StackCommandResult => {
    const message = describeError(err);
    const service = err instanceof StackError ? err.service : undefined;
    const tail = err instanceof StackError ? err.logTail : [];
    log.error(message);
    if (tail.length) log.error(`last log lines of ${service ?? 'the service'}:\n${tail.join('\n')}`);
    const lastLines = tail.slice(-3).join(' ⏎ ');
    const actions = service ? ['Show Logs', 'Show Log'] : ['Show Log'];
    void vscode.window.showErrorMessage(`DataPipeline: ${message}${lastLines ? ` Last log lines: ${lastLines}` : ''}`, ...actions).then((choice) => {
      if (choice === 'Show Logs' && service) void showServiceLogs(service);
      else if (choice === 'Show Log') ctx.showLog();
    });
    return { ok: false, summary: summarize(stack.status).text, error: message, service };
  };

  /**
   * Before a start, restart or stop: when the running stack is another workspace's (one stack per
   * machine), say so and ask. False: the user said no.
   */
  const confirmOtherStack = async (action: 'start' | 'stop'): Promise<boolean> => {
    let question: string | undefined;
    try {
      const backend = await stack.backend();
      question = otherStackQuestion(await backend.runningFrom(), backend.stackDir, action);
    } catch (err) {
      log.debug(`which stack runs: ${String(err)}`); // the operation itself reports a daemon that is down
      return true;
    }
    if (!question) return true;
    const go = action === 'start' ? "Start This Workspace's Stack" : 'Stop It';
    return (await vscode.window.showWarningMessage('Another workspace\'s stack is running', { modal: true, detail: question }, go)) === go;
  };
  const cancelled = (): StackCommandResult => ({ ok: false, summary: summarize(stack.status).text, error: 'cancelled' });

  /**
   * Docker, and the project has a compose file of its own: which stack runs is asked once and kept
   * in the workspace's settings (datapipeline.project.stack). False: the user dismissed the question.
   */
  const askWhichStack = async (): Promise<boolean> => {
    const project = ctx.project();
    let kind: StackBackend['kind'];
    try {
      kind = (await stack.backend()).kind;
    } catch {
      return true; // the start reports why there is no backend
    }
    if (kind !== 'docker' || !mustAskWhichStack(project, ctx.settings.projectStack)) return true;
    const file = vscode.workspace.asRelativePath(project.composeFile!);
    const own = 'Its Own Compose File';
    const bundled = "DataPipeline's Stack with the Project";
    const answer = await vscode.window.showInformationMessage(
      `This project has a compose file of its own (${file}). Which stack should Start Stack run?`,
      {
        modal: true,
        detail:
          `${own}: ${file} as it is (its images, services and ports).\n` +
          `${bundled}: DataPipeline's Airflow, Spark and Kafka with the project's DAGs, jobs, plugins, requirements and airflow_settings.yaml, so run tags, lineage and debugging work.\n` +
          'Kept in the setting datapipeline.project.stack.',
      },
      own,
      bundled,
    );
    if (!answer) return false;
    await vscode.workspace.getConfiguration('datapipeline', vscode.Uri.file(project.root)).update('project.stack', answer === own ? 'own' : 'bundled', vscode.ConfigurationTarget.Workspace);
    return true;
  };

  const start = async (): Promise<StackCommandResult> => {
    if (!(await askWhichStack())) return cancelled();
    if (!(await confirmOtherStack('start'))) return cancelled();
    const r = await withProgress('Starting the stack', (b, o) => b.start(o));
    if (r.ok) void vscode.window.showInformationMessage(`DataPipeline: stack started (${r.summary}).`);
    return r;
  };

  disposables.push(
    ctx.registerCommand('datapipeline.stack.start', start),
    ctx.registerCommand('datapipeline.stack.stop', async () => ((await confirmOtherStack('stop')) ? withProgress('Stopping the stack', (b, o) => b.stop(o)) : cancelled())),
    ctx.registerCommand('datapipeline.stack.restart', async () => ((await confirmOtherStack('start')) ? withProgress('Restarting the stack', (b, o) => b.restart(undefined, o)) : cancelled())),
    ctx.registerCommand('datapipeline.stack.installRequirements', async (): Promise<StackCommandResult> => {
      let backend: StackBackend;
      try {
        backend = await stack.backend();
      } catch (err) {
        return fail(err);
      }
      if (!backend.reloadRequirements) {
        void vscode.window.showInformationMessage(`DataPipeline: the ${backend.kind} stack installs no project requirements.`);
        return { ok: false, summary: summarize(stack.status).text, error: `not supported by the ${backend.kind} backend` };
      }
      const r = await withProgress("Installing the project's requirements", (b, o) => b.reloadRequirements?.(o) ?? Promise.resolve());
      if (r.ok) void vscode.window.showInformationMessage("DataPipeline: Airflow runs on the project's requirements as they are now.");
      return r;
    }),
    ctx.registerCommand('datapipeline.stack.refresh', refresh),
    ctx.registerCommand('datapipeline.stack.restartService', async (arg: ServiceArg) => {
      const service = serviceOf(arg) ?? (await pickService(stack.status.map((s) => s.id)));
      if (!service) return undefined;
      return withProgress(`Restarting ${service}`, (b, o) => b.restart(service, o));
    }),
    ctx.registerCommand('datapipeline.stack.showServiceLogs', showServiceLogs),
    ctx.registerCommand('datapipeline.stack.openServiceUrl', async (arg: ServiceArg) => {
      let url: string | undefined;
      if (arg && typeof arg === 'object' && arg.kind === 'port') url = arg.port.url;
      else {
        const id = serviceOf(arg);
        const svc = stack.status.find((s) => s.id === id);
        url = svc?.ports.find((p) => p.url)?.url;
      }
      if (!url) throw new Error('This service has no web UI to open.');
      await vscode.env.openExternal(vscode.Uri.parse(url));
      return url;
    }),
    ctx.registerCommand('datapipeline.stack.addToWorkspace', async () => {
      const folders = vscode.workspace.workspaceFolders ?? [];
      if (!folders.length) throw new Error('Open a folder first: the stack is copied into <folder>/stack.');
      const folder =
        folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Copy the DataPipeline stack into which folder?' });
      if (!folder) return undefined;
      const bundled = path.join(ctx.extensionContext.extensionPath, 'stack');
      let target: string;
      try {
        target = addStackToWorkspace(bundled, folder.uri.fsPath);
      } catch (err) {
        if (err instanceof StackExistsError) {
          throw new Error(`${err.target} already exists; the stack is used from there. Delete or rename it to add a fresh copy.`);
        }
        throw err;
      }
      log.info(`copied the bundled stack to ${target}`);
      // not awaited: a caller (Open DAG File) goes on with the copy while the message is up
      void vscode.window
        .showInformationMessage(
          `DataPipeline: the stack is now in ${path.relative(folder.uri.fsPath, target) || target}; edit its DAGs and jobs there. Restart the stack to use it.`,
          'Open Compose File',
        )
        .then((choice) => {
          if (choice === 'Open Compose File') void vscode.window.showTextDocument(vscode.Uri.file(path.join(target, 'docker-compose.yaml')));
        });
      return target;
    }),
    ctx.registerCommand('datapipeline.stack.setAirflowPassword', async (given?: unknown) => {
      // a password given by a caller (tests, a task) skips the prompts
      let password = typeof given === 'string' ? given : undefined;
      if (password === undefined) {
        password = await vscode.window.showInputBox({
          title: 'Local Airflow: new password for admin',
          prompt: 'Both backends give it to the stack\'s Airflow admin when Airflow next starts; kept with the stack\'s secrets (only you can read them).',
          password: true,
          ignoreFocusOut: true,
          validateInput: (v) => stackPasswordError(v),
        });
        if (password === undefined) return undefined;
        const again = await vscode.window.showInputBox({ title: 'Local Airflow: the same password again', password: true, ignoreFocusOut: true, validateInput: (v) => (v === password ? undefined : 'The two passwords differ.') });
        if (again === undefined) return undefined;
      }
      setStackAirflowPassword(ctx.stateDir, password);
      await ctx.connections.airflow.stackPasswordChanged();
      log.info('the local Airflow admin password was set');
      const running = stack.running;
      void vscode.window
        .showInformationMessage(`DataPipeline: the local Airflow admin password is set.${running ? ' It applies when Airflow next starts.' : ''}`, ...(running ? ['Restart Stack'] : []))
        .then((c) => c === 'Restart Stack' && vscode.commands.executeCommand('datapipeline.stack.restart'));
      return true;
    }),
    ctx.registerCommand('datapipeline.stack.resetData', async (opts?: { confirm?: boolean }) => {
      if (opts?.confirm !== false) {
        const backend = await ctx.stack.backend();
        const shared = sharedDataLine(ctx.stateDir, backend.kind, backend.stackDir);
        const targets = [...backend.describeReset(), ...(shared ? [shared] : [])];
        const ok = await vscode.window.showWarningMessage(
          'Reset the stack data? This stops the stack and deletes:',
          { modal: true, detail: targets.length ? targets.map((t) => `• ${t}`).join('\n') : 'nothing (no data yet)' },
          'Reset Data',
        );
        if (ok !== 'Reset Data') return undefined;
      }
      return withProgress('Resetting the stack data', (b, o) => b.reset(o));
    }),
  );
  return disposables;
}

/** Like the registry's describeError, without repeating the service when the message already starts with it. */
function describeError(err: unknown): string {
  if (err instanceof StackError && err.service && err.message.startsWith(`${err.service} `)) {
    return `${err.message}${err.nextStep ? ` ${err.nextStep}` : ''}`;
  }
  return describeAnyError(err);
}

async function pickService(ids: ServiceId[]): Promise<ServiceId | undefined> {
  if (!ids.length) throw new Error('The stack has no services yet: start it first.');
  return vscode.window.showQuickPick(ids, { placeHolder: 'Which service?' });
}
