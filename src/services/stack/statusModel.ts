/**
 * The stack's view model, for either backend: the last status of every service, refreshed when
 * the backend reports a change (docker events, process exits) with bursts coalesced, and the
 * "8/8 running" summary. No `vscode` import.
 */
import type { Disposable, ServiceStatus, StackBackend, StackEndpoints } from './types';
import { systemClock, type Clock } from '../util/clock';

export interface StackSummary {
  /** services where they should be: running and healthy (or without a health check), or a one-shot that completed */
  ok: number;
  total: number;
  /** some services are up and some are not */
  degraded: boolean;
  /** at least one service is running or starting */
  running: boolean;
  /** "8/8 running", "5/8 running", "stopped" */
  text: string;
}

/** Is this service where it should be? */
export function serviceOk(s: ServiceStatus): boolean {
  if (s.state === 'exited') return s.exitCode === 0 && s.detail === 'completed';
  return s.state === 'running' && (s.health === 'healthy' || s.health === 'none');
}

export function summarize(all: readonly ServiceStatus[]): StackSummary {
  // an optional service that is not running (Kafka UI without its image) is not missing
  const services = all.filter((s) => !(s.optional && !serviceOk(s) && s.state !== 'starting'));
  const total = services.length;
  const ok = services.filter(serviceOk).length;
  const running = services.some((s) => s.state === 'running' || s.state === 'starting');
  const degraded = running && ok < total;
  return { ok, total, degraded, running, text: running ? `${ok}/${total} running` : 'stopped' };
}

export interface StackStatusModelOptions {
  /** wait this long after a change event before re-reading (bursts of events become one read) */
  debounceMs?: number;
  /**
   * while a service is starting (or its health check has not passed yet), read again this often
   * (default 2 s): a health that settles raises no event, and another window or `npm run stack`
   * may have made the change, so nothing here would otherwise read it
   */
  settleMs?: number;
  /** a read that takes longer fails (default 20 s): a backend that hangs never freezes the views */
  statusTimeoutMs?: number;
  onError?: (err: unknown) => void;
  /** its time and timers (tests move a ManualClock) */
  clock?: Clock;
}

/** A service on its way somewhere: its state or health will change with no event to say so. */
export function settling(s: ServiceStatus): boolean {
  return s.state === 'starting' || (s.state === 'running' && s.health === 'starting');
}

export class StackStatusModel implements Disposable {
  private current: ServiceStatus[] = [];
  private currentEndpoints: StackEndpoints;
  private readonly listeners = new Set<() => void>();
  private readonly backendSub: Disposable;
  private timer?: unknown;
  private settleTimer?: unknown;
  private readonly clock: Clock;
  private inFlight?: Promise<readonly ServiceStatus[]>;
  private again = false;
  private disposed = false;
  /** when the last change event arrived (ms, for latency measurements) */
  lastEventAt = 0;

  constructor(
    readonly backend: StackBackend,
    private readonly opts: StackStatusModelOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.currentEndpoints = backend.endpoints();
    this.backendSub = backend.onDidChange(() => {
      this.lastEventAt = this.clock.now();
      this.schedule();
    });
  }

  get services(): readonly ServiceStatus[] {
    return this.current;
  }

  /**
   * Where the stack's services answer, as last read with their status: the backend's addresses
   * follow the stack as it runs (brokers and workers, Airflow, ports started by another window or the CLI).
   */
  get endpoints(): StackEndpoints {
    return this.currentEndpoints;
  }

  summary(): StackSummary {
    return summarize(this.current);
  }

  onDidChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private schedule(): void {
    if (this.disposed) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch((err: unknown) => this.opts.onError?.(err));
    }, this.opts.debounceMs ?? 100);
  }

  /** Re-reads every service; concurrent calls share one read, and a call during a read runs one more after it. */
  refresh(): Promise<readonly ServiceStatus[]> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      try {
        do {
          this.again = false;
          const next = await this.readStatus();
          if (this.disposed) break;
          const endpoints = this.backend.endpoints();
          const changed = JSON.stringify(next) !== JSON.stringify(this.current) || JSON.stringify(endpoints) !== JSON.stringify(this.currentEndpoints);
          this.current = next;
          this.currentEndpoints = endpoints;
          if (changed) for (const l of [...this.listeners]) l();
        } while (this.again && !this.disposed);
        return this.current;
      } finally {
        this.inFlight = undefined;
        this.scheduleSettle();
      }
    })();
    return this.inFlight;
  }

  private readStatus(): Promise<ServiceStatus[]> {
    const ms = this.opts.statusTimeoutMs ?? 20_000;
    let timer: unknown;
    return Promise.race([
      this.backend.status(),
      new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(() => reject(new Error(`The ${this.backend.kind} stack did not answer a status read within ${Math.round(ms / 1000)} s.`)), ms);
      }),
    ]).finally(() => this.clock.clearTimeout(timer));
  }

  /** Reads again soon while anything is settling (see settleMs). */
  private scheduleSettle(): void {
    if (this.disposed || this.settleTimer || !this.current.some(settling)) return;
    this.settleTimer = this.clock.setTimeout(() => {
      this.settleTimer = undefined;
      this.refresh().catch((err: unknown) => this.opts.onError?.(err));
    }, this.opts.settleMs ?? 2000);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (this.settleTimer) this.clock.clearTimeout(this.settleTimer);
    this.backendSub.dispose();
    this.listeners.clear();
  }
}
