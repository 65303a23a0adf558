import { sleep } from '../util/sleep';
import { isFinalAppState, parseMasterStatus, SparkMasterStatus } from './models';

/** The master could not be reached or answered with something that is not its status. */
export class SparkUnreachableError extends Error {
  constructor(
    readonly uiUrl: string,
    /** what went wrong, without the advice ("no answer within 3000 ms", "ECONNREFUSED") */
    readonly detail: string,
    /** the named connection the master belongs to (undefined: the local stack's) */
    readonly connection?: string,
  ) {
    super(
      connection
        ? `Spark of connection "${connection}" unreachable at ${uiUrl} (${detail}). Check the connection's Spark UI URL and that this machine can reach it.`
        : `Spark unreachable at ${uiUrl} (${detail}). Start the stack (DataPipeline: Start Stack) or set datapipeline.spark.uiUrl.`,
    );
    this.name = 'SparkUnreachableError';
  }
}

/** How old (by the master's clock) an application must be before it is killed: see killApp. */
export const KILL_SETTLE_MS = 3000;

/** A kill the master did not carry out as asked. */
export class SparkKillError extends Error {
  constructor(
    message: string,
    readonly appId: string,
  ) {
    super(message);
    this.name = 'SparkKillError';
  }
}

export interface SparkMasterClientOptions {
  /** per-request timeout, ms (default 3000) */
  timeoutMs?: number;
  /** the named connection the master belongs to, for errors */
  connection?: string;
}

/**
 * Client for the Spark standalone master's web UI: the JSON status endpoint (`GET /json`) and
 * application kill (`POST /app/kill/` with `id` and `terminate=true`; the master honours it while
 * `spark.ui.killEnabled` is true, Spark's default).
 */
export class SparkMasterClient {
  readonly uiUrl: string;
  readonly connection?: string;
  private readonly timeoutMs: number;

  constructor(uiUrl: string, opts: SparkMasterClientOptions = {}) {
    this.uiUrl = uiUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.connection = opts.connection;
  }

  async status(signal?: AbortSignal): Promise<SparkMasterStatus> {
    const res = await this.request('/json', { method: 'GET', headers: { accept: 'application/json' } }, signal);
    if (!res.ok) throw new SparkUnreachableError(this.uiUrl, `GET /json answered HTTP ${res.status}`, this.connection);
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new SparkUnreachableError(this.uiUrl, 'GET /json did not return JSON; is this a Spark master UI?', this.connection);
    }
    return parseMasterStatus(body);
  }

  /** True when the master answers its status endpoint. */
  async isReachable(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.status(signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Kill an application on the master and wait until the master has it KILLED (or otherwise ended).
   *
   * Spark's standalone master runs its web UI's kill on the web server's thread, beside its own
   * message loop: a kill while the master is still giving the application its executors (its first
   * moments) can end with an executor launched for the removed application, the application listed
   * completed yet RUNNING, and the worker's cores held for good (seen in CI: the next job waited for
   * resources forever). So an application younger than `settleMs` (by the master's own clock) is
   * killed once it is that old; an application not running is left alone; and a kill the master
   * lost track of is reported with what to do.
   */
  async killApp(appId: string, signal?: AbortSignal, opts: { settleMs?: number; confirmMs?: number } = {}): Promise<void> {
    if (!/^app-[\w-]+$/.test(appId)) throw new Error(`Not a Spark application id: ${appId}`);
    const settleMs = opts.settleMs ?? KILL_SETTLE_MS;
    const app = (await this.status(signal)).activeApps.find((a) => a.id === appId);
    if (!app) return; // ended already (or never ran here): nothing to kill
    if (app.duration < settleMs) await sleep(settleMs - app.duration, signal);
    const body = new URLSearchParams({ id: appId, terminate: 'true' });
    const res = await this.request(
      '/app/kill/',
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
        redirect: 'manual',
      },
      signal,
    );
    // Jetty answers the kill with a 302 redirect to the master page.
    if (res.status >= 400) {
      throw new Error(
        `The Spark master refused to kill ${appId} (HTTP ${res.status}). ` +
          `Check that spark.ui.killEnabled is true on the master.`,
      );
    }
    const deadline = Date.now() + (opts.confirmMs ?? 10_000);
    for (;;) {
      const st = await this.status(signal);
      const active = st.activeApps.find((a) => a.id === appId);
      const done = st.completedApps.find((a) => a.id === appId);
      if (!active && (!done || isFinalAppState(done.state))) return;
      if (Date.now() > deadline) {
        throw new SparkKillError(
          active
            ? `The Spark master still runs ${appId} after the kill. Check that spark.ui.killEnabled is true on the master.`
            : `The Spark master lost track of ${appId} while killing it: it lists it completed but RUNNING (a race in Spark's standalone master). ` +
                `Its worker may keep the application's cores busy, so new jobs wait for resources: restart the Spark worker.`,
          appId,
        );
      }
      await sleep(250, signal);
    }
  }

  /** The master's page for one application (links to the driver UI while it runs). */
  appPageUrl(appId: string): string {
    return `${this.uiUrl}/app/?appId=${encodeURIComponent(appId)}`;
  }

  private async request(path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await fetch(this.uiUrl + path, { ...init, signal: combined });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string } }).cause;
      const detail = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : (cause?.code ?? String(err));
      throw new SparkUnreachableError(this.uiUrl, detail, this.connection);
    }
  }
}
