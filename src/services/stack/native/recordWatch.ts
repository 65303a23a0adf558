/**
 * Tells when the native stack's run records change, whoever changed them (this window, the CLI, a
 * crash): the supervisor writes the run and exit records in the state folder's run/ directory, and a
 * watch on it reads them again ~100 ms after they change. A slow poll stays for what leaves no record
 * (a supervisor killed with SIGKILL).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { Disposable } from '../types';

/** run/ records change in bursts (a temp file, then its rename): read them once the burst is over */
const WATCH_DEBOUNCE_MS = 100;
/** for what leaves no record: a supervisor killed with SIGKILL */
const FALLBACK_POLL_MS = 30_000;

export class RecordWatch {
  private readonly events = new EventEmitter();
  private pollTimer?: NodeJS.Timeout;
  private watcher?: fs.FSWatcher;
  private watchDebounce?: NodeJS.Timeout;
  private lastSignature = '';

  /** `signature` sums up the records (pids and exit codes): a change fires the listeners. */
  constructor(
    private readonly runDir: string,
    private readonly signature: () => string,
  ) {}

  onDidChange(listener: () => void): Disposable {
    this.events.on('change', listener);
    this.ensureWatching();
    return {
      dispose: () => {
        this.events.off('change', listener);
        if (this.events.listenerCount('change') === 0) this.stopWatching();
      },
    };
  }

  /** Fires now (this process changed the records). */
  fire(): void {
    this.lastSignature = this.signature();
    this.events.emit('change');
  }

  /** True when the records changed (and listeners were told). */
  private check(): boolean {
    const sig = this.signature();
    if (sig === this.lastSignature) return false;
    this.lastSignature = sig;
    this.events.emit('change');
    return true;
  }

  private ensureWatching(): void {
    if (this.pollTimer) return;
    this.lastSignature = this.signature();
    try {
      fs.mkdirSync(this.runDir, { recursive: true });
      this.watcher = fs.watch(this.runDir, () => {
        if (this.watchDebounce) return;
        this.watchDebounce = setTimeout(() => {
          this.watchDebounce = undefined;
          // an exit record is written just before its supervisor exits: look again once it has
          if (!this.check()) setTimeout(() => this.check(), 1000).unref();
        }, WATCH_DEBOUNCE_MS);
        this.watchDebounce.unref();
      });
      this.watcher.on('error', () => this.watcher?.close());
      this.watcher.unref();
    } catch {
      // no watch here (a file system without inotify): the poll below sees changes, slower
      this.watcher = undefined;
    }
    this.pollTimer = setInterval(() => this.check(), this.watcher ? FALLBACK_POLL_MS : 3000);
    this.pollTimer.unref();
  }

  private stopWatching(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.watchDebounce) clearTimeout(this.watchDebounce);
    this.watcher?.close();
    this.pollTimer = this.watchDebounce = this.watcher = undefined;
  }

  dispose(): void {
    this.stopWatching();
    this.events.removeAllListeners();
  }
}
