/**
 * One way to own disposables (after vscode-pull-request-github's `lifecycle.ts`): a class extends
 * `Disposable`, hands what it creates to `register()`, and its `dispose()` lets them all go once, in
 * the order they were registered. No `vscode` import: the services layer uses it too
 * (`vscode.Disposable`s are `IDisposable`s).
 */

/** Anything that can be let go: a vscode.Disposable, an EventEmitter, a client. */
export interface IDisposable {
  dispose(): unknown;
}

export class Disposable implements IDisposable {
  private readonly owned: IDisposable[] = [];
  private isDisposed = false;

  /** dispose() has begun: a late callback should do nothing */
  protected get disposed(): boolean {
    return this.isDisposed;
  }

  /** Owns `d` until this is disposed (disposed at once when that has already happened). */
  protected register<T extends IDisposable>(d: T): T {
    if (this.isDisposed) void d.dispose();
    else this.owned.push(d);
    return d;
  }

  /** Lets go of everything registered, once; one that throws does not keep the others. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const errors: unknown[] = [];
    for (const d of this.owned.splice(0)) {
      try {
        void d.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} disposables failed to dispose`);
  }
}
