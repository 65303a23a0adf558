/**
 * One task try's log, followed while the try runs (continuation tokens), for a read-only document.
 * Only the first read may ask for a password (the user just opened the log); a poll never asks: a
 * 401 while following stops the follow and says what to do, instead of opening the password box
 * every poll. The text kept is bounded (the newest part stays), and the document is told to re-read
 * only when something new came. No `vscode` import.
 */
import { AirflowError } from './errors';
import { errorMessage } from '../util/errors';

export interface TaskLogChunk {
  text: string;
  continuationToken?: string;
  endOfLog: boolean;
}

export interface LogFollowDeps {
  /** the next chunk after `token`; `interactive`: a missing or refused password may be asked for (first read only) */
  read(token: string | undefined, interactive: boolean): Promise<TaskLogChunk>;
  /** whether the try has finished (Airflow 2.x marks end_of_log only then) */
  tryFinished(): Promise<boolean>;
  /** new text or a new state: the document re-reads content() */
  onUpdate(): void;
  /** between polls (default 2 s) */
  pollMs?: number;
  /** characters kept (default 4 MiB): past that the oldest lines go */
  maxChars?: number;
}

export class TaskLogFollow {
  private text = '';
  private dropped = 0;
  private token?: string;
  private ended = false;
  private error?: string;
  private timer?: NodeJS.Timeout;
  private disposed = false;

  constructor(private readonly deps: LogFollowDeps) {}

  /** The first read (may ask for a password); then follows on its own. */
  async start(): Promise<void> {
    await this.fetch(true);
  }

  get following(): boolean {
    return !this.ended && !this.disposed;
  }

  /** What the document shows: the log (bounded) and a footer that says whether it follows. */
  content(): string {
    const head = this.dropped ? `[DataPipeline] ${this.dropped} earlier characters of this log are not shown; the full log is in Airflow.\n` : '';
    const footer = this.error ? `\n[DataPipeline] ${this.error}\n` : this.ended ? '' : '\n[DataPipeline] following the log while the task runs…\n';
    return head + this.text + footer;
  }

  /** Stops following, saying why (e.g. the connection changed); the text stays. */
  stop(reason: string): void {
    this.clearTimer();
    if (this.ended) return;
    this.ended = true;
    this.error = reason;
    this.deps.onUpdate();
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private append(chunk: string, replace: boolean): boolean {
    if (replace) this.text = chunk;
    else if (chunk) this.text += chunk;
    else return false;
    const max = this.deps.maxChars ?? 4 * 1024 * 1024;
    if (this.text.length > max) {
      // cut at a line start so the first line shown is whole
      let cut = this.text.length - max;
      const nl = this.text.indexOf('\n', cut);
      if (nl >= 0 && nl - cut < 4096) cut = nl + 1;
      this.dropped += cut;
      this.text = this.text.slice(cut);
    }
    return true;
  }

  private async fetch(interactive: boolean): Promise<void> {
    if (this.disposed || this.ended) return;
    let changed = false;
    try {
      const chunk = await this.deps.read(this.token, interactive);
      changed = this.append(chunk.text, this.token === undefined);
      this.token = chunk.continuationToken;
      if (this.error) changed = true;
      this.error = undefined;
      this.ended = chunk.endOfLog;
      if (!this.ended && this.token && (await this.deps.tryFinished().catch(() => false))) {
        const last = await this.deps.read(this.token, false);
        changed = this.append(last.text, false) || changed;
        this.ended = true;
        changed = true;
      }
    } catch (err) {
      const message = errorMessage(err);
      if (err instanceof AirflowError && err.kind === 'unauthorized') {
        // never ask again from a poll: stop, and say what to do
        this.ended = true;
        this.error = `${message} The log stopped following; after Enter Password (DAGs view), open it again.`;
      } else {
        this.error = message;
      }
      changed = true;
    }
    if (this.disposed) return;
    if (changed && !interactive) this.deps.onUpdate();
    if (!this.ended) this.timer = setTimeout(() => void this.fetch(false), this.deps.pollMs ?? 2000);
  }
}
