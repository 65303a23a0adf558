import * as vscode from 'vscode';
import type { BackendSetting, Settings } from './settings';
import type { ServiceStatus, StackBackend, StackEndpoints } from './services/stack/types';
import type { Logger } from './services/util/logger';

export type BackendFactory = (setting: BackendSetting) => Promise<StackBackend>;

/**
 * Owns the current stack backend (created lazily on first use, so activation spawns nothing),
 * the `datapipeline.stackRunning` context key, and one event every view listens to.
 */
export class StackController implements vscode.Disposable {
  private backendPromise?: Promise<StackBackend>;
  private backendListener?: { dispose(): void };
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** Fires when the stack (or one service) changed state, or the backend setting changed. */
  readonly onDidChange = this.changeEmitter.event;
  private runningState = false;
  private lastStatus: ServiceStatus[] = [];
  /** the backend's own addresses (the Docker stack's .env ports, the native stack's ports) once known */
  private backendEndpoints?: StackEndpoints;
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];

  constructor(
    private readonly settings: Settings,
    private readonly factory: BackendFactory,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      settings.onDidChange((e) => {
        if (
          e.affectsConfiguration('datapipeline.stack.backend') ||
          e.affectsConfiguration('datapipeline.docker.composeCommand') ||
          e.affectsConfiguration('datapipeline.stack.nativePorts') ||
          e.affectsConfiguration('datapipeline.stack.airflowDatabase') ||
          e.affectsConfiguration('datapipeline.docker.extraCaFile')
        ) {
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
          const before = JSON.stringify(this.endpoints());
          this.backendEndpoints = b.endpoints();
          // the stack's own ports differ from the defaults: the views reconnect
          if (JSON.stringify(this.endpoints()) !== before) this.changeEmitter.fire();
          this.backendListener = b.onDidChange(() => {
            // e.g. the daemon went away between the event and the read: the next event retries
            this.refreshStatus().catch((err: unknown) => this.log.debug(`stack status after a change event: ${String(err)}`));
          });
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

  /** The stack's own Airflow URL (its backend's port once known), never a setting: the only place the bundled admin password goes. */
  stackAirflowUrl(): string {
    return this.backendEndpoints?.airflowUrl ?? this.settings.defaultAirflowUrl;
  }

  get running(): boolean {
    return this.runningState;
  }

  get status(): readonly ServiceStatus[] {
    return this.lastStatus;
  }

  /** Reads every service's status from the backend and updates the context key. */
  async refreshStatus(): Promise<readonly ServiceStatus[]> {
    const backend = await this.backend();
    this.lastStatus = await backend.status();
    this.setRunning(this.lastStatus.some((s) => s.state === 'running' || s.state === 'starting'));
    this.changeEmitter.fire();
    return this.lastStatus;
  }

  setRunning(running: boolean): void {
    if (running === this.runningState) return;
    this.runningState = running;
    void vscode.commands.executeCommand('setContext', 'datapipeline.stackRunning', running);
    this.changeEmitter.fire();
  }

  private resetBackend(): void {
    this.backendEndpoints = undefined;
    this.backendListener?.dispose();
    this.backendListener = undefined;
    this.backendPromise = undefined;
  }

  dispose(): void {
    this.resetBackend();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
