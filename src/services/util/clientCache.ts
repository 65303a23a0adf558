/**
 * One client per address: the same client while the address (the key) stays, a new one when it
 * changes, the old one disposed. Every feature's Kafka, Spark and Airflow client comes through one
 * of these (src/connections.ts). No `vscode` import.
 */
export class ClientCache<T> {
  private current?: { key: string; client: T };

  /** `create` makes a client from its key; without it, each get() says how (`make`). */
  constructor(
    private readonly create?: (key: string) => T,
    private readonly disposeClient: (client: T) => void = () => undefined,
  ) {}

  /** The client for `key`; a new one (from `make`, else the cache's own factory) when the key changed. */
  get(key: string, make?: () => T): T {
    if (this.current?.key !== key) {
      const factory = make ?? (this.create ? () => this.create!(key) : undefined);
      if (!factory) throw new Error('ClientCache.get needs a factory for a new key');
      this.dispose();
      this.current = { key, client: factory() };
    }
    return this.current.client;
  }

  /** The client for the last key, if one was made. */
  get last(): T | undefined {
    return this.current?.client;
  }

  dispose(): void {
    const c = this.current;
    this.current = undefined;
    if (c) this.disposeClient(c.client);
  }
}
