/**
 * What the Spark Applications view shows, without vscode: the master's status or why it is
 * unreachable, polled only while someone is looking (the view is visible) or a submitted job
 * waits for its application to show up.
 */
import type { Disposable } from '../stack/types';
import { isFinalAppState, type SparkApplication, type SparkMasterStatus } from './models';
import { SparkMasterClient, SparkUnreachableError } from './sparkMasterClient';
import type { PartitionLag, StreamingQuery } from './streaming';
import { errorMessage } from '../util/errors';
import { systemClock, type Clock } from '../util/clock';

export type SparkViewState =
  | { kind: 'loading'; uiUrl: string }
  | { kind: 'ok'; uiUrl: string; status: SparkMasterStatus; fetchedAt: number; /** streaming queries of the running applications, by app id */ streaming?: Map<string, StreamingStatus[]> }
  | { kind: 'unreachable'; uiUrl: string; message: string };

/** A running application's Structured Streaming query with its lag per topic. */
export interface StreamingStatus {
  query: StreamingQuery;
  lags: PartitionLag[];
}

export interface SparkViewModelOptions {
  /** poll period while visible (ms, default 3000) */
  intervalMs?: number;
  /** poll period while waiting for a submitted application (ms, default 250) */
  fastIntervalMs?: number;
  /** the streaming queries of these running applications with their lag (read only while some run) */
  streaming?: (appIds: string[]) => Promise<StreamingStatus[]>;
  /** its time and timers (tests move a ManualClock) */
  clock?: Clock;
}

/** Running time of an app at `now`: ticking for running ones, the master's figure otherwise. */
export function appDuration(app: SparkApplication, now: number, fetchedAt: number): number {
  if (!isFinalAppState(app.state)) return app.duration + Math.max(0, now - fetchedAt);
  return app.duration;
}

/** How the driver of an application submitted from here ended: its exit code, or cancelled by the user. */
export type DriverOutcome = number | 'cancelled';

/**
 * The master's status with what it cannot know: an application it lists as FINISHED whose driver
 * (spark-submit, run from here) exited non-zero failed, so it is shown FAILED with that exit code;
 * one whose driver the user cancelled (stopped first, so the master saw it end normally) is KILLED.
 */
export function applyDriverOutcomes(status: SparkMasterStatus, exits: ReadonlyMap<string, DriverOutcome>): SparkMasterStatus {
  if (!exits.size) return status;
  const mark = (a: SparkApplication): SparkApplication => {
    const code = exits.get(a.id);
    if (code === undefined) return a;
    if (code === 'cancelled') return a.state === 'FINISHED' ? { ...a, state: 'KILLED' } : a;
    const failed = code !== 0 && a.state === 'FINISHED';
    return { ...a, driverExitCode: code, state: failed ? 'FAILED' : a.state };
  };
  return { ...status, activeApps: status.activeApps.map(mark), completedApps: status.completedApps.map(mark) };
}

export class SparkViewModel implements Disposable {
  private _state: SparkViewState;
  private readonly listeners = new Set<() => void>();
  private visible = false;
  private timer?: unknown;
  private inFlight?: Promise<void>;
  private readonly waiters: Array<{ pred: (s: SparkMasterStatus) => boolean; resolve: () => void; until: number }> = [];
  private disposed = false;
  /** exit codes of the drivers submitted from here, by application id */
  private readonly driverExits = new Map<string, DriverOutcome>();
  private readonly intervalMs: number;
  private readonly fastIntervalMs: number;
  private readonly streaming?: SparkViewModelOptions['streaming'];
  private readonly clock: Clock;

  constructor(
    private readonly clientProvider: () => SparkMasterClient,
    opts: SparkViewModelOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 3000;
    this.fastIntervalMs = opts.fastIntervalMs ?? 250;
    this.streaming = opts.streaming;
    this.clock = opts.clock ?? systemClock;
    this._state = { kind: 'loading', uiUrl: this.uiUrl() };
  }

  /** The master UI being read ('' when the connection has no Spark). */
  private uiUrl(): string {
    try {
      return this.clientProvider().uiUrl;
    } catch {
      return '';
    }
  }

  /** Another master (a connection switched): forget what was shown and read again. */
  reset(): void {
    this._state = { kind: 'loading', uiUrl: this.uiUrl() };
    this.driverExits.clear();
    for (const l of [...this.listeners]) l();
    void this.refresh();
  }

  get state(): SparkViewState {
    return this._state;
  }

  onDidChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Poll while visible; stop when hidden. */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (visible) void this.refresh();
    else this.schedule();
  }

  /** Fetch now (coalesces with a fetch already running). */
  refresh(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
    return this.inFlight;
  }

  /**
   * Resolve once the status holds an application matching `pred` (polling fast meanwhile, even when
   * hidden), or after `timeoutMs`; returns whether it appeared.
   */
  waitFor(pred: (s: SparkMasterStatus) => boolean, timeoutMs = 30000): Promise<boolean> {
    if (this._state.kind === 'ok' && pred(this._state.status)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const w = { pred, resolve: () => resolve(true), until: this.clock.now() + timeoutMs };
      this.waiters.push(w);
      const timer = this.clock.setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(false);
        }
      }, timeoutMs);
      (timer as { unref?: () => void } | undefined)?.unref?.();
      void this.refresh();
    });
  }

  /** Resolve when the application `appId` is listed (running or completed). */
  waitForApp(appId: string, timeoutMs?: number, states?: SparkApplication['state'][]): Promise<boolean> {
    return this.waitFor(
      (s) =>
        [...s.activeApps, ...s.completedApps].some((a) => a.id === appId && (!states || states.includes(a.state))),
      timeoutMs,
    );
  }

  /** Note how the driver of `appId` ended. */
  recordDriverExit(appId: string, exitCode: DriverOutcome): void {
    this.driverExits.set(appId, exitCode);
    if (this._state.kind === 'ok') {
      this._state = { ...this._state, status: applyDriverOutcomes(this._state.status, this.driverExits) };
      for (const l of [...this.listeners]) l();
    }
  }

  findApp(appId: string): SparkApplication | undefined {
    if (this._state.kind !== 'ok') return undefined;
    return [...this._state.status.activeApps, ...this._state.status.completedApps].find((a) => a.id === appId);
  }

  dispose(): void {
    this.disposed = true;
    this.clock.clearTimeout(this.timer);
    this.listeners.clear();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private async fetch(): Promise<void> {
    let client: SparkMasterClient;
    try {
      client = this.clientProvider();
    } catch (err) {
      // e.g. the connection has no Spark: said as the view's one row
      this._state = { kind: 'unreachable', uiUrl: '', message: errorMessage(err) };
      for (const l of [...this.listeners]) l();
      return;
    }
    let next: SparkViewState;
    try {
      const status = applyDriverOutcomes(await client.status(), this.driverExits);
      next = { kind: 'ok', uiUrl: client.uiUrl, status, fetchedAt: this.clock.now() };
      const running = status.activeApps.map((a) => a.id);
      if (this.streaming && running.length) {
        // only while applications run (and the view polls only while visible): no cost otherwise
        const found = await this.streaming(running).catch(() => [] as StreamingStatus[]);
        const byApp = new Map<string, StreamingStatus[]>();
        for (const s of found) if (s.query.appId) byApp.set(s.query.appId, [...(byApp.get(s.query.appId) ?? []), s]);
        next.streaming = byApp;
      }
    } catch (err) {
      const message = err instanceof SparkUnreachableError ? err.message : `Spark status unreadable: ${String(err)}`;
      next = { kind: 'unreachable', uiUrl: client.uiUrl, message };
    }
    if (this.disposed) return;
    this._state = next;
    if (next.kind === 'ok') {
      for (const w of [...this.waiters]) {
        if (w.pred(next.status)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
    for (const l of [...this.listeners]) l();
  }

  private schedule(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed) return;
    const now = this.clock.now();
    const waiting = this.waiters.some((w) => w.until > now);
    if (!this.visible && !waiting) return;
    // the master lists an application it is removing (a kill from its web UI or from here) among the
    // completed ones before it marks it KILLED: read again soon rather than show it RUNNING for a poll
    const settling = this._state.kind === 'ok' && this._state.status.completedApps.some((a) => !isFinalAppState(a.state));
    this.timer = this.clock.setTimeout(() => void this.refresh(), waiting || settling ? this.fastIntervalMs : this.intervalMs);
  }
}
