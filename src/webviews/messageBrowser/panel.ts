/**
 * The message browser webview panel: HTML shell with a strict CSP, one panel per topic (and
 * title), message passing to MessageBrowserController, and the vscode-side I/O (save dialog,
 * clipboard, "produce again").
 */
import * as vscode from 'vscode';
import { describeRejected, HostedPanelBase, onValidMessage, PanelHost, reportFailures } from '../host';
import type { FeatureContext } from '../../featureContext';
import { KafkaService, type KafkaServiceOptions } from '../../services/kafka/kafkaClient';
import { LOCAL_CONNECTION_ID } from '../../services/connections/profile';
import type { ExportRecord } from '../../services/kafka/messageFormat';
import { isToHost, type StartForm, type ToWebview } from '../../protocol/messageBrowser';
import { MessageBrowserController } from './controller';

export const MESSAGE_BROWSER_VIEW_TYPE = 'datapipeline.messageBrowser';

export interface OpenMessageBrowserOptions {
  topic: string;
  /** where to start (default: earliest, no follow) */
  start?: StartForm;
  /** panel title (default "Messages: <topic>"); panels are keyed by topic + title */
  title?: string;
}

export interface MessageBrowserDeps {
  ctx: FeatureContext;
  /** the active connection's Kafka when the panel opens (the panel's own client is built from it) */
  kafka: KafkaServiceOptions;
  /** "Produce again" (default: confirm, then send the record unchanged to the same topic) */
  produceAgain?: (topic: string, record: ExportRecord, service: KafkaService) => Promise<void>;
}

/** Sends a record again as it was (key, value, headers; the partition is chosen by key). */
export async function resendRecord(topic: string, r: ExportRecord, service: KafkaService): Promise<void> {
  const ok = await vscode.window.showInformationMessage(
    `Produce this message (partition ${r.partition}, offset ${r.offset}) again to "${topic}"?`,
    { modal: true },
    'Produce',
  );
  if (ok !== 'Produce') return;
  const bytes = (s: string | null, enc: 'utf8' | 'base64') => (s === null ? null : Buffer.from(s, enc));
  // every header as it was: repeated keys as a list, binary values as bytes (a header without a value cannot be sent by kafkajs)
  const headers: Record<string, Buffer[]> = {};
  for (const h of r.headers) if (h.value !== null) (headers[h.key] ??= []).push(Buffer.from(h.value, h.encoding));
  await service.produce(topic, [{ key: bytes(r.key, r.keyEncoding), value: bytes(r.value, r.valueEncoding), headers }]);
  void vscode.window.setStatusBarMessage(`Produced 1 message to ${topic}`, 3000);
}

/** Opens (or reveals) the message browser for a topic on the active connection. Also used by the Airflow output viewer. */
export async function openMessageBrowser(ctx: FeatureContext, opts: OpenMessageBrowserOptions, produceAgain?: MessageBrowserDeps['produceAgain']): Promise<MessageBrowserPanel> {
  return MessageBrowserPanel.open({ ctx, produceAgain, kafka: await ctx.connections.kafkaOptions() }, opts);
}

const host = new PanelHost<MessageBrowserPanel>(MESSAGE_BROWSER_VIEW_TYPE, {
  name: 'messageBrowser',
  stylesheets: ['shared/messageTable.css', 'shared/requests.css', 'messageBrowser/messageBrowser.css'],
  title: 'Message browser',
  rootId: 'app',
  placeholder: 'Loading…',
});

export class MessageBrowserPanel extends HostedPanelBase {
  readonly controller: MessageBrowserController;
  private readonly service: KafkaService;

  private constructor(
    readonly key: string,
    panel: vscode.WebviewPanel,
    deps: MessageBrowserDeps,
    opts: OpenMessageBrowserOptions,
  ) {
    super(panel, () => host.release(key, this));
    const log = deps.ctx.logger('messageBrowser');
    const post = (m: ToWebview) => void panel.webview.postMessage(m);
    // one client per panel: closing the panel disconnects everything it opened
    this.service = new KafkaService({ ...deps.kafka, clientId: 'datapipeline-browser', log });
    const service = this.service;
    const connection = deps.ctx.connections.label();
    this.controller = new MessageBrowserController({
      service,
      topic: opts.topic,
      title: opts.title,
      connection,
      capacity: deps.ctx.settings.messageBrowserCapacity,
      maxBytes: deps.ctx.settings.messageBrowserMaxBytes,
      initial: opts.start ?? { mode: 'earliest', follow: false },
      log,
      io: {
        post,
        copy: (text) => Promise.resolve(vscode.env.clipboard.writeText(text)).then(() => {
          void vscode.window.setStatusBarMessage('Message copied', 2000);
        }),
        produceAgain: async (record) => {
          try {
            await deps.ctx.connections.guardWrite(`Produce a message again to "${opts.topic}"`);
          } catch (e) {
            if (e instanceof vscode.CancellationError) return; // the user said no: nothing to report
            throw e;
          }
          await (deps.produceAgain ?? resendRecord)(opts.topic, record, service);
        },
        saveExport: async (format, exportTo) => {
          const uri = await vscode.window.showSaveDialog({
            title: `Export filtered messages of ${opts.topic}`,
            defaultUri: vscode.Uri.file(`${opts.topic}.${format}`),
            filters: format === 'json' ? { JSON: ['json'] } : { CSV: ['csv'] },
          });
          if (!uri) return false;
          const n = await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `Exporting to ${uri.fsPath}…` },
            () => exportTo(uri.fsPath),
          );
          void vscode.window.showInformationMessage(`Exported ${n} messages to ${uri.fsPath}.`);
          return true;
        },
      },
    });
    // the reader stops first; its client disconnects once it has
    this.register({ dispose: () => void this.controller.dispose().finally(() => this.service.dispose()) });
    this.register(onValidMessage(panel.webview, isToHost, (m) => this.controller.handle(m), (m) => log.warn(describeRejected(m)), reportFailures(log, 'message browser')));
    // connect while the webview loads; reading starts when it is ready (reading during the load
    // slowed the panel start to 1.4-1.5x an empty webview's, as both want the 2 cores)
    this.controller.prepare();
  }

  static open(deps: MessageBrowserDeps, opts: OpenMessageBrowserOptions): MessageBrowserPanel {
    const c = deps.ctx.connections.active;
    const key = `${c.id}\u0000${opts.topic}\u0000${opts.title ?? ''}`;
    // the tab names a named connection; the page names every one (the Local stack too)
    return host.open(
      key,
      `${opts.title ?? `Messages: ${opts.topic}`}${c.id === LOCAL_CONNECTION_ID ? '' : ` · ${c.name}`}`,
      deps.ctx.extensionContext.extensionUri,
      (panel) => new MessageBrowserPanel(key, panel, deps, opts),
      (existing) => opts.start && void existing.controller.handle({ type: 'start', form: opts.start }),
    );
  }

  static disposeAll(): void {
    host.disposeAll();
  }
}
