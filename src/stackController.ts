import * as vscode from 'vscode';
import { affectsStackBackend, type BackendSetting, type Settings } from './settings';
import { StackStatusModel } from './services/stack/statusModel';
import type { ServiceStatus, StackBackend, StackEndpoints } from './services/stack/types';
import type { Logger } from './services/util/logger';
import { Disposable } from './services/util/lifecycle';

export type BackendFactory = (setting: BackendSetting) => Promise<StackBackend>;

/**
 * The one stack state every feature asks: the current backend (created lazily on first use, so
 * activation spawns nothing), its status model (backend events debounced, concurrent reads merged,
 * a change event only when something changed), the endpoints (the backend's own ports, settings
 * as overrides), and the `datapipeline.stackRunning` context key.
 */
export class StackController extends Disposable {
  private backendPromise?: Promise<StackBackend>;
  private backendListener?: { dispose(): void };
  private model?: StackStatusModel;
  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  /** Fires when the stack (or one service) changed state, or the backend setting changed. */
  readonly onDidChange = this.changeEmitter.event;
  private runningState = false;
  /** the backend's own addresses (the Docker stack's .env ports, the native stack's ports) once known */
  private backendEndpoints?: StackEndpoints;
  /** the backend once made (undefined until then, and after a reset) */
  private current?: StackBackend;

  constructor(
    private readonly settings: Settings,
    private readonly factory: BackendFactory,
    private readonly log: Logger,
  ) {
    super();
    this.register(
      settings.onDidChange((e) => {
        if (affectsStackBackend(e)) {
          this.resetBackend();
        }
        this.changeEmitter.fire();
      }),
    );
    void vscode.commands.executeCommand('setContext', 'datapipeline.stackRunning', false);
  }

  /** The backend for the current setting (auto resolves to docker or native once). */
  backend(): Promise<StackBackend> {
    if (!this.backendPromise) {
      const setting = this.settings.backend;
      this.backendPromise = this.factory(setting).then(
        (b) => {
          this.log.info(`stack backend: ${b.kind} (setting: ${setting})`);
          this.current = b;
          // e.g. the daemon went away between the event and the read: the next event retries
          const model = new StackStatusModel(b, { debounceMs: 100, onError: (err) => this.log.debug(`stack status after a change event: ${String(err)}`) });
          const before = JSON.stringify(this.endpoints());
          this.backendEndpoints = model.endpoints;
          // the stack's own ports differ from the defaults: the views reconnect
          if (JSON.stringify(this.endpoints()) !== before) this.changeEmitter.fire();
          const sub = model.onDidChange(() => this.statusChanged(model));
          this.model = model;
          this.backendListener = { dispose: () => (sub.dispose(), model.dispose()) };
          return b;
        },
        (err) => {
          this.backendPromise = undefined;
          throw err;
        },
      );
    }
    return this.backendPromise;
  }

  /** The backend if one was already created, without creating one. */
  async existingBackend(): Promise<StackBackend | undefined> {
    return this.backendPromise ? this.backendPromise.catch(() => undefined) : undefined;
  }

  /**
   * Where the views and clients connect: an address the user set in the settings wins; otherwise the
   * stack's own (its ports may have been moved), once the backend is known; else the defaults.
   */
  endpoints(): StackEndpoints {
    return { ...this.settings.endpoints(), ...this.backendEndpoints, ...this.settings.explicitEndpoints() };
  }

  /** What the views cannot reach through the stack's ports (a compose file of the user's own), with the setting to set. */
  endpointNotes(): string[] {
    const e = this.settings.explicitEndpoints();
    const set: Record<string, unknown> = { 'datapipeline.airflow.url': e.airflowUrl, 'datapipeline.kafka.bootstrapServers': e.kafkaBootstrap, 'datapipeline.spark.masterUrl': e.sparkMasterUrl, 'datapipeline.spark.uiUrl': e.sparkUiUrl };
    // a note is answered once the user set every setting it names
    return (this.current?.endpointNotes?.() ?? []).filter((n) => {
      const named = n.match(/datapipeline\.[a-zA-Z.]*[a-zA-Z]/g) ?? [];
      return !named.length || !named.every((k) => set[k]);
    });
  }

  /** The user's own compose file when the stack runs one as it is (its Airflow has none of DataPipeline's plugins). */
  ownComposeFile(): string | undefined {
    return this.current?.ownComposeFile?.();
  }

  /** The stack's own Airflow URL (its backend's port once known), never a setting: the only place the bundled admin password goes. */
  stackAirflowUrl(): string {
    return this.backendEndpoints?.airflowUrl ?? this.settings.defaultAirflowUrl;
  }

  get running(): boolean {
    return this.runningState;
  }

  /** Every service's last status (empty until the first read). */
  get status(): readonly ServiceStatus[] {
    return this.model?.services ?? [];
  }

  /** Reads every service's status now (reads already under way are shared); fires onDidChange if anything changed. */
  async refreshStatus(): Promise<readonly ServiceStatus[]> {
    await this.backend();
    return this.model ? this.model.refresh() : [];
  }

  private statusChanged(model: StackStatusModel): void {
    if (model !== this.model) return; // a backend replaced meanwhile
    // the addresses follow the stack as it runs (a 3-broker stack started elsewhere: its 3 brokers)
    this.backendEndpoints = model.endpoints;
    const running = model.services.some((s) => s.state === 'running' || s.state === 'starting');
    if (running !== this.runningState) {
      this.runningState = running;
      void vscode.commands.executeCommand('setContext', 'datapipeline.stackRunning', running);
    }
    this.changeEmitter.fire();
  }

  /** The stack folder changed (workspace trust granted, folders added): the next use makes a new backend. */
  reload(): void {
    this.resetBackend();
    this.changeEmitter.fire();
  }

  private resetBackend(): void {
    this.model = undefined;
    this.current = undefined;
    this.backendEndpoints = undefined;
    this.backendListener?.dispose();
    this.backendListener = undefined;
    this.backendPromise = undefined;
  }

  override dispose(): void {
    this.resetBackend();
    super.dispose();
  }
}
