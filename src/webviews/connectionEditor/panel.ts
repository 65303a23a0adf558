/**
 * The Add/Edit Connection form: one panel per connection (a new one: "new"), the shared CSP shell,
 * incoming messages validated before anything runs. Saving writes the profile to the user settings
 * (datapipeline.connections) and the typed secrets to SecretStorage under the connection's id;
 * Test Connection tries each part with the clients the views use.
 */
import * as vscode from 'vscode';
import type { FeatureContext } from '../../featureContext';
import { describeRejected, HostedPanelBase, onValidMessage, PanelHost, reportFailures } from '../host';
import { oauthPlainHttpWarning, plainHttpWarning } from '../../services/airflow/credentials';
import { checkConnection } from '../../services/connections/check';
import { EMPTY_FORM, formToProfile, profileToForm, type ConnectionForm, type TypedSecrets } from '../../services/connections/form';
import type { ConnectionProfile, SecretKind } from '../../services/connections/profile';
import { isFromConnectionEditor, type FromConnectionEditor, type ToConnectionEditor } from '../../protocol/connectionEditor';
import { errorMessage } from '../../services/util/errors';

export const CONNECTION_EDITOR_VIEW_TYPE = 'datapipeline.connectionEditor';

const host = new PanelHost<ConnectionEditorPanel>(CONNECTION_EDITOR_VIEW_TYPE, {
  name: 'connectionEditor',
  stylesheets: ['shared/requests.css', 'connectionEditor/style.css'],
  title: 'Connection',
  rootId: 'root',
  placeholder: 'Loading…',
});

export class ConnectionEditorPanel extends HostedPanelBase {
  /** resolves with the saved connection's id, or undefined when the panel closed without saving */
  private settle?: (id: string | undefined) => void;
  readonly saved = new Promise<string | undefined>((r) => (this.settle = r));

  /** Opens the form for `profile` (undefined: a new connection), or reveals the one already open. */
  static open(ctx: FeatureContext, profile?: ConnectionProfile): ConnectionEditorPanel {
    const key = profile?.id ?? '\u0000new';
    return host.open(key, profile ? `Connection: ${profile.name}` : 'Add Connection', ctx.extensionContext.extensionUri, (panel) => new ConnectionEditorPanel(key, panel, ctx, profile));
  }

  private constructor(
    key: string,
    panel: vscode.WebviewPanel,
    private readonly ctx: FeatureContext,
    private readonly profile: ConnectionProfile | undefined,
  ) {
    super(panel, () => host.release(key, this));
    const log = ctx.logger('connections');
    this.register(onValidMessage(panel.webview, isFromConnectionEditor, (m) => this.onMessage(m), (v) => log.warn(describeRejected(v)), reportFailures(log, 'connection form')));
  }

  private post(m: ToConnectionEditor): void {
    void this.panel.webview.postMessage(m);
  }

  private async secretsOf(id: string): Promise<Partial<Record<SecretKind, string>>> {
    const s = this.ctx.connections.secrets;
    const [kafka, kafkaKeyPassphrase, airflow] = await Promise.all([s.get(id, 'kafka'), s.get(id, 'kafkaKeyPassphrase'), s.get(id, 'airflow')]);
    return { kafka, kafkaKeyPassphrase, airflow };
  }

  private takenIds(): string[] {
    return this.ctx.connections.named.map((c) => c.id).filter((id) => id !== this.profile?.id);
  }

  private async onMessage(m: FromConnectionEditor): Promise<void> {
    try {
      switch (m.type) {
        case 'ready': {
          const stored = this.profile ? await this.secretsOf(this.profile.id) : {};
          this.post({
            type: 'init',
            form: this.profile ? profileToForm(this.profile) : { ...EMPTY_FORM },
            stored: { kafka: stored.kafka !== undefined, kafkaKeyPassphrase: stored.kafkaKeyPassphrase !== undefined, airflow: stored.airflow !== undefined },
            isNew: !this.profile,
          });
          return;
        }
        case 'test': {
          const { profile, secrets } = formToProfile(m.form, this.takenIds(), this.profile?.id);
          this.post({ type: 'testing' });
          const stored = this.profile ? await this.secretsOf(this.profile.id) : {};
          this.post({ type: 'tested', results: await checkConnection(profile, { ...stored, ...secrets }) });
          return;
        }
        case 'save':
          await this.save(m.form);
          return;
        case 'browse': {
          const uris = await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Choose a PEM file', filters: { 'PEM files': ['pem', 'crt', 'cer', 'key'], 'All files': ['*'] } });
          if (uris?.[0]) this.post({ type: 'file', field: m.field, path: uris[0].fsPath });
          return;
        }
        case 'cancel':
          this.dispose();
          return;
      }
    } catch (e) {
      this.post({ type: 'error', message: errorMessage(e) });
    }
  }

  private async save(form: ConnectionForm): Promise<void> {
    const { profile, secrets } = formToProfile(form, this.takenIds(), this.profile?.id);
    const list = [...this.ctx.connections.named];
    const at = list.findIndex((c) => c.id === profile.id);
    if (at >= 0) list[at] = profile;
    else list.push(profile);
    // a new connection adopts nothing stored under its id before (a connection deleted by hand)
    if (!this.profile) await this.ctx.connections.secrets.deleteAll(profile.id);
    // secrets first: the settings change that follows makes the views re-read with them
    for (const [kind, value] of Object.entries(secrets) as Array<[keyof TypedSecrets, string]>) await this.ctx.connections.secrets.set(profile.id, kind, value);
    await this.ctx.settings.setConnections(list);
    if (!this.profile) await this.ctx.connections.select(profile.id);
    for (const w of [profile.airflow && profile.airflow.auth !== 'bearer' ? plainHttpWarning(profile.airflow.url) : undefined, profile.kafka?.sasl?.tokenEndpoint ? oauthPlainHttpWarning(profile.kafka.sasl.tokenEndpoint) : undefined]) {
      if (w) void vscode.window.showWarningMessage(`DataPipeline: ${w}`);
    }
    void vscode.window.showInformationMessage(this.profile ? `Saved connection "${profile.name}".` : `Added connection "${profile.name}" and switched to it.`);
    this.settle?.(profile.id);
    this.dispose();
  }

  override dispose(): void {
    if (this.disposed) return;
    this.settle?.(undefined);
    super.dispose();
  }

  static disposeAll(): void {
    host.disposeAll();
  }
}
