/** The run view of one DAG run, wired to the active connection's Airflow, Kafka and Spark. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import { clusterPolicyHint } from '../services/airflow/runTrace';
import { collectRunOutput, kafkaRangeReader } from '../services/airflow/runOutput';
import { LineageFeed } from '../services/lineage/openlineage';
import { lineageGraph, type GraphNode } from '../services/lineage/graph';
import { runEvents } from '../services/lineage/runLineage';
import { LineageGraphPanel } from '../webviews/lineageGraph/panel';
import { openMessageBrowser } from '../webviews/messageBrowser';
import { OutputViewerPanel } from '../webviews/outputViewer/panel';
import type { LogTarget } from './airflowTaskLogs';

/** One reader per receiver for the window: each refresh of a run view reads only the events that are new. */
const feeds = new Map<string, LineageFeed>();
function lineageFeed(url: string): LineageFeed {
  let f = feeds.get(url);
  if (!f) feeds.set(url, (f = new LineageFeed(url)));
  return f;
}

/** The Local stack's OpenLineage receiver, when the active connection is the Local stack and its backend runs one. */
function localLineageUrl(ctx: FeatureContext): string | undefined {
  return ctx.connections.active.local ? ctx.stack.endpoints().lineageUrl : undefined;
}

export function openRunView(ctx: FeatureContext, openTaskLog: (t: LogTarget) => Promise<void>, openExternal: (uri: string) => Thenable<boolean>, dagId: string, runId: string): OutputViewerPanel {
  const conn = ctx.connections.airflow;
  return OutputViewerPanel.show(
    ctx.extensionContext.extensionUri,
    {
      connection: ctx.connections.label(),
      log: ctx.logger('runView'),
      load: async (d, r, version) => {
        const kafka = await ctx.connections.kafka();
        // the Spark applications tagged with this run, from the connection's master (none when it has no Spark)
        const sparkApps = async () => {
          const st = await ctx.connections.spark().status();
          return [...st.activeApps, ...st.completedApps];
        };
        // the Local stack running a compose file of the user's own: the line that gives its Airflow the stack's cluster policy
        const own = ctx.connections.active.local ? ctx.stack.ownComposeFile() : undefined;
        const untaggedHint = own ? clusterPolicyHint(path.join(ctx.extensionContext.extensionPath, 'stack', 'plugins', 'airflow_local_settings.py'), path.basename(own)) : undefined;
        // what the run read and wrote, from the OpenLineage events the Local stack's receiver keeps
        const lineageUrl = localLineageUrl(ctx);
        const lineage = lineageUrl ? () => lineageFeed(lineageUrl).read() : undefined;
        return conn.withClient((c) => collectRunOutput(c, kafkaRangeReader(kafka), d, r, 'output-topic', version, { sparkApps, untaggedHint, lineage }));
      },
      openMessages: async (d, r, range) => {
        const spec = (pick: (p: { start: number; end: number }) => number) => range.partitions.map((p) => `${p.partition}:${pick(p)}`).join(', ');
        await openMessageBrowser(ctx, {
          topic: range.topic,
          title: `${range.topic}: ${range.count.toLocaleString('en-US')} ${range.role === 'write' ? 'written' : 'read'} by ${range.taskId} (${r})`,
          start: { mode: 'range', offsets: spec((p) => p.start), toOffsets: spec((p) => p.end), follow: false },
        });
      },
      openTaskLog: (d, r, taskId, tryNumber) => openTaskLog({ dagId: d, runId: r, taskId, tryNumber, mapIndex: -1 }),
      openSparkApp: async (appId) => {
        const base = ctx.connections.spark().uiUrl.replace(/\/+$/, '');
        await openExternal(appId ? `${base}/app/?appId=${encodeURIComponent(appId)}` : base);
      },
      openInAirflow: async (d, r) => {
        await openExternal(await (await conn.client()).uiUrl(d, r));
      },
      exportLineage: async (d, r) => {
        const url = localLineageUrl(ctx);
        if (!url) throw new Error('The run\u2019s lineage is kept by the Local stack\u2019s OpenLineage receiver: switch to the Local stack connection.');
        // the events as the producers sent them (the window's feed keeps only what the views read)
        const events = runEvents(await new LineageFeed(url, { full: true }).read(), d, r);
        if (!events.length) throw new Error(`The receiver has no OpenLineage events of ${d} ${r} (it keeps the newest within its budget).`);
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const name = `${d}-${r}`.replace(/[^\w.-]+/g, '_') + '.openlineage.json';
        const target = await vscode.window.showSaveDialog({ title: `Export the OpenLineage events of ${d} ${r}`, defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: { 'OpenLineage events (JSON)': ['json'] } });
        if (!target) return;
        await vscode.workspace.fs.writeFile(target, Buffer.from(`${JSON.stringify(events, null, 2)}\n`, 'utf8'));
        void vscode.window.showInformationMessage(`Saved ${events.length} OpenLineage events of ${d} ${r} to ${target.fsPath}: each is a run event Marquez or DataHub accepts (POST /api/v1/lineage).`);
      },
    },
    dagId,
    runId,
  );
}

/** Runs of each DAG the lineage graph draws (its edges are the union of what these runs read and wrote). */
export const GRAPH_RUNS_PER_DAG = 20;

/**
 * The lineage graph of the Local stack's OpenLineage events; `run` ("dagId\u0000runId") highlights one
 * run's path. A topic opens the message browser on it, a task its run view, a Spark job its application.
 */
export function openLineageGraph(ctx: FeatureContext, openRun: (dagId: string, runId: string) => unknown, openExternal: (uri: string) => Thenable<boolean>, run?: string): LineageGraphPanel {
  return LineageGraphPanel.show(
    ctx.extensionContext.extensionUri,
    {
      connection: ctx.connections.label(),
      log: ctx.logger('lineageGraph'),
      load: async () => {
        const url = localLineageUrl(ctx);
        if (!url) {
          return { graph: lineageGraph([]), note: 'The lineage graph reads the Local stack\u2019s OpenLineage receiver: switch to the Local stack connection (its Airflow and Spark send their events there).' };
        }
        const graph = lineageGraph(await lineageFeed(url).read(), { runsPerDag: GRAPH_RUNS_PER_DAG });
        return { graph };
      },
      open: async (node: GraphNode, highlighted?: string) => {
        if (node.topic) {
          await openMessageBrowser(ctx, { topic: node.topic });
        } else if (node.kind === 'task' && node.dagId) {
          const [dagId, runId] = highlighted?.split('\u0000') ?? [];
          await openRun(node.dagId, dagId === node.dagId && runId ? runId : node.lastRunId!);
        } else if (node.kind === 'spark') {
          const base = ctx.connections.spark().uiUrl.replace(/\/+$/, '');
          await openExternal(node.appId ? `${base}/app/?appId=${encodeURIComponent(node.appId)}` : base);
        }
      },
    },
    run,
  );
}
