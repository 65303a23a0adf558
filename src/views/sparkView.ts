import * as vscode from 'vscode';
import { escapeMarkdown } from '../services/util/markdown';
import { BaseTreeProvider, type TreeViewSource } from './base';
import { formatDuration, formatMemoryMiB, SparkApplication, SparkMasterStatus, SparkWorker } from '../services/spark/models';
import { appDuration, SparkViewModel, type StreamingStatus } from '../services/spark/sparkViewModel';
import { describeQuery, totalLag } from '../services/spark/streaming';
import { parseSparkTags, untaggedName } from '../services/airflow/runTrace';
import * as path from 'node:path';

export type SparkNode =
  | { kind: 'unreachable'; uiUrl: string; message: string }
  | { kind: 'loading'; uiUrl: string }
  | { kind: 'master'; status: SparkMasterStatus; uiUrl: string }
  | { kind: 'worker'; worker: SparkWorker }
  | { kind: 'group'; group: 'running' | 'completed'; count: number }
  | { kind: 'app'; app: SparkApplication; queries?: StreamingStatus[] }
  | { kind: 'query'; appId: string; status: StreamingStatus }
  | { kind: 'empty'; text: string };

/** Identity of a row (parents unique in the tree). */
export function sparkNodeKey(n: SparkNode): string {
  switch (n.kind) {
    case 'group':
      return `group:${n.group}`;
    case 'worker':
      return `worker:${n.worker.id}`;
    case 'app':
      return `app:${n.app.id}`;
    case 'query':
      return `query:${n.appId}:${n.status.query.checkpoint}`;
    case 'empty':
      return `empty:${n.text}`;
    default:
      return n.kind;
  }
}

/** contextValue of an application item: `sparkApp.running` (killable) or `sparkApp.completed`. */
export function appContextValue(app: SparkApplication): string {
  return app.state === 'RUNNING' || app.state === 'WAITING' ? 'sparkApp.running' : 'sparkApp.completed';
}

const STATE_ICONS: Record<string, vscode.ThemeIcon> = {
  RUNNING: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  WAITING: new vscode.ThemeIcon('clock', new vscode.ThemeColor('charts.yellow')),
  FINISHED: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  FAILED: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  KILLED: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('charts.orange')),
};

/**
 * The Spark Applications view: master (status, URL, workers with cores and memory used/total),
 * running applications with a ticking duration, completed ones newest first. Reads only from the
 * SparkViewModel, which polls the master while the view is visible.
 */
export class SparkTreeProvider extends BaseTreeProvider<SparkNode> {
  constructor(private readonly model: SparkViewModel) {
    super({
      key: sparkNodeKey,
      // a running application's row shows a ticking duration
      signature: (n, now) => (n.kind === 'app' ? JSON.stringify(n) + formatDuration(this.duration(n.app, now)) : JSON.stringify(n)),
      hasChildren: (n) => n.kind === 'master' || n.kind === 'group' || (n.kind === 'app' && !!n.queries?.length),
    });
    this.register(model.onDidChange(() => this.onModelChange()));
  }

  /** Takes the view and ties the model's polling to its visibility. */
  createSparkView(source: TreeViewSource): vscode.TreeView<SparkNode> {
    const view = this.attachView(source, 'datapipeline.spark');
    this.model.setVisible(view.visible);
    this.register(view.onDidChangeVisibility((e) => this.model.setVisible(e.visible)));
    return view;
  }

  private onModelChange(): void {
    const s = this.model.state;
    // Tick the running apps' durations once a second while any run and the view is visible.
    this.setPolling(s.kind === 'ok' && s.status.activeApps.length > 0 ? 1000 : 0);
    this.refresh(0);
  }

  private duration(a: SparkApplication, now: number): number {
    const s = this.model.state;
    return s.kind === 'ok' ? appDuration(a, now, s.fetchedAt) : a.duration;
  }

  protected readChildren(node: SparkNode | undefined): SparkNode[] {
    const s = this.model.state;
    if (!node) {
      if (s.kind === 'loading') return [{ kind: 'loading', uiUrl: s.uiUrl }];
      if (s.kind === 'unreachable') return [{ kind: 'unreachable', uiUrl: s.uiUrl, message: s.message }];
      return [
        { kind: 'master', status: s.status, uiUrl: s.uiUrl },
        { kind: 'group', group: 'running', count: s.status.activeApps.length },
        { kind: 'group', group: 'completed', count: s.status.completedApps.length },
      ];
    }
    if (s.kind !== 'ok') return [];
    if (node.kind === 'master') return s.status.workers.map((worker) => ({ kind: 'worker', worker }));
    if (node.kind === 'group') {
      const apps = node.group === 'running' ? s.status.activeApps : s.status.completedApps;
      if (!apps.length) {
        return [{ kind: 'empty', text: node.group === 'running' ? 'No running applications' : 'No completed applications' }];
      }
      return apps.map((app) => ({ kind: 'app', app, queries: s.streaming?.get(app.id) }));
    }
    if (node.kind === 'app') return (node.queries ?? []).map((status) => ({ kind: 'query', appId: node.app.id, status }));
    return [];
  }

  getTreeItem(node: SparkNode): vscode.TreeItem {
    const None = vscode.TreeItemCollapsibleState.None;
    switch (node.kind) {
      case 'loading': {
        const item = new vscode.TreeItem(`Connecting to Spark at ${node.uiUrl}…`, None);
        item.iconPath = new vscode.ThemeIcon('loading~spin');
        return item;
      }
      case 'unreachable': {
        // no URL: the connection has no Spark (the message says so)
        const item = new vscode.TreeItem(node.uiUrl ? `Spark unreachable at ${node.uiUrl} — Retry` : node.message, None);
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.tooltip = node.message;
        item.command = { command: 'datapipeline.spark.refresh', title: 'Retry' };
        item.contextValue = 'sparkUnreachable';
        return item;
      }
      case 'master': {
        const st = node.status;
        const item = new vscode.TreeItem(`Master ${st.status}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.description =
          `${st.url} · ${st.aliveWorkers} worker${st.aliveWorkers === 1 ? '' : 's'} · ` +
          `cores ${st.coresUsed}/${st.cores} · memory ${formatMemoryMiB(st.memoryUsed)}/${formatMemoryMiB(st.memory)}`;
        item.tooltip = new vscode.MarkdownString(
          `**Spark master** ${escapeMarkdown(st.status)}\n\n` +
            `- URL: ${escapeMarkdown(st.url)}\n- UI: ${escapeMarkdown(node.uiUrl)}\n- Workers alive: ${st.aliveWorkers}\n` +
            `- Cores used/total: ${st.coresUsed}/${st.cores}\n` +
            `- Memory used/total: ${formatMemoryMiB(st.memoryUsed)}/${formatMemoryMiB(st.memory)}`,
        );
        item.iconPath = new vscode.ThemeIcon(
          'server',
          new vscode.ThemeColor(st.status === 'ALIVE' ? 'testing.iconPassed' : 'problemsWarningIcon.foreground'),
        );
        item.contextValue = 'sparkMaster';
        return item;
      }
      case 'worker': {
        const w = node.worker;
        const item = new vscode.TreeItem(`Worker ${w.host}:${w.port}`, None);
        item.description = `${w.state} · cores ${w.coresUsed}/${w.cores} · memory ${formatMemoryMiB(w.memoryUsed)}/${formatMemoryMiB(w.memory)}`;
        item.tooltip = `${w.id}\n${w.webUiAddress}`;
        item.iconPath = new vscode.ThemeIcon('vm');
        return item;
      }
      case 'group': {
        const n = node.count;
        const item = new vscode.TreeItem(
          node.group === 'running' ? 'Running' : 'Completed',
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `spark-group-${node.group}`;
        item.description = String(n);
        return item;
      }
      case 'app': {
        const a = node.app;
        const running = appContextValue(a) === 'sparkApp.running';
        const duration = this.duration(a, Date.now());
        // an application an Airflow task started carries its run's tags: shown as "task of DAG"
        const tags = parseSparkTags(a.name);
        const item = new vscode.TreeItem((tags ? untaggedName(a.name) : a.name) || a.id, node.queries?.length ? vscode.TreeItemCollapsibleState.Expanded : None);
        item.id = `spark-app-${a.id}-${running ? 'r' : 'c'}`;
        const by = tags ? `${tags.taskId} of ${tags.dagId}` : '';
        item.description = (
          running
            ? [a.id, by, `${a.cores} cores`, `${formatMemoryMiB(a.memoryPerExecutor)}/executor`, formatDuration(duration)]
            : [a.state, formatDuration(duration), by, a.id]
        ).filter(Boolean).join(' · ');
        item.tooltip = new vscode.MarkdownString(
          `**${escapeMarkdown(a.name)}** (${escapeMarkdown(a.state)})\n\n- id: ${escapeMarkdown(a.id)}\n- user: ${escapeMarkdown(a.user)}\n- cores: ${a.cores}\n` +
            `- memory per executor: ${formatMemoryMiB(a.memoryPerExecutor)}\n` +
            `- started: ${new Date(a.startTime).toLocaleString()}\n- duration: ${formatDuration(duration)}` +
            (tags ? `\n- started by task ${escapeMarkdown(tags.taskId)} of DAG ${escapeMarkdown(tags.dagId)}, run ${escapeMarkdown(tags.runId)}` : '') +
            (a.driverExitCode !== undefined ? `\n- spark-submit exit code: ${a.driverExitCode}` : ''),
        );
        item.iconPath = STATE_ICONS[a.state] ?? new vscode.ThemeIcon('question');
        item.contextValue = appContextValue(a);
        return item;
      }
      case 'query': {
        const q = node.status.query;
        const lag = totalLag(node.status.lags);
        const topics = [...new Set(node.status.lags.map((l) => l.topic))];
        const item = new vscode.TreeItem(`Query ${q.name ?? q.id ?? path.basename(q.checkpoint)}`, None);
        item.description = [`lag ${lag.toLocaleString('en-US')}`, describeQuery(q)].filter(Boolean).join(' · ');
        item.tooltip = new vscode.MarkdownString(
          `**Structured Streaming query** ${escapeMarkdown(q.name ?? '')}\n\n- id: ${escapeMarkdown(q.id ?? '?')}\n- checkpoint: ${escapeMarkdown(q.checkpoint)}\n` +
            `- reads: ${escapeMarkdown(topics.join(', ') || '—')}\n` +
            node.status.lags.map((l) => `- ${escapeMarkdown(l.topic)} [${l.partition}]: at ${l.offset} of ${l.end}, lag ${l.lag}`).join('\n'),
        );
        item.iconPath = new vscode.ThemeIcon('pulse', new vscode.ThemeColor(lag > 0 ? 'charts.orange' : 'testing.iconPassed'));
        item.contextValue = 'streamingQuery';
        return item;
      }
      case 'empty':
        return new vscode.TreeItem(node.text, None);
    }
  }
}
