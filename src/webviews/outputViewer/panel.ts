/**
 * The output viewer panel: one per run, strict CSP (default-src 'none', script by nonce), the data
 * gathered in the extension host (collectRunOutput) and rendered as text by media/outputViewer.
 * The run's messages stay here, in a MessageStore; the page's virtual table asks for the rows in
 * view by request id and gets them answered from the store of the load it shows.
 */
import * as vscode from 'vscode';
import { describeRejected, HostedPanelBase, onValidMessage, PanelHost, reportFailures } from '../host';
import type { RunOutput } from '../../services/airflow/runOutput';
import type { KafkaRange } from '../../services/airflow/runTrace';
import { MAX_PAGE_ROWS } from '../../protocol/guards';
import { isFromOutputViewer, type FromOutputViewer, type OutputViewerData, type ToOutputViewer } from '../../protocol/outputViewer';
import { errorMessage } from '../../services/util/errors';

export const OUTPUT_VIEWER_VIEW_TYPE = 'datapipeline.outputViewer';

export interface OutputViewerHost {
  /** the connection the run is read from, as the page says it */
  readonly connection: string;
  /** `version`: the load's number (the page drops rows of an older one) */
  load(dagId: string, runId: string, version: number): Promise<RunOutput>;
  openTaskLog(dagId: string, runId: string, taskId: string, tryNumber: number): Promise<void>;
  openSparkApp(appId: string | undefined): Promise<void>;
  /** the message browser on exactly this range of the run */
  openMessages(dagId: string, runId: string, range: KafkaRange): Promise<void>;
  openInAirflow(dagId: string, runId: string): Promise<void>;
  /** the run's OpenLineage events, saved where the user says */
  exportLineage(dagId: string, runId: string): Promise<void>;
  /** where rejected messages and failed requests are logged (default: the console) */
  readonly log?: { warn(m: string): void; error(m: string): void };
}

export class OutputViewerPanel extends HostedPanelBase {
  private static readonly host = new PanelHost<OutputViewerPanel>(OUTPUT_VIEWER_VIEW_TYPE, {
    name: 'outputViewer',
    stylesheets: ['shared/messageTable.css', 'shared/requests.css', 'outputViewer/style.css'],
    title: 'Output viewer',
    rootId: 'root',
    placeholder: '<p class="note">Loading…</p>',
  });
  private last?: RunOutput;
  private loads = 0;
  /** resolves when the webview said it is ready and the data was posted (tests and commands await it) */
  private loaded?: Promise<OutputViewerData | undefined>;

  static show(extensionUri: vscode.Uri, host: OutputViewerHost, dagId: string, runId: string): OutputViewerPanel {
    return OutputViewerPanel.host.open(
      `${dagId}/${runId}`,
      `Output: ${dagId} ${runId}`,
      extensionUri,
      (panel) => new OutputViewerPanel(panel, host, dagId, runId),
      (existing) => void existing.reload(),
    );
  }

  private constructor(
    panel: vscode.WebviewPanel,
    private readonly host: OutputViewerHost,
    readonly dagId: string,
    readonly runId: string,
  ) {
    super(panel, () => OutputViewerPanel.host.release(`${dagId}/${runId}`, this));
    const log = host.log ?? { warn: (m: string) => console.warn(`DataPipeline run view: ${m}`), error: (m: string) => console.error(`DataPipeline run view: ${m}`) };
    this.register(onValidMessage(panel.webview, isFromOutputViewer, (m) => this.onMessage(m), (v) => log.warn(describeRejected(v)), reportFailures(log, 'run view')));
  }

  /** The data shown last (after the first load finished). */
  whenLoaded(): Promise<OutputViewerData | undefined> {
    return this.loaded ?? Promise.resolve(this.last?.data);
  }

  private post(m: ToOutputViewer): void {
    void this.panel.webview.postMessage(m);
  }

  reload(): Promise<OutputViewerData | undefined> {
    this.post({ type: 'loading', runId: this.runId });
    this.loaded = this.host.load(this.dagId, this.runId, ++this.loads).then(
      (out) => {
        out.data.connection = this.host.connection;
        this.last = out;
        this.post({ type: 'data', data: out.data });
        return out.data;
      },
      (err: unknown) => {
        this.post({ type: 'error', message: `Could not load run ${this.runId}: ${errorMessage(err)}` });
        return undefined;
      },
    );
    return this.loaded;
  }

  /** A page's request; a failure is reported by onValidMessage (logged, shown, answered by id). */
  private async onMessage(m: FromOutputViewer): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        await this.reload();
        return;
      case 'page': {
        const out = this.last;
        if (!out) return;
        const rows = out.messages.page(m.start, Math.min(MAX_PAGE_ROWS, m.count));
        this.post({ type: 'page', reqId: m.reqId, start: m.start, total: out.data.total, version: out.data.version, rows });
        return;
      }
      case 'openTaskLog':
        await this.host.openTaskLog(this.dagId, this.runId, m.taskId, m.tryNumber);
        return;
      case 'openSparkApp': {
        // only an application this panel showed (the page cannot make the host open anything else)
        const known = [this.last?.data.sparkAppId, ...(this.last?.data.trace?.spark.map((a) => a.appId) ?? [])];
        await this.host.openSparkApp(m.appId && known.includes(m.appId) ? m.appId : this.last?.data.sparkAppId);
        return;
      }
      case 'openRange': {
        const range = this.last?.data.trace?.kafka[m.index];
        if (range) await this.host.openMessages(this.dagId, this.runId, range);
        return;
      }
      case 'openInAirflow':
        await this.host.openInAirflow(this.dagId, this.runId);
        return;
      case 'exportLineage':
        await this.host.exportLineage(this.dagId, this.runId);
        return;
    }
  }

  static disposeAll(): void {
    OutputViewerPanel.host.disposeAll();
  }
}
