/**
 * Run Task (Airflow's `tasks test`: one task now, no scheduler, its state not recorded) and Test DAG
 * (`dags test`: the whole DAG in one process) on the Local stack's Airflow, from the DAGs view, the
 * CodeLens above a task or DAG, or the palette. Output streams into a terminal (Ctrl+C stops the
 * task), tracebacks name the workspace's files (the terminal links them), XComs are shown as pushed.
 */
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { runTask, type TaskRunOutcome, type TaskRunRequest, parseXcomLine } from '../services/airflow/taskRun';
import type { DagNode } from '../views/dagsView';

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const CYAN = '\x1b[36m';
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';

/** A terminal that shows one run and stops it on Ctrl+C or when closed. */
class RunTerminal implements vscode.Pseudoterminal {
  private readonly writer = new vscode.EventEmitter<string>();
  private readonly closer = new vscode.EventEmitter<void>();
  readonly onDidWrite = this.writer.event;
  readonly onDidClose = this.closer.event;
  readonly abort = new AbortController();
  private done = false;
  private openedResolve!: () => void;
  readonly opened = new Promise<void>((r) => (this.openedResolve = r));

  open(): void {
    this.openedResolve();
  }
  close(): void {
    this.abort.abort();
  }
  handleInput(data: string): void {
    if (data === '\x03' && !this.done) {
      this.line(`${DIM}^C stopping…${RESET}`);
      this.abort.abort();
    } else if (this.done) this.closer.fire();
  }
  line(text: string): void {
    this.writer.fire(`${text.replace(/\r?\n/g, '\r\n')}\r\n`);
  }
  finish(text: string): void {
    this.done = true;
    this.line(text);
    this.line(`${DIM}Press any key to close this terminal.${RESET}`);
  }
}

function label(r: TaskRunRequest): string {
  return r.kind === 'dag' ? `Test DAG ${r.dagId}` : `Run ${r.taskId} (${r.dagId})`;
}

function shortValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 500 ? `${s.slice(0, 500)}… (${s.length} characters)` : s;
}

export interface TaskRunDeps {
  /** the DAGs view re-reads (a Test DAG run is recorded) */
  refresh(): void;
  pickDag(node: unknown): Promise<string | undefined>;
}

export function registerTaskRunCommands(ctx: FeatureContext, deps: TaskRunDeps): vscode.Disposable[] {
  const log = ctx.logger('airflow');

  const run = async (r: TaskRunRequest): Promise<TaskRunOutcome | undefined> => {
    if (!ctx.connections.active.local) {
      throw new Error(`${label(r)} runs on the Local stack's Airflow, and the active connection is "${ctx.connections.active.name}". Switch to the Local stack (DataPipeline: Select Connection) and retry.`);
    }
    const backend = await ctx.stack.backend();
    const pty = new RunTerminal();
    const terminal = vscode.window.createTerminal({ name: label(r), pty, iconPath: new vscode.ThemeIcon(r.kind === 'dag' ? 'run-all' : 'play') });
    terminal.show(true);
    await pty.opened;
    pty.line(`${DIM}$ airflow ${r.kind === 'dag' ? `dags test ${r.dagId}` : `tasks test ${r.dagId} ${r.taskId}`}   (the stack's Airflow, ${backend.kind}; Ctrl+C stops it)${RESET}`);
    const t0 = Date.now();
    try {
      const outcome = await runTask(backend, r, {
        signal: pty.abort.signal,
        onLine: (line) => {
          const x = parseXcomLine(line);
          pty.line(x ? `${CYAN}XCom ${x.task ?? '?'}.${x.key} = ${shortValue(x.value)}${RESET}` : line);
        },
      });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      const xcoms = outcome.xcoms.length ? ` · ${outcome.xcoms.length} XCom${outcome.xcoms.length === 1 ? '' : 's'}` : '';
      if (pty.abort.signal.aborted) pty.finish(`${RED}■ stopped after ${secs} s${RESET}`);
      else if (outcome.exitCode === 0) pty.finish(`${GREEN}✔ ${label(r)} succeeded in ${secs} s${xcoms}${RESET}`);
      else {
        pty.finish(`${RED}✖ ${label(r)} failed (exit ${outcome.exitCode}) after ${secs} s: the traceback above links to the file and line${RESET}`);
        void vscode.window.showErrorMessage(`${label(r)} failed (exit ${outcome.exitCode}). The terminal shows its traceback.`, 'Show Terminal').then((c) => c && terminal.show());
      }
      log.info(`${label(r)}: exit ${outcome.exitCode} in ${secs} s, ${outcome.xcoms.length} XCom(s)`);
      if (r.kind === 'dag') deps.refresh();
      return outcome;
    } catch (err) {
      pty.finish(`${RED}✖ ${err instanceof Error ? err.message : String(err)}${RESET}`);
      throw err;
    }
  };

  const pickTask = async (dagId: string): Promise<string | undefined> => {
    const tasks = await ctx.connections.airflow.withClient((c) => c.listTasks(dagId));
    if (!tasks.length) throw new Error(`Airflow lists no task in ${dagId}.`);
    return (await vscode.window.showQuickPick(tasks, { title: `Run which task of ${dagId}?` })) ?? undefined;
  };

  return [
    ctx.registerCommand('datapipeline.dags.runTask', async (node?: unknown, taskIdArg?: unknown) => {
      const n = node as DagNode | undefined;
      // a task instance row: that task; a CodeLens: (dagId, taskId); a DAG row or the palette: pick one
      const dagId = n?.kind === 'task' ? n.ti.dagId : await deps.pickDag(node);
      if (!dagId) return undefined;
      const taskId = n?.kind === 'task' ? n.ti.taskId : typeof taskIdArg === 'string' ? taskIdArg : await pickTask(dagId);
      if (!taskId) return undefined;
      return run({ kind: 'task', dagId, taskId });
    }),
    ctx.registerCommand('datapipeline.dags.testDag', async (node?: unknown) => {
      const dagId = await deps.pickDag(node);
      if (!dagId) return undefined;
      return run({ kind: 'dag', dagId });
    }),
  ];
}
