/**
 * Task logs as read-only documents (scheme datapipeline-airflow-log): one TaskLogFollow per open log,
 * which follows the try until it ends and never asks for a password from a poll.
 */
import * as vscode from 'vscode';
import type { AirflowConnection } from '../connections';
import { isFinishedTaskState } from '../services/airflow/dagsModel';
import { TaskLogFollow } from '../services/airflow/logFollow';

export const LOG_SCHEME = 'datapipeline-airflow-log';

export interface LogTarget {
  dagId: string;
  runId: string;
  taskId: string;
  tryNumber: number;
  mapIndex: number;
}

export function logUri(t: LogTarget): vscode.Uri {
  const q = new URLSearchParams({ dag: t.dagId, run: t.runId, task: t.taskId, try: String(t.tryNumber), map: String(t.mapIndex) });
  return vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${t.dagId}/${t.taskId} try ${t.tryNumber}.log`, query: q.toString() });
}

function parseLogUri(uri: vscode.Uri): LogTarget {
  const q = new URLSearchParams(uri.query);
  return { dagId: q.get('dag') ?? '', runId: q.get('run') ?? '', taskId: q.get('task') ?? '', tryNumber: Number(q.get('try') ?? 1), mapIndex: Number(q.get('map') ?? -1) };
}

/** Task logs as read-only documents that keep following (services/airflow/logFollow) until the try ends. */
export class TaskLogProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly logs = new Map<string, TaskLogFollow>();
  private readonly closeSub: vscode.Disposable;

  constructor(private readonly conn: AirflowConnection) {
    this.closeSub = vscode.workspace.onDidCloseTextDocument((d) => {
      if (d.uri.scheme !== LOG_SCHEME) return;
      this.logs.get(d.uri.toString())?.dispose();
      this.logs.delete(d.uri.toString());
    });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const key = uri.toString();
    let follow = this.logs.get(key);
    if (!follow) {
      const t = parseLogUri(uri);
      const ti = { dagId: t.dagId, runId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex };
      follow = new TaskLogFollow({
        // only the read the user asked for may ask for a password; polls never do
        read: (token, interactive) => this.conn.withClient((c) => c.getTaskLog(ti, t.tryNumber, token), { ask: interactive }),
        tryFinished: async () => {
          const tis = await this.conn.withClient((c) => c.listTaskInstances(t.dagId, t.runId), { ask: false });
          const x = tis.find((i) => i.taskId === t.taskId && i.mapIndex === t.mapIndex);
          return !!x && isFinishedTaskState(x.state) && x.tryNumber === t.tryNumber;
        },
        onUpdate: () => this.emitter.fire(uri),
      });
      this.logs.set(key, follow);
      await follow.start();
    }
    return follow.content();
  }

  /**
   * The connection switched: an open log is the old connection's, and following it would fetch from
   * the new one's Airflow. Each stops following and says so; its text stays.
   */
  stopFollowing(from: string): void {
    for (const f of this.logs.values()) f.stop(`the connection changed: this log of "${from}" no longer follows. Open it again from the DAGs view.`);
  }

  dispose(): void {
    for (const f of this.logs.values()) f.dispose();
    this.logs.clear();
    this.closeSub.dispose();
    this.emitter.dispose();
  }
}
