/**
 * The lineage graph panel: one per window, strict CSP (default-src 'none', script by nonce), the graph
 * computed in the extension host from the stack's OpenLineage events (services/lineage/graph.ts) and
 * drawn as SVG by media/lineageGraph, its labels as text. A node opens what it is: a topic the message
 * browser, a task its newest run's run view (or the picked run's), a Spark job its application's UI.
 */
import * as vscode from 'vscode';
import { describeRejected, HostedPanelBase, onValidMessage, PanelHost, reportFailures } from '../host';
import { isFromLineageGraph, type FromLineageGraph, type LineageGraphData, type ToLineageGraph } from '../../protocol/lineageGraph';
import type { GraphNode } from '../../services/lineage/graph';
import { errorMessage } from '../../services/util/errors';

export const LINEAGE_GRAPH_VIEW_TYPE = 'datapipeline.lineageGraph';

export interface LineageGraphHost {
  readonly connection: string;
  load(): Promise<LineageGraphData>;
  /** a node of the graph sent last; `run`: the highlighted run ("dagId\u0000runId") */
  open(node: GraphNode, run?: string): Promise<void>;
  readonly log?: { warn(m: string): void; error(m: string): void };
}

export class LineageGraphPanel extends HostedPanelBase {
  private static readonly host = new PanelHost<LineageGraphPanel>(LINEAGE_GRAPH_VIEW_TYPE, {
    name: 'lineageGraph',
    stylesheets: ['shared/requests.css', 'lineageGraph/style.css'],
    title: 'Lineage graph',
    rootId: 'root',
    placeholder: '<p class="note">Loading…</p>',
  });
  private last?: LineageGraphData;
  private highlight?: string;
  private loaded?: Promise<LineageGraphData | undefined>;

  /** The graph (revealed when open); `run` highlights one run's path. */
  static show(extensionUri: vscode.Uri, host: LineageGraphHost, run?: string): LineageGraphPanel {
    return LineageGraphPanel.host.open(
      'graph',
      'Lineage',
      extensionUri,
      (panel) => new LineageGraphPanel(panel, host, run),
      (existing) => existing.setHighlight(run),
    );
  }

  private constructor(
    panel: vscode.WebviewPanel,
    private readonly host: LineageGraphHost,
    run?: string,
  ) {
    super(panel, () => LineageGraphPanel.host.release('graph', this));
    this.highlight = run;
    const log = host.log ?? { warn: (m: string) => console.warn(`DataPipeline lineage graph: ${m}`), error: (m: string) => console.error(`DataPipeline lineage graph: ${m}`) };
    this.register(onValidMessage(panel.webview, isFromLineageGraph, (m) => this.onMessage(m), (v) => log.warn(describeRejected(v)), reportFailures(log, 'lineage graph')));
  }

  whenLoaded(): Promise<LineageGraphData | undefined> {
    return this.loaded ?? Promise.resolve(this.last);
  }

  private post(m: ToLineageGraph): void {
    void this.panel.webview.postMessage(m);
  }

  setHighlight(run?: string): void {
    this.highlight = run;
    this.post({ type: 'highlight', run });
  }

  reload(): Promise<LineageGraphData | undefined> {
    this.post({ type: 'loading' });
    this.loaded = this.host.load().then(
      (data) => {
        data.connection = this.host.connection;
        data.highlight = this.highlight && data.graph.runs.some((r) => r.key === this.highlight) ? this.highlight : undefined;
        this.last = data;
        this.post({ type: 'data', data });
        return data;
      },
      (err: unknown) => {
        this.post({ type: 'error', message: `Could not read the lineage: ${errorMessage(err)}` });
        return undefined;
      },
    );
    return this.loaded;
  }

  private async onMessage(m: FromLineageGraph): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        await this.reload();
        return;
      case 'open': {
        // only a node this panel sent (the page cannot make the host open anything else)
        const node = this.last?.graph.nodes.find((n) => n.id === m.id);
        if (node) await this.host.open(node, this.highlight);
        return;
      }
    }
  }

  static disposeAll(): void {
    LineageGraphPanel.host.disposeAll();
  }
}
