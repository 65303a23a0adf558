/**
 * The one webview host every DataPipeline panel uses: panels keyed by what they show (opening the
 * same again reveals it), the CSP shell (src/webviews/shell.ts), incoming messages validated by the
 * protocol's guard before any handler sees them (anything else is dropped and logged), and
 * disposeAll for deactivation and tests.
 */
import * as vscode from 'vscode';
import { Disposable } from '../services/util/lifecycle';
import { answerRequests } from './requests';
import { webviewShellHtml, type WebviewShell } from './shell';

export interface HostedPanel extends vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
}

/**
 * What every hosted panel does when it goes, once (closed by the user, or disposeAll): its host
 * forgets it, what it registered is let go in order, then its webview panel is disposed.
 */
export abstract class HostedPanelBase extends Disposable implements HostedPanel {
  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly release: () => void,
  ) {
    super();
  }

  override dispose(): void {
    if (this.disposed) return;
    this.release();
    super.dispose();
    this.panel.dispose();
  }
}

export class PanelHost<P extends HostedPanel> {
  private readonly panels = new Map<string, P>();

  constructor(
    private readonly viewType: string,
    private readonly shell: WebviewShell,
  ) {}

  /** The panel showing `key`, revealed; or a new one made by `create` around a fresh webview panel. */
  open(key: string, title: string, extensionUri: vscode.Uri, create: (panel: vscode.WebviewPanel) => P, onExisting?: (p: P) => void): P {
    const existing = this.panels.get(key);
    if (existing) {
      existing.panel.reveal();
      onExisting?.(existing);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(this.viewType, title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'media')],
    });
    panel.webview.html = webviewShellHtml(panel.webview, extensionUri, this.shell);
    const p = create(panel);
    this.panels.set(key, p);
    panel.onDidDispose(() => {
      if (this.panels.get(key) === p) this.panels.delete(key);
      p.dispose();
    });
    return p;
  }

  /** Forgets `p` (it is being disposed). */
  release(key: string, p: P): void {
    if (this.panels.get(key) === p) this.panels.delete(key);
  }

  disposeAll(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}

/**
 * Subscribes `handle` to the webview's messages that pass `valid`; others are dropped with a log line.
 * Each request is answered by its id once handled (src/webviews/requests.ts); a failure goes to `failed`.
 */
export function onValidMessage<T extends { type: string; reqId?: number }>(
  webview: vscode.Webview,
  valid: (v: unknown) => v is T,
  handle: (m: T) => unknown,
  onInvalid: (v: unknown) => void,
  failed: (message: string, m: T) => void,
): vscode.Disposable {
  const answer = answerRequests(handle, { post: (r) => void webview.postMessage(r), failed });
  return webview.onDidReceiveMessage((m: unknown) => {
    if (valid(m)) void answer(m);
    else onInvalid(m);
  });
}

/**
 * How every panel reports a request its host failed: logged each time, shown as an error notification
 * once per distinct message (a page that retries does not stack them); the page shows it inline too.
 */
export function reportFailures(log: { error(m: string): void }, panel: string): (message: string, m: { type: string }) => void {
  const shown = new Set<string>();
  return (message, m) => {
    log.error(`${panel}: "${m.type}" failed: ${message}`);
    if (shown.has(message)) return;
    shown.add(message);
    void vscode.window.showErrorMessage(`DataPipeline ${panel}: ${message}`);
  };
}

/** A short, safe description of a rejected message for the log (no payload dump). */
export function describeRejected(v: unknown): string {
  const type = v && typeof v === 'object' ? (v as { type?: unknown }).type : undefined;
  return `ignored a malformed message from the webview (type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : typeof type})`;
}
