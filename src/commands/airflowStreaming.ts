/** Trigger Streaming DAG: triggers the bundled streaming DAG, follows it with progress, then opens its run view (or the failed task's log). */
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { failingTask, followRun, STREAMING_DAG_ID, triggerStreaming } from '../services/airflow/streamingRun';
import type { AirflowDagRun } from '../services/airflow/types';
import type { LogTarget } from './airflowTaskLogs';

/** What `datapipeline.dags.triggerStreaming` resolves with (tests read it). */
export interface StreamingOutcome {
  run: AirflowDagRun;
  failedTask?: string;
}

export interface StreamingUi {
  /** re-read the DAGs view (after ms) */
  refresh(ms?: number): void;
  openRunView(dagId: string, runId: string): Promise<unknown>;
  openTaskLog(t: LogTarget): Promise<void>;
}

export async function runStreamingDag(ctx: FeatureContext, ui: StreamingUi): Promise<StreamingOutcome | undefined> {
  const conn = ctx.connections.airflow;
  const log = ctx.logger('airflow');
  const provider = { refresh: (ms?: number) => ui.refresh(ms) };
  const openTaskLog = ui.openTaskLog;
  await ctx.connections.guardWrite(`Trigger DAG "${STREAMING_DAG_ID}"`);
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Streaming DAG ${STREAMING_DAG_ID}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort(new vscode.CancellationError()));
      progress.report({ message: 'triggering…' });
      const run = await conn.withClient((c) => triggerStreaming(c));
      log.info(`triggered ${STREAMING_DAG_ID} run ${run.runId}`);
      provider.refresh(0);
      const client = await conn.client();
      const end = await followRun(client, STREAMING_DAG_ID, run.runId, {
        signal: abort.signal,
        onProgress: (p) => progress.report({ message: `${p.run.runId}: ${p.message}` }),
      });
      provider.refresh(0);
      return { run: end.run, failedTask: end.run.state === 'failed' ? failingTask(end.tasks)?.taskId : undefined, tasks: end.tasks };
    },
  );
  if (outcome.run.state === 'success') {
    void vscode.window.showInformationMessage(`${STREAMING_DAG_ID} run ${outcome.run.runId} succeeded.`);
    await ui.openRunView(STREAMING_DAG_ID, outcome.run.runId);
    return { run: outcome.run };
  }
  const failed = outcome.tasks.find((t) => t.taskId === outcome.failedTask);
  const choice = await vscode.window.showErrorMessage(
    `DataPipeline: ${STREAMING_DAG_ID} run ${outcome.run.runId} failed${failed ? ` at task ${failed.taskId}` : ''}. Open its log to see why, fix, then trigger again.`,
    ...(failed ? ['Show Log'] : []),
  );
  if (choice === 'Show Log' && failed) await openTaskLog({ dagId: failed.dagId, runId: failed.runId, taskId: failed.taskId, tryNumber: Math.max(1, failed.tryNumber), mapIndex: failed.mapIndex });
  return { run: outcome.run, failedTask: outcome.failedTask };
}
