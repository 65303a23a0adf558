/** One source of events (a stream, a watch) shared by every listener: opened with the first, closed with the last. */
export class SharedEvents {
  private readonly listeners = new Set<() => void>();
  private close?: () => void;

  /** `open` starts the source, calling `fire` for each event, and returns how to stop it. */
  constructor(private readonly open: (fire: () => void) => () => void) {}

  add(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    this.close ??= this.open(() => {
      for (const l of [...this.listeners]) l();
    });
    return {
      dispose: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0 && this.close) {
          this.close();
          this.close = undefined;
        }
      },
    };
  }
}
