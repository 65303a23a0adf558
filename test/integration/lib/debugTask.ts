/**
 * Debug Task against a real stack's Airflow (both backends, both Airflows): the task waits under
 * debugpy, a DAP client no one here wrote (@vscode/debugadapter-testsupport's DebugClient, what
 * VS Code's debug adapters are tested with) attaches as VS Code does, a breakpoint in the DAG
 * file stops on its line with the locals and the call stack, a step moves one line, Continue lets
 * the task succeed; a second session ended at the breakpoint stops the task.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { AirflowClient } from '../../../src/services/airflow/client';
import { runTask, type TaskRunOutcome } from '../../../src/services/airflow/taskRun';
import type { PathMap, StackBackend } from '../../../src/services/stack/types';
import { until } from '../../lib/until';

function debugDag(dagId: string): string {
  return `from datetime import datetime
from airflow import DAG
from airflow.operators.python import PythonOperator


def compute():
    records = [1, 2, 3]
    total = sum(records)
    print(f"total {total}")
    return total


with DAG(dag_id="${dagId}", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="compute", python_callable=compute)
`;
}

/** DebugClient has no timeouts when it talks to a port (its server mode): each wait here has one. */
function within<T>(p: Promise<T>, what: string, ms = 120_000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no ${what} after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Ends the session as VS Code's Stop does (disconnect, the debuggee terminated), then closes the connection. */
async function endSession(dc: DebugClient, terminateDebuggee: boolean): Promise<void> {
  // the adapter may close the connection before it answers: the answer is not waited for long
  await within(dc.disconnectRequest({ terminateDebuggee }), 'answer to disconnect', 10_000).catch(() => undefined);
  // stop() would wait for a second answer to disconnect: close the connection as it does after one
  (dc as unknown as { stopAdapter(): void }).stopAdapter();
}

export interface DebugFigures {
  /** from Debug Task to the breakpoint hit */
  toBreakpointMs: number;
}

/** Starts the task under debugpy; resolves once the debugger can attach. */
function startDebugged(backend: StackBackend, dagId: string, signal: AbortSignal): { ready: Promise<{ port: number; pathMap: PathMap }>; done: Promise<TaskRunOutcome> } {
  let onReady!: (v: { port: number; pathMap: PathMap }) => void;
  const ready = new Promise<{ port: number; pathMap: PathMap }>((r) => (onReady = r));
  const done = runTask(backend, { kind: 'task', dagId, taskId: 'compute' }, { signal, onDebugReady: (port, pathMap) => onReady({ port, pathMap }) });
  return { ready: Promise.race([ready, done.then((o) => Promise.reject(new Error(`the task ended before debugpy listened: ${o.output.slice(-3000)}`)))]), done };
}

/** Attaches as VS Code does: attach, breakpoints once initialized, configurationDone; waits for the stop. */
async function attach(port: number, pathMap: PathMap, file: string, line: number): Promise<{ dc: DebugClient; threadId: number }> {
  const dc = new DebugClient('node', 'unused', 'datapipeline-airflow');
  await within(dc.start(port), 'connection to debugpy');
  await within(dc.initializeRequest({ adapterID: 'datapipeline-airflow', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' }), 'answer to initialize');
  const attached = dc.attachRequest({ justMyCode: true, subProcess: false, pathMappings: pathMap.map((m) => ({ localRoot: m.local, remoteRoot: m.remote })) } as never);
  await within(dc.waitForEvent('initialized'), 'initialized event');
  const bp = await within(dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line }] }), 'answer to setBreakpoints');
  assert.equal(bp.body.breakpoints.length, 1);
  assert.ok(bp.body.breakpoints[0].verified, `the breakpoint at ${file}:${line} is verified`);
  await within(dc.configurationDoneRequest(), 'answer to configurationDone');
  await within(attached, 'answer to attach');
  const stopped = await within(dc.waitForEvent('stopped'), 'stop at the breakpoint');
  return { dc, threadId: stopped.body.threadId as number };
}

export async function exerciseDebugTask(backend: StackBackend, client: AirflowClient, dagsDir: string, tag: string): Promise<DebugFigures> {
  const dagId = `dp_debug_${tag}`;
  const file = path.join(dagsDir, `${dagId}.py`);
  const text = debugDag(dagId);
  fs.writeFileSync(file, text);
  const line = text.split('\n').findIndex((l) => l.includes('total = sum(records)')) + 1;
  try {
    await until('Airflow to list the DAG', async () => (await client.listDags()).some((d) => d.dagId === dagId), { timeoutMs: 60_000, intervalMs: 250, ignoreErrors: true });

    // a breakpoint stops on its line: locals, call stack, a step, Continue → the task succeeds
    const t0 = Date.now();
    const ac = new AbortController();
    const run = startDebugged(backend, dagId, ac.signal);
    const { port, pathMap } = await run.ready;
    const { dc, threadId } = await attach(port, pathMap, file, line);
    const toBreakpointMs = Date.now() - t0;
    try {
      const stack = await within(dc.stackTraceRequest({ threadId }), 'stack trace');
      const top = stack.body.stackFrames[0];
      assert.equal(top.source?.path, file, 'the stop is in the workspace\u2019s file (paths mapped)');
      assert.equal(top.line, line);
      assert.equal(top.name, 'compute');
      const scopes = await within(dc.scopesRequest({ frameId: top.id }), 'scopes');
      const locals = await within(dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference }), 'variables');
      assert.equal(locals.body.variables.find((v) => v.name === 'records')?.value, '[1, 2, 3]');
      // one step: the next line, `total` known
      await within(Promise.all([dc.nextRequest({ threadId }), dc.waitForEvent('stopped')]), 'stop after a step');
      const after = (await within(dc.stackTraceRequest({ threadId }), 'stack trace')).body.stackFrames[0];
      assert.equal(after.line, line + 1);
      assert.equal((await within(dc.evaluateRequest({ expression: 'total', frameId: after.id, context: 'repl' }), 'evaluate')).body.result, '6');
      await within(dc.continueRequest({ threadId }), 'answer to continue');
      const outcome = await within(run.done, 'the task\u2019s end');
      assert.equal(outcome.exitCode, 0, outcome.output.slice(-3000));
      assert.match(outcome.output, /total 6/);
      assert.deepEqual(outcome.xcoms.map((x) => [x.key, x.value]), [['return_value', 6]]);
    } finally {
      await endSession(dc, false);
    }

    // the session ended at the breakpoint (Stop in VS Code): the task stops, nothing left running
    const ac2 = new AbortController();
    const second = startDebugged(backend, dagId, ac2.signal);
    const ready2 = await second.ready;
    const { dc: dc2 } = await attach(ready2.port, ready2.pathMap, file, line);
    await endSession(dc2, true);
    // what the extension does when the session ends and the task has not
    const timer = setTimeout(() => ac2.abort(), 3000);
    const end = await within(second.done, 'the stopped task\u2019s end', 30_000);
    clearTimeout(timer);
    assert.doesNotMatch(end.output, /total 6/, `the task did not run on to its end (exit ${end.exitCode}):\n${end.output.slice(-2000)}`);
    assert.doesNotMatch(end.output, /Marking task as SUCCESS/);
    return { toBreakpointMs };
  } finally {
    fs.rmSync(file, { force: true });
  }
}
