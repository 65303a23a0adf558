/**
 * Airflow passwords, kept per server (URL + user) in a secret store (VS Code SecretStorage in the
 * extension). The bundled stack's admin password is used only for the stack's own URL on this
 * machine; any other server gets no password until the user enters one for it, so a URL set by a
 * workspace's settings never receives a password meant for another server.
 */

export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** The one global key of earlier versions (whatever URL was configured when it was stored). */
export const LEGACY_PASSWORD_KEY = 'datapipeline.airflow.password';
/** The admin user and password that the bundled stack creates (stack/.env, native init). */
import { DEFAULT_STACK_ADMIN_PASSWORD, STACK_ADMIN_USER } from '../stack/airflowPassword';

export { STACK_ADMIN_USER };

/** scheme://host[:port]/path, lower-case host, no default port, no trailing slash, no query. */
export function normalizeServerUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw.trim().replace(/\/+$/, '');
  }
  return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '')}`;
}

export function passwordKey(url: string, user: string): string {
  return `${LEGACY_PASSWORD_KEY}:${user}@${normalizeServerUrl(url)}`;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** A warning when Basic auth would go unencrypted over the network (http to a host that is not this machine). */
export function plainHttpWarning(url: string): string | undefined {
  return plainHttpTo(url) ? `Airflow at ${normalizeServerUrl(url)} is reached over plain http: the password is sent unencrypted (Basic auth). Use an https:// URL for a server on the network.` : undefined;
}

/** An OAuth token endpoint over plain http to a host that is not this machine: the client secret travels unencrypted. */
export function oauthPlainHttpWarning(tokenEndpoint: string): string | undefined {
  return plainHttpTo(tokenEndpoint)
    ? `The OAuth token endpoint ${tokenEndpoint} is reached over plain http: the client secret is sent unencrypted. Use an https:// URL for a server on the network.`
    : undefined;
}

/** http:// to a host that is not this machine */
function plainHttpTo(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && !isLoopbackHost(u.hostname);
}

export class AirflowCredentials {
  private migrated?: Promise<void>;

  /**
   * @param stackUrl the URL of the stack this extension runs (its own endpoint, not a setting)
   * @param stackPassword the stack's admin password (admin unless the user set one: services/stack/airflowPassword)
   */
  constructor(
    private readonly secrets: SecretStore,
    private readonly stackUrl: () => string,
    private readonly stackPassword: () => string = () => DEFAULT_STACK_ADMIN_PASSWORD,
  ) {}

  /** True when `url` is the bundled stack's own Airflow on this machine. */
  isStackServer(url: string): boolean {
    const host = hostOf(url);
    return !!host && isLoopbackHost(host) && normalizeServerUrl(url) === normalizeServerUrl(this.stackUrl());
  }

  /** The password for this server and user; undefined when the user has to be asked first. */
  async password(url: string, user: string): Promise<string | undefined> {
    await this.migrateLegacy(user);
    const stored = await this.secrets.get(passwordKey(url, user));
    if (stored !== undefined) return stored;
    return user === STACK_ADMIN_USER && this.isStackServer(url) ? this.stackPassword() : undefined;
  }

  async save(url: string, user: string, password: string): Promise<void> {
    await this.secrets.store(passwordKey(url, user), password);
  }

  /** Forgets what was typed for this server and user (the stack's own password was set anew). */
  async forget(url: string, user: string): Promise<void> {
    await this.secrets.delete(passwordKey(url, user));
  }

  /**
   * The global password of earlier versions belongs to no known server: it is kept for the stack's
   * own URL only (where it can do no harm) and the global key is removed.
   */
  private migrateLegacy(user: string): Promise<void> {
    this.migrated ??= (async () => {
      const legacy = await this.secrets.get(LEGACY_PASSWORD_KEY);
      if (legacy === undefined) return;
      const key = passwordKey(this.stackUrl(), user);
      if ((await this.secrets.get(key)) === undefined) await this.secrets.store(key, legacy);
      await this.secrets.delete(LEGACY_PASSWORD_KEY);
    })();
    return this.migrated;
  }
}
