import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { sparkLogLevel, type DriverLine } from '../services/spark/driverOutput';
import { formatDuration, SparkApplication } from '../services/spark/models';
import { sparkJobLine } from '../services/spark/jobFile';
import { SparkJob, SparkJobResult } from '../services/spark/sparkJob';
import { SparkViewModel, type StreamingStatus } from '../services/spark/sparkViewModel';
import { findStreamingQueries, queryLag } from '../services/spark/streaming';
import { describeRequest, EMPTY_FORM, formToRequest, SubmitFormError, SubmitFormState } from '../services/spark/submitPlanner';
import { SparkNode, SparkTreeProvider } from '../views/sparkView';
import type { StackBackend } from '../services/stack/types';

const FORM_STATE_KEY = 'datapipeline.spark.submitForms';

/** Options a caller (tests, other features) may pass as the 2nd argument of `datapipeline.spark.submit`. */
export interface SubmitOptions {
  form?: Partial<SubmitFormState>;
  /** false: submit with the remembered/given form without showing it */
  prompt?: boolean;
}

/** What `datapipeline.spark.submit` resolves with (undefined when the user backed out). */
export interface SubmitOutcome extends SparkJobResult {
  file: string;
  output: DriverLine[];
}

function isSubmitOptions(v: unknown): v is SubmitOptions {
  return !!v && typeof v === 'object' && !Array.isArray(v) && ('form' in v || 'prompt' in v);
}

/** A DataPipeline terminal the driver output is written to, error lines in red; Ctrl+C or closing it cancels. */
class DriverTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly pending: string[] = [];
  private opened = false;
  readonly terminal: vscode.Terminal;
  onCancel?: () => void;

  constructor(name: string) {
    this.terminal = vscode.window.createTerminal({ name, pty: this, iconPath: new vscode.ThemeIcon('zap') });
  }

  open(): void {
    this.opened = true;
    for (const s of this.pending.splice(0)) this.writeEmitter.fire(s);
  }

  close(): void {
    this.onCancel?.();
  }

  handleInput(data: string): void {
    if (data === '\x03') this.onCancel?.();
  }

  write(text: string): void {
    const s = text.replace(/\r?\n/g, '\r\n');
    if (this.opened) this.writeEmitter.fire(s);
    else this.pending.push(s);
  }

  /** Errors in red, Spark's WARN lines in yellow, its INFO/DEBUG chatter dimmed: the job's own prints stand out. */
  line(l: DriverLine): void {
    if (l.error) return this.write(`\x1b[1;31m${l.text}\x1b[0m\n`);
    const level = sparkLogLevel(l.text);
    if (level === 'WARN') return this.write(`\x1b[33m${l.text}\x1b[0m\n`);
    if (level) return this.write(`\x1b[2m${l.text}\x1b[0m\n`);
    this.write(`${l.text}\n`);
  }

  info(text: string): void {
    this.write(`\x1b[36m${text}\x1b[0m\n`);
  }
}

export function registerSparkFeature(ctx: FeatureContext): vscode.Disposable[] {
  const log = ctx.logger('spark');
  const disposables: vscode.Disposable[] = [];
  const clientFor = () => ctx.connections.spark();
  // the running applications' streaming queries, from the local stack's checkpoints (a remote cluster's are not on this machine)
  const streaming = async (appIds: string[]): Promise<StreamingStatus[]> => {
    if (!ctx.connections.active.local) return [];
    const backend = await ctx.stack.existingBackend();
    const queries = findStreamingQueries(backend?.checkpointDirs() ?? []).filter((q) => q.appId && appIds.includes(q.appId));
    if (!queries.length) return [];
    const kafka = await ctx.connections.kafka();
    return Promise.all(
      queries.map(async (query) => ({
        query,
        lags: (await Promise.all([...query.offsets.keys()].map(async (topic) => queryLag(query, topic, await kafka.watermarks(topic))))).flat(),
      })),
    );
  };
  const model = new SparkViewModel(clientFor, { streaming });
  const tree = new SparkTreeProvider(model);
  disposables.push(model, tree);
  tree.createSparkView(ctx.treeView);
  tree.showSource(() => ctx.connections.label(), ctx.connections.onDidChangeActive);
  disposables.push(ctx.stack.onDidChange(() => void model.refresh()));

  /** Driver UIs of the applications submitted from here (the master's /json does not carry them). */
  const driverUis = new Map<string, string>();
  disposables.push(
    ctx.connections.onDidChangeActive(({ switched }) => {
      // another master: nothing of the old one's applications stays on screen
      if (switched) driverUis.clear();
      model.reset();
    }),
  );
  const running = new Set<SparkJob>();
  disposables.push({ dispose: () => running.forEach((j) => void j.cancel()) });

  /** spark-submit for a named connection's cluster: the pyspark the native stack installs in the cache. */
  let submitter: Promise<StackBackend> | undefined;
  const sparkSubmitter = (): Promise<StackBackend> =>
    (submitter ??= import('../services/stack/native/nativeBackend').then(({ createNativeBackend }) =>
      createNativeBackend({ stackDir: ctx.stackDir(), cacheDir: ctx.cacheDir, stateDir: ctx.stateDir, groups: ['spark'] }),
    ));

  // CodeLens above a Spark job: "Submit" and "last run: FINISHED in 12 s" (the application this file last ran as, from here)
  const LAST_APPS_KEY = 'datapipeline.spark.lastApps';
  const lastApps = () => ctx.extensionContext.workspaceState.get<Record<string, string>>(LAST_APPS_KEY, {});
  const sparkLensChanged = new vscode.EventEmitter<void>();
  class JobLens extends vscode.CodeLens {
    constructor(range: vscode.Range, readonly file: string) {
      super(range);
    }
  }
  const jobLenses: vscode.CodeLensProvider<vscode.CodeLens> = {
    onDidChangeCodeLenses: sparkLensChanged.event,
    provideCodeLenses: (doc) => {
      const line = sparkJobLine(doc.getText());
      if (line === undefined) return [];
      const range = new vscode.Range(line, 0, line, 0);
      const lenses = [new vscode.CodeLens(range, { title: '$(zap) Submit', command: 'datapipeline.spark.submit', arguments: [doc.uri] })];
      if (lastApps()[doc.uri.fsPath]) lenses.push(new JobLens(range, doc.uri.fsPath));
      return lenses;
    },
    resolveCodeLens: async (lens) => {
      if (!(lens instanceof JobLens)) return lens;
      const appId = lastApps()[lens.file];
      const app = model.findApp(appId) ?? (await clientFor().status().then((st) => [...st.activeApps, ...st.completedApps].find((a) => a.id === appId), () => undefined));
      lens.command = app
        ? { title: `$(history) last run: ${app.state} in ${formatDuration(app.duration)}`, tooltip: `${app.id}: open its UI`, command: 'datapipeline.spark.openAppUi', arguments: [{ kind: 'app', app }] }
        : { title: `$(history) last run: ${appId} (no longer on the master)`, command: '' };
      return lens;
    },
  };
  disposables.push(sparkLensChanged, vscode.languages.registerCodeLensProvider({ pattern: '**/*.py', scheme: 'file' }, jobLenses), model.onDidChange(() => sparkLensChanged.fire()));

  const forms = () => ctx.extensionContext.workspaceState.get<Record<string, SubmitFormState>>(FORM_STATE_KEY, {});
  const rememberForm = (file: string, form: SubmitFormState) =>
    ctx.extensionContext.workspaceState.update(FORM_STATE_KEY, { ...forms(), [file]: form });

  async function pickPythonFile(): Promise<string | undefined> {
    const active = vscode.window.activeTextEditor?.document.uri;
    const files = await vscode.workspace.findFiles('**/*.py', '{**/node_modules/**,**/.venv/**,**/venv/**,**/.git/**}', 1000);
    const items: Array<vscode.QuickPickItem & { file?: string }> = files
      .map((u) => u.fsPath)
      .sort((a, b) => (a === active?.fsPath ? -1 : b === active?.fsPath ? 1 : a.localeCompare(b)))
      .map((f) => ({ label: path.basename(f), description: vscode.workspace.asRelativePath(f), file: f }));
    items.push({ label: '$(folder-opened) Browse…', alwaysShow: true });
    const pick = await vscode.window.showQuickPick(items, { title: 'Submit Spark Job: pick a Python file', matchOnDescription: true });
    if (!pick) return undefined;
    if (pick.file) return pick.file;
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Python: ['py'] }, title: 'Submit Spark Job' });
    return uris?.[0]?.fsPath;
  }

  /** The quick form: a list of fields with their values; picking one edits it; "Submit" validates. */
  async function editForm(file: string, initial: SubmitFormState): Promise<SubmitFormState | undefined> {
    const form = { ...initial };
    type Field = keyof SubmitFormState | 'submit';
    const fields: Array<{ key: Exclude<Field, 'submit' | 'kafkaConnector'>; label: string; prompt: string; placeholder: string }> = [
      { key: 'args', label: 'Program arguments', prompt: 'Arguments passed to the script (quotes group words; nothing is run by a shell)', placeholder: '--date 2024-01-01 "two words"' },
      { key: 'packages', label: 'Extra packages', prompt: 'Maven coordinates, comma separated (--packages)', placeholder: 'io.delta:delta-spark_2.12:3.1.0' },
      { key: 'jars', label: 'Extra jars', prompt: 'Jar paths, comma separated (--jars)', placeholder: '/path/to/lib.jar' },
      { key: 'conf', label: '--conf pairs', prompt: 'key=value pairs separated by spaces', placeholder: 'spark.sql.shuffle.partitions=4' },
      { key: 'driverMemory', label: 'Driver memory', prompt: 'e.g. 512m, 1g (empty = Spark default)', placeholder: '1g' },
      { key: 'executorMemory', label: 'Executor memory', prompt: 'e.g. 512m, 1g (empty = Spark default)', placeholder: '1g' },
    ];
    let error: string | undefined;
    for (;;) {
      const items: Array<vscode.QuickPickItem & { key: Field }> = [
        { key: 'submit', label: '$(play) Submit', description: error ?? describeRequest(safeRequest(file, form)), alwaysShow: true },
        { key: 'kafkaConnector', label: `$(${form.kafkaConnector ? 'pass-filled' : 'circle-large-outline'}) Kafka connector`, description: form.kafkaConnector ? 'on (spark-sql-kafka-0-10 3.5.0)' : 'off' },
        ...fields.map((f) => ({ key: f.key as Field, label: f.label, description: form[f.key] || '—' })),
      ];
      const pick = await vscode.window.showQuickPick(items, { title: `Submit Spark Job: ${path.basename(file)}`, placeHolder: 'Edit a field, then Submit' });
      if (!pick) return undefined;
      if (pick.key === 'submit') {
        try {
          formToRequest(file, form);
          return form;
        } catch (err) {
          error = err instanceof SubmitFormError ? `$(error) ${err.message}` : String(err);
          continue;
        }
      }
      if (pick.key === 'kafkaConnector') {
        form.kafkaConnector = !form.kafkaConnector;
        continue;
      }
      const f = fields.find((x) => x.key === pick.key)!;
      const value = await vscode.window.showInputBox({
        title: f.label,
        prompt: f.prompt,
        placeHolder: f.placeholder,
        value: form[f.key],
        validateInput: (v) => {
          try {
            formToRequest(file, { ...form, [f.key]: v });
            return undefined;
          } catch (err) {
            return err instanceof SubmitFormError && err.field === f.key ? err.message : undefined;
          }
        },
      });
      if (value !== undefined) form[f.key] = value;
      error = undefined;
    }
  }

  async function submit(arg?: unknown, second?: unknown): Promise<SubmitOutcome | undefined> {
    const opts: SubmitOptions = isSubmitOptions(second) ? second : isSubmitOptions(arg) ? arg : {};
    let file = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : undefined;
    file ??= await pickPythonFile();
    if (!file) return undefined;
    // refused (read-only) or confirmed (remote) before the form is filled in for nothing
    await ctx.connections.guardWrite(`Submit ${path.basename(file)} to Spark`);
    let form: SubmitFormState = { ...EMPTY_FORM, ...(forms()[file] ?? {}), ...(opts.form ?? {}) };
    if (opts.prompt !== false) {
      const edited = await editForm(file, form);
      if (!edited) return undefined;
      form = edited;
    }
    const request = formToRequest(file, form);
    await rememberForm(file, form);
    const target = ctx.connections.sparkSubmitTarget();
    if (target) {
      request.master = target.masterUrl;
      request.extraArgs = target.extraArgs;
    }
    // a named connection's cluster is reached with this machine's spark-submit (the native stack's pyspark)
    const backend = target ? await sparkSubmitter() : await ctx.stack.backend();
    const job = new SparkJob(backend, clientFor(), request);
    const name = path.basename(file);
    const term = new DriverTerminal(`Spark: ${name}`);
    const output: DriverLine[] = [];
    term.onCancel = () => void job.cancel();
    running.add(job);
    log.info(`submit ${file} (${target ? `connection ${target.connection}, ${target.masterUrl}` : `${backend.kind} backend`}) ${describeRequest(request)}`);
    let result: SparkJobResult;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Spark: ${name}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => void job.cancel());
          progress.report({ message: 'checking the master…' });
          let shown = false;
          return job.run({
            onLine: (l) => {
              if (!shown) {
                shown = true;
                term.terminal.show(true);
                progress.report({ message: 'running (Cancel stops the driver and kills the application)' });
              }
              output.push(l);
              term.line(l);
            },
            onAppId: (id) => {
              progress.report({ message: `${id} running` });
              void model.waitForApp(id, 60_000);
            },
            onDriverUi: (url) => {
              if (job.applicationId) driverUis.set(job.applicationId, url);
            },
          });
        },
      );
    } catch (err) {
      term.terminal.dispose();
      throw err;
    } finally {
      running.delete(job);
      // closing the terminal later must not "cancel" (and POST a kill for) a finished job
      term.onCancel = undefined;
    }
    if (result.appId && result.driverUiUrl) driverUis.set(result.appId, result.driverUiUrl);
    if (result.appId) {
      await ctx.extensionContext.workspaceState.update(LAST_APPS_KEY, { ...lastApps(), [file]: result.appId });
      sparkLensChanged.fire();
    }
    if (result.appId) model.recordDriverExit(result.appId, result.cancelled ? 'cancelled' : result.exitCode);
    if (result.appId) void model.waitForApp(result.appId, 15_000, ['FINISHED', 'FAILED', 'KILLED']);
    const status = result.cancelled ? 'cancelled' : result.exitCode === 0 ? 'finished' : `failed (exit code ${result.exitCode})`;
    term.info(`\n[DataPipeline] spark-submit ${status}${result.appId ? ` · ${result.appId}` : ''}`);
    log.info(`${file}: ${status} ${result.appId ?? ''}`);
    const message = `Spark job ${name} ${status}${result.appId ? ` (${result.appId})` : ''}.` +
      (result.exitCode !== 0 && !result.cancelled && result.errorLines.length ? ` ${lastExceptionLine(result.errorLines)}` : '');
    const show = result.exitCode === 0 || result.cancelled ? vscode.window.showInformationMessage : vscode.window.showErrorMessage;
    void Promise.resolve(show(message, 'Show Output')).then((choice) => {
      if (choice === 'Show Output') term.terminal.show();
    });
    return { ...result, file, output };
  }

  const pickRunningApp = async (): Promise<SparkApplication | undefined> => {
    await model.refresh();
    const state = model.state;
    if (state.kind !== 'ok') throw new Error(state.kind === 'unreachable' ? state.message : 'The Spark master has not answered yet; try again.');
    if (!state.status.activeApps.length) {
      void vscode.window.showInformationMessage('No Spark application is running.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      state.status.activeApps.map((a) => ({ label: a.name || a.id, description: a.id, detail: `${a.state} · ${a.cores} cores`, app: a })),
      { title: 'Kill which Spark application?', matchOnDescription: true },
    );
    return picked?.app;
  };

  const appOf = (node: unknown): SparkApplication | undefined =>
    node && typeof node === 'object' && (node as SparkNode).kind === 'app' ? (node as { app: SparkApplication }).app : undefined;

  disposables.push(
    ctx.registerCommand('datapipeline.spark.refresh', () => model.refresh()),
    ctx.registerCommand('datapipeline.spark.submit', submit as (...a: never[]) => unknown),
    ctx.registerCommand('datapipeline.spark.openMasterUi', () => vscode.env.openExternal(vscode.Uri.parse(clientFor().uiUrl))),
    ctx.registerCommand('datapipeline.spark.openAppUi', (node?: SparkNode) => {
      const app = appOf(node);
      if (!app) return vscode.env.openExternal(vscode.Uri.parse(clientFor().uiUrl));
      const live = app.state === 'RUNNING' ? driverUis.get(app.id) : undefined;
      return vscode.env.openExternal(vscode.Uri.parse(live ?? clientFor().appPageUrl(app.id)));
    }),
    ctx.registerCommand('datapipeline.spark.killApp', async (node?: SparkNode) => {
      // from the palette (or a row the 1 s refresh of running apps replaced): ask which running application
      const app = appOf(node) ?? (await pickRunningApp());
      if (!app) return;
      await ctx.connections.guardWrite(`Kill Spark application ${app.id}`);
      const choice = await vscode.window.showWarningMessage(
        `Kill Spark application "${app.name}" (${app.id})?`,
        { modal: true, detail: 'Its executors stop and its driver is told to stop; work in progress is lost.' },
        'Kill',
      );
      if (choice !== 'Kill') return;
      // A job submitted from here: stop its driver too (a killed application leaves a Python driver running).
      const own = [...running].find((j) => j.applicationId === app.id);
      if (own) await own.cancel();
      else await clientFor().killApp(app.id);
      log.info(`killed ${app.id}`);
      await model.waitForApp(app.id, 15_000, ['KILLED', 'FINISHED', 'FAILED']);
    }),
  );
  return disposables;
}

function safeRequest(file: string, form: SubmitFormState) {
  try {
    return formToRequest(file, form);
  } catch {
    return { file };
  }
}

/** The most telling line of an error report: the last exception line. */
function lastExceptionLine(errorLines: string[]): string {
  const ex = [...errorLines].reverse().find((l) => /(Error|Exception)\b/.test(l) && !/^\s/.test(l));
  return (ex ?? errorLines[errorLines.length - 1]).slice(0, 300);
}
