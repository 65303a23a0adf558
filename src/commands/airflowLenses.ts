/** CodeLens above each DAG in a Python file: "Trigger" and "last run: success in 34s" (opens the run view). */
import * as vscode from 'vscode';
import type { AirflowConnection } from '../connections';
import { findDagDefinitions, findTaskDefinitions } from '../services/airflow/dagFile';
import { formatSeconds, spanSeconds } from '../services/airflow/dagsModel';
import { LastRuns } from '../services/airflow/lastRuns';
import { Disposable } from '../services/util/lifecycle';

class DagLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly dagId: string,
  ) {
    super(range);
  }
}

export class DagCodeLenses extends Disposable implements vscode.CodeLensProvider<vscode.CodeLens> {
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.changed.event;
  /** the last runs are read when a lens shows, never with a password prompt */
  readonly lastRuns: LastRuns;

  constructor(
    conn: AirflowConnection,
    private readonly localStack: () => boolean,
  ) {
    super();
    this.lastRuns = new LastRuns({
      read: (dagId) =>
        conn
          .client()
          .then((c) => c.listDagRuns(dagId, { limit: 1 }))
          .then((runs) => runs[0], () => undefined),
      onChange: () => this.changed.fire(),
    });
    // by extension: without a Python language extension, .py files have no language id
    this.register(vscode.languages.registerCodeLensProvider({ pattern: '**/*.py', scheme: 'file' }, this));
  }

  /** New runs and states: the DAGs view read them (redraws only when a shown DAG's last run changed). */
  viewChanged(): void {
    void this.lastRuns.check();
  }

  /** Another connection: its runs are not these. */
  connectionChanged(): void {
    this.lastRuns.clear();
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const text = doc.getText();
    const dags = findDagDefinitions(text).flatMap((d) => {
      const range = new vscode.Range(d.line, 0, d.line, 0);
      return [
        new vscode.CodeLens(range, { title: '$(play) Trigger', command: 'datapipeline.dags.trigger', arguments: [d.dagId] }),
        new vscode.CodeLens(range, { title: '$(run-all) Test DAG', tooltip: `Run ${d.dagId} in one process on the stack's Airflow (dag.test())`, command: 'datapipeline.dags.testDag', arguments: [d.dagId] }),
        new DagLens(range, d.dagId),
      ];
    });
    // the stack's Airflow runs one task now (tasks test): on the Local stack only
    const tasks = this.localStack()
      ? findTaskDefinitions(text).flatMap((t) => {
          const range = new vscode.Range(t.line, 0, t.line, 0);
          return [
            new vscode.CodeLens(range, { title: '$(debug-start) Run Task', tooltip: `Run ${t.taskId} of ${t.dagId} now on the stack's Airflow (airflow tasks test)`, command: 'datapipeline.dags.runTask', arguments: [t.dagId, t.taskId] }),
            new vscode.CodeLens(range, { title: '$(debug-alt) Debug Task', tooltip: `Run ${t.taskId} of ${t.dagId} under the debugger: breakpoints in this file and the modules it imports stop`, command: 'datapipeline.dags.debugTask', arguments: [t.dagId, t.taskId] }),
          ];
        })
      : [];
    return [...dags, ...tasks];
  }

  async resolveCodeLens(lens: vscode.CodeLens): Promise<vscode.CodeLens> {
    if (!(lens instanceof DagLens)) return lens;
    const run = await this.lastRuns.get(lens.dagId);
    if (!run) {
      lens.command = { title: `${lens.dagId}: no run yet`, command: '' };
      return lens;
    }
    const secs = spanSeconds(run.startDate, run.endDate);
    const how = run.state === 'running' || run.state === 'queued' ? `${run.state}${secs !== undefined ? ` for ${formatSeconds(secs)}` : ''}` : `${run.state}${secs !== undefined ? ` in ${formatSeconds(secs)}` : ''}`;
    lens.command = { title: `$(history) last run: ${how}`, tooltip: `Open the run view of ${run.runId}`, command: 'datapipeline.outputViewer.open', arguments: [lens.dagId, run.runId] };
    return lens;
  }
}
