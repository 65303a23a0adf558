/**
 * Run Task (Airflow's `tasks test`: one task now, no scheduler, its state not recorded) and Test DAG
 * (`dags test`: the whole DAG in one process) on the Local stack's Airflow, from the DAGs view, the
 * CodeLens above a task or DAG, or the palette. Output streams into a terminal (Ctrl+C stops the
 * task), tracebacks name the workspace's files (the terminal links them), XComs are shown as pushed.
 */
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { DEBUG_MARK, runTask, type TaskRunOutcome, type TaskRunRequest, parseXcomLine } from '../services/airflow/taskRun';
import type { PathMap } from '../services/stack/types';
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

function label(r: TaskRunRequest, debug = false): string {
  return r.kind === 'dag' ? `Test DAG ${r.dagId}` : `${debug ? 'Debug' : 'Run'} ${r.taskId} (${r.dagId})`;
}

/** The debugger type the extension contributes: VS Code attaches to debugpy's own adapter (in the task's process) on 127.0.0.1. */
export const DEBUG_TYPE = 'datapipeline-airflow';

/** The attach configuration of a task waiting under debugpy on `port`: breakpoints in the workspace's files map to the process's. */
export function debugConfiguration(name: string, port: number, pathMap: PathMap): vscode.DebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: 'attach',
    name,
    connect: { host: '127.0.0.1', port },
    pathMappings: pathMap.map((m) => ({ localRoot: m.local, remoteRoot: m.remote })),
    justMyCode: true,
    // debugpy would hold a Python child process (a task's subprocess) until a session attached to it,
    // which only the Python extension starts: children run undebugged instead
    subProcess: false,
  };
}

/** Serves the extension's debugger type: debugpy's adapter, already listening in the task's process (loopback only). */
export function registerDebugAdapter(): vscode.Disposable {
  return vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
    createDebugAdapterDescriptor(session) {
      const c = session.configuration.connect as { host?: unknown; port?: unknown } | undefined;
      const host = typeof c?.host === 'string' ? c.host : '127.0.0.1';
      if (typeof c?.port !== 'number' || !Number.isInteger(c.port)) throw new Error('A DataPipeline task debug session needs connect.port: start it with DataPipeline: Debug Task.');
      if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`A DataPipeline task debug session attaches on this machine only, not ${host}.`);
      return new vscode.DebugAdapterServer(c.port, '127.0.0.1');
    },
  });
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
  /** debug port → what stops its task when VS Code ends the session (the disconnect request it sends) */
  const stopOnDisconnect = new Map<number, () => void>();
  const tracker = vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
    createDebugAdapterTracker(session) {
      const port = (session.configuration.connect as { port?: number } | undefined)?.port;
      // a task that ends by itself: debugpy says so (exited, terminated) before VS Code disconnects
      let ended = false;
      return {
        onDidSendMessage: (m: { type?: string; event?: string }) => {
          if (m.type === 'event' && (m.event === 'exited' || m.event === 'terminated')) ended = true;
        },
        onWillReceiveMessage: (m: { type?: string; command?: string }) => {
          if (!ended && m.type === 'request' && m.command === 'disconnect' && port !== undefined) stopOnDisconnect.get(port)?.();
        },
      };
    },
  });

  const run = async (r: TaskRunRequest, debug = false): Promise<TaskRunOutcome | undefined> => {
    if (!ctx.connections.active.local) {
      throw new Error(`${label(r, debug)} runs on the Local stack's Airflow, and the active connection is "${ctx.connections.active.name}". Switch to the Local stack (DataPipeline: Select Connection) and retry.`);
    }
    const backend = await ctx.stack.backend();
    const pty = new RunTerminal();
    const terminal = vscode.window.createTerminal({ name: label(r, debug), pty, iconPath: new vscode.ThemeIcon(debug ? 'debug-alt' : r.kind === 'dag' ? 'run-all' : 'play') });
    terminal.show(true);
    await pty.opened;
    pty.line(`${DIM}$ airflow ${r.kind === 'dag' ? `dags test ${r.dagId}` : `tasks test ${r.dagId} ${r.taskId}`}   (the stack's Airflow, ${backend.kind}${debug ? ', under debugpy' : ''}; Ctrl+C stops it)${RESET}`);
    const t0 = Date.now();
    let session: vscode.DebugSession | undefined;
    const subs: vscode.Disposable[] = [];
    try {
      const outcome = await runTask(backend, r, {
        signal: pty.abort.signal,
        onLine: (line) => {
          if (line.includes(DEBUG_MARK)) return pty.line(`${DIM}debugpy listens: attaching VS Code's debugger…${RESET}`);
          const x = parseXcomLine(line);
          pty.line(x ? `${CYAN}XCom ${x.task ?? '?'}.${x.key} = ${shortValue(x.value)}${RESET}` : line);
        },
        onDebugReady: debug
          ? (port, pathMap) => {
              const name = label(r, true);
              // Stop or Disconnect in the debug toolbar: the task stops now (Disconnect alone would let it run on)
              stopOnDisconnect.set(port, () => {
                pty.line(`${DIM}the debug session ended: stopping the task${RESET}`);
                pty.abort.abort();
              });
              subs.push(
                { dispose: () => stopOnDisconnect.delete(port) },
                vscode.debug.onDidStartDebugSession((s) => {
                  if (s.configuration.connect?.port === port && s.type === DEBUG_TYPE) session = s;
                }),
                // any other end of the session: the task stops too, after a grace for one finishing by itself
                vscode.debug.onDidTerminateDebugSession((s) => {
                  if (s !== session) return;
                  const t = setTimeout(() => pty.abort.abort(), 3000);
                  subs.push({ dispose: () => clearTimeout(t) });
                }),
              );
              const folder = vscode.workspace.workspaceFolders?.[0];
              void vscode.debug.startDebugging(folder, debugConfiguration(name, port, pathMap)).then(
                (ok) => {
                  if (!ok) {
                    pty.line(`${RED}VS Code's debugger did not start: the task is stopped.${RESET}`);
                    pty.abort.abort();
                  }
                },
                (err: unknown) => {
                  pty.line(`${RED}VS Code's debugger did not start (${err instanceof Error ? err.message : String(err)}): the task is stopped.${RESET}`);
                  pty.abort.abort();
                },
              );
            }
          : undefined,
      });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      const xcoms = outcome.xcoms.length ? ` · ${outcome.xcoms.length} XCom${outcome.xcoms.length === 1 ? '' : 's'}` : '';
      const what = label(r, debug);
      if (pty.abort.signal.aborted) pty.finish(`${RED}■ stopped after ${secs} s${RESET}`);
      else if (outcome.exitCode === 0) pty.finish(`${GREEN}✔ ${what} succeeded in ${secs} s${xcoms}${RESET}`);
      else {
        pty.finish(`${RED}✖ ${what} failed (exit ${outcome.exitCode}) after ${secs} s: the traceback above links to the file and line${RESET}`);
        void vscode.window.showErrorMessage(`${what} failed (exit ${outcome.exitCode}). The terminal shows its traceback.`, 'Show Terminal').then((c) => c && terminal.show());
      }
      log.info(`${what}: exit ${outcome.exitCode} in ${secs} s, ${outcome.xcoms.length} XCom(s)`);
      if (r.kind === 'dag') deps.refresh();
      return outcome;
    } catch (err) {
      pty.finish(`${RED}✖ ${err instanceof Error ? err.message : String(err)}${RESET}`);
      throw err;
    } finally {
      for (const d of subs) d.dispose();
      if (session) void vscode.debug.stopDebugging(session).then(undefined, () => undefined);
    }
  };

  const pickTask = async (dagId: string): Promise<string | undefined> => {
    const tasks = await ctx.connections.airflow.withClient((c) => c.listTasks(dagId));
    if (!tasks.length) throw new Error(`Airflow lists no task in ${dagId}.`);
    return (await vscode.window.showQuickPick(tasks, { title: `Run which task of ${dagId}?` })) ?? undefined;
  };

  /** a task instance row: that task; a CodeLens: (dagId, taskId); a DAG row or the palette: pick one */
  const taskOf = async (node: unknown, taskIdArg: unknown): Promise<TaskRunRequest | undefined> => {
    const n = node as DagNode | undefined;
    const dagId = n?.kind === 'task' ? n.ti.dagId : await deps.pickDag(node);
    if (!dagId) return undefined;
    const taskId = n?.kind === 'task' ? n.ti.taskId : typeof taskIdArg === 'string' ? taskIdArg : await pickTask(dagId);
    return taskId ? { kind: 'task', dagId, taskId } : undefined;
  };

  return [
    registerDebugAdapter(),
    tracker,
    ctx.registerCommand('datapipeline.dags.runTask', async (node?: unknown, taskIdArg?: unknown) => {
      const r = await taskOf(node, taskIdArg);
      return r && run(r);
    }),
    ctx.registerCommand('datapipeline.dags.debugTask', async (node?: unknown, taskIdArg?: unknown) => {
      const r = await taskOf(node, taskIdArg);
      return r && run(r, true);
    }),
    ctx.registerCommand('datapipeline.dags.testDag', async (node?: unknown) => {
      const dagId = await deps.pickDag(node);
      if (!dagId) return undefined;
      return run({ kind: 'dag', dagId });
    }),
  ];
}
