/**
 * The named connections' secrets (passwords, client secrets, key passphrases, tokens), kept in a
 * secret store (VS Code's SecretStorage) under the connection's id and kind, cached until they
 * change. A secret belongs to the connection that was saved with it and to no other: the ids that
 * hold secrets are indexed (in the user's global state), and the secrets of an id that is no
 * longer in the settings (a connection deleted by hand from settings.json) are removed at the next
 * start, so a connection imported or added later under that id never inherits them. No `vscode`
 * import.
 */
import { secretKey, type SecretKind } from './profile';

/** What the extension's SecretStorage offers (the subset used here). */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
  onDidChange(listener: (e: { key: string }) => unknown): { dispose(): unknown };
}

/** Where the index of ids with secrets lives (the extension's globalState: it follows the user, as the settings do). */
export interface IndexStore {
  get<T>(key: string, defaultValue: T): T;
  update(key: string, value: unknown): PromiseLike<void>;
}

export const SECRET_KINDS: readonly SecretKind[] = ['kafka', 'kafkaKeyPassphrase', 'airflow'];
/** globalState key of the ids that have secrets stored */
export const SECRET_IDS_KEY = 'datapipeline.connectionSecretIds';

export class ConnectionSecrets {
  private readonly cache = new Map<string, Promise<string | undefined>>();
  private readonly sub: { dispose(): unknown };

  constructor(
    private readonly store: SecretStore,
    private readonly index: IndexStore,
    onChange: (connectionId: string) => void,
  ) {
    this.sub = store.onDidChange((e) => {
      this.cache.delete(e.key);
      const m = /^datapipeline\.connection:(.+):[^:]+$/.exec(e.key);
      if (m) onChange(m[1]);
    });
  }

  get(id: string, kind: SecretKind): Promise<string | undefined> {
    const key = secretKey(id, kind);
    let v = this.cache.get(key);
    if (!v) {
      v = Promise.resolve(this.store.get(key));
      this.cache.set(key, v);
    }
    return v;
  }

  async set(id: string, kind: SecretKind, value: string | undefined): Promise<void> {
    const key = secretKey(id, kind);
    this.cache.delete(key);
    if (value === undefined) {
      await this.store.delete(key);
      return;
    }
    const ids = this.ids();
    if (!ids.includes(id)) await this.index.update(SECRET_IDS_KEY, [...ids, id]);
    await this.store.store(key, value);
  }

  async deleteAll(id: string): Promise<void> {
    for (const kind of SECRET_KINDS) await this.set(id, kind, undefined);
    const ids = this.ids();
    if (ids.includes(id)) await this.index.update(SECRET_IDS_KEY, ids.filter((x) => x !== id));
  }

  /** Removes the secrets of every indexed id not in `keep` (connections gone from the settings). Returns the ids cleared. */
  async forgetAllBut(keep: Iterable<string>): Promise<string[]> {
    const kept = new Set(keep);
    const gone = this.ids().filter((id) => !kept.has(id));
    for (const id of gone) await this.deleteAll(id);
    return gone;
  }

  /** ids with secrets stored, as indexed */
  ids(): string[] {
    const v = this.index.get<unknown>(SECRET_IDS_KEY, []);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  dispose(): void {
    this.sub.dispose();
    this.cache.clear();
  }
}
