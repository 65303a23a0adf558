/**
 * One Spark job submission: checks before submitting (file exists, is Python, master reachable),
 * streams the driver output line by line with error lines flagged, notes the application id, and
 * on cancel stops the driver process (through the backend's abort signal) and kills the
 * application on the master.
 */
import * as fs from 'node:fs';
import type { SparkSubmitRequest, StackBackend } from '../stack/types';
import { DriverLine, ErrorLineDetector, LineSplitter, parseAppId, parseDriverUiUrl } from './driverOutput';
import { SparkMasterClient, SparkUnreachableError } from './sparkMasterClient';

/** Submission refused before anything ran; the message says why and what to do. */
export class SubmitRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubmitRefusedError';
  }
}

export interface SparkJobHandlers {
  onLine?(line: DriverLine): void;
  onAppId?(appId: string): void;
  onDriverUi?(url: string): void;
}

export interface SparkJobResult {
  exitCode: number;
  appId?: string;
  driverUiUrl?: string;
  cancelled: boolean;
  /** the lines flagged as errors, in order */
  errorLines: string[];
  /** ms from submit to the first line of driver output (undefined when none came) */
  firstOutputMs?: number;
  durationMs: number;
}

/** Refuse early, with the reason, when the job cannot run. */
export async function checkSubmittable(file: string, client: SparkMasterClient, signal?: AbortSignal): Promise<void> {
  if (!/\.py$/i.test(file)) {
    throw new SubmitRefusedError(`${file} is not a Python file. Submit Spark Job runs .py files.`);
  }
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new SubmitRefusedError(`${file} does not exist. Save the file first, or pick another one.`);
  }
  if (!stat.isFile()) throw new SubmitRefusedError(`${file} is not a file.`);
  try {
    await client.status(signal);
  } catch (err) {
    if (err instanceof SparkUnreachableError) {
      throw new SubmitRefusedError(
        client.connection
          ? `Spark master of connection "${client.connection}" unreachable at ${client.uiUrl}: nothing was submitted. Check the connection's Spark UI URL.`
          : `Spark master unreachable at ${client.uiUrl}: nothing was submitted. Start the stack (DataPipeline: Start Stack) or check datapipeline.spark.uiUrl.`,
      );
    }
    throw err;
  }
}

/** How long cancel() waits for the driver to end before it kills the application on the master. */
const DRIVER_STOP_WAIT_MS = 15_000;

export class SparkJob {
  private readonly abort = new AbortController();
  private appId?: string;
  private cancelled = false;
  private running?: Promise<SparkJobResult>;

  constructor(
    private readonly backend: Pick<StackBackend, 'submitSpark'>,
    private readonly client: SparkMasterClient,
    readonly request: SparkSubmitRequest,
  ) {}

  get applicationId(): string | undefined {
    return this.appId;
  }

  /** Runs the job to its end. Resolves with the exit status (also when cancelled); rejects on refusal. */
  run(handlers: SparkJobHandlers = {}, opts: { skipChecks?: boolean } = {}): Promise<SparkJobResult> {
    const running = this.execute(handlers, opts);
    this.running = running;
    return running;
  }

  private async execute(handlers: SparkJobHandlers, opts: { skipChecks?: boolean }): Promise<SparkJobResult> {
    const started = performance.now();
    if (!opts.skipChecks) await checkSubmittable(this.request.file, this.client, this.abort.signal);
    let firstOutputMs: number | undefined;
    let driverUiUrl: string | undefined;
    const errorLines: string[] = [];
    const detector = new ErrorLineDetector();
    const emit = (text: string, stream: DriverLine['stream']) => {
      firstOutputMs ??= performance.now() - started;
      const error = detector.classify(text);
      if (error) errorLines.push(text);
      if (!this.appId) {
        const id = parseAppId(text);
        if (id) {
          this.appId = id;
          handlers.onAppId?.(id);
        }
      }
      if (!driverUiUrl) {
        driverUiUrl = parseDriverUiUrl(text);
        if (driverUiUrl) handlers.onDriverUi?.(driverUiUrl);
      }
      handlers.onLine?.({ text, stream, error });
    };
    const out = new LineSplitter();
    const err = new LineSplitter();
    let exitCode: number;
    try {
      const res = await this.backend.submitSpark(this.request, {
        onStdout: (c) => out.push(c).forEach((l) => emit(l, 'stdout')),
        onStderr: (c) => err.push(c).forEach((l) => emit(l, 'stderr')),
        signal: this.abort.signal,
      });
      exitCode = res.exitCode;
      if (!this.appId && res.appId) {
        this.appId = res.appId;
        handlers.onAppId?.(res.appId);
      }
    } catch (e) {
      if (!this.cancelled) throw e;
      exitCode = 130;
    }
    out.flush().forEach((l) => emit(l, 'stdout'));
    err.flush().forEach((l) => emit(l, 'stderr'));
    return {
      exitCode,
      appId: this.appId,
      driverUiUrl,
      cancelled: this.cancelled,
      errorLines,
      firstOutputMs,
      durationMs: performance.now() - started,
    };
  }

  /**
   * Stop the driver process; once it has ended (its application ends with it, through the master's
   * own message loop), kill the application on the master if it still runs there. Not both at once:
   * the master's web UI kill beside the driver's own unregistering is the race killApp explains.
   */
  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.abort.abort();
    if (this.running) await Promise.race([this.running.catch(() => undefined), new Promise((r) => setTimeout(r, DRIVER_STOP_WAIT_MS).unref?.())]);
    await this.killApp();
  }

  private async killApp(): Promise<void> {
    if (!this.appId) return;
    try {
      await this.client.killApp(this.appId);
    } catch {
      // The driver is gone; the master drops its application on disconnect anyway.
    }
  }
}
