import * as vscode from 'vscode';
import { AirflowClient } from './services/airflow/client';
import { AirflowCredentials, oauthPlainHttpWarning, plainHttpWarning, STACK_ADMIN_USER } from './services/airflow/credentials';
import { AirflowError, passwordNeeded } from './services/airflow/errors';
import { activeFrom, localStackConnection, PartNotConfiguredError, ReadOnlyConnectionError, writeDecision, type ActiveConnection, type ConnectionPart } from './services/connections/guard';
import {
  airflowSecretLabel,
  describeConnection,
  LOCAL_CONNECTION_ID,
  parseConnections,
  type ConnectionProfile,
} from './services/connections/profile';
import type { KafkaService, KafkaServiceOptions } from './services/kafka/kafkaClient';
import { SparkMasterClient } from './services/spark/sparkMasterClient';
import { ConnectionSecrets } from './services/connections/secrets';
import { ClientCache } from './services/util/clientCache';
import type { Logger } from './services/util/logger';
import type { Settings } from './settings';
import type { StackController } from './stackController';
import { Disposable } from './services/util/lifecycle';

export interface ConnectionChange {
  connection: ActiveConnection;
  /** another connection was picked (not only its settings or secrets changed) */
  switched: boolean;
}

/** Settings that move the Local stack's addresses, or say whether changes may go there. */
const LOCAL_ADDRESS_SETTINGS = ['datapipeline.kafka.bootstrapServers', 'datapipeline.airflow.url', 'datapipeline.spark.masterUrl', 'datapipeline.spark.uiUrl', 'datapipeline.localStack.readOnly'];

/** workspaceState key of the active connection's id (each project remembers its own). */
export const ACTIVE_CONNECTION_KEY = 'datapipeline.activeConnection';

/** What the connections need: where the local stack is, the user's connections, where secrets and the choice live. */
export interface ConnectionDeps {
  readonly stack: Pick<StackController, 'endpoints' | 'stackAirflowUrl'>;
  readonly settings: Pick<Settings, 'airflowUsername' | 'connections' | 'onDidChange' | 'localStackReadOnly'>;
  readonly secrets: vscode.SecretStorage;
  /** workspace state: the active connection's id */
  readonly state: vscode.Memento;
  /** the user's global state: which connection ids hold secrets */
  readonly globalState: vscode.Memento;
  /** the local stack's Airflow admin password (services/stack/airflowPassword) */
  stackAirflowPassword(): string;
  logger(name: string): Logger;
}

/**
 * The one place the Kafka, Spark and Airflow clients are built and cached, for the active
 * connection: the built-in Local stack (the stack's endpoints, an address setting overrides one) or
 * one of the user's named connections (`datapipeline.connections`, secrets in SecretStorage under
 * its id). A client stays while its connection and address stay and is replaced (the old one
 * disposed) when they change. Every view, command and panel asks here; switching fires
 * onDidChangeActive and everything re-reads.
 */
export class Connections extends Disposable {
  readonly airflow: AirflowConnection;
  readonly secrets: ConnectionSecrets;
  private readonly kafkaClients = new ClientCache<Promise<KafkaService>>(undefined, (service) => void service.then((s) => s.dispose()).catch(() => undefined));
  private readonly sparkClients = new ClientCache<SparkMasterClient>();
  private readonly changeEmitter = this.register(new vscode.EventEmitter<ConnectionChange>());
  /** The active connection changed: another one was picked (switched), or its settings or secrets changed. */
  readonly onDidChangeActive = this.changeEmitter.event;
  private profiles: ConnectionProfile[] = [];
  private current: ActiveConnection;
  /** writable connections beyond this machine whose changes the user confirmed this session */
  private readonly confirmed = new Set<string>();
  /** warnings already shown this session (polls and rebuilt clients repeat them) */
  private readonly warned = new Set<string>();
  private readonly log: Logger;
  private reportedErrors = '';
  private readonly kafkaLog: Logger;

  constructor(private readonly deps: ConnectionDeps) {
    super();
    this.log = deps.logger('connections');
    this.secrets = new ConnectionSecrets(deps.secrets, deps.globalState, (id) => id === this.current.id && this.changed());
    this.register(this.secrets);
    this.airflow = new AirflowConnection(deps, this);
    this.kafkaLog = deps.logger('kafka');
    this.loadProfiles();
    const saved = deps.state.get<string>(ACTIVE_CONNECTION_KEY, LOCAL_CONNECTION_ID);
    const profile = this.profiles.find((p) => p.id === saved);
    if (saved !== LOCAL_CONNECTION_ID && !profile) this.log.warn(`the connection "${saved}" chosen earlier is no longer in datapipeline.connections: using the Local stack`);
    this.current = activeFrom(profile, this.localStack());
    this.forgetRemovedSecrets();
    this.register(
      deps.settings.onDidChange((e) => {
        if (this.current.local && LOCAL_ADDRESS_SETTINGS.some((k) => e.affectsConfiguration(k))) {
          const before = JSON.stringify(this.current);
          this.current = this.localStack();
          if (JSON.stringify(this.current) !== before) {
            if (this.current.readOnly && this.current.remoteHosts?.length) this.log.warn(`the Local stack points at ${this.current.remoteHosts.join(', ')} (not this machine): read-only`);
            this.changed();
          }
        }
        if (!e.affectsConfiguration('datapipeline.connections')) return;
        const before = JSON.stringify(this.current.profile ?? null);
        this.loadProfiles();
        this.forgetRemovedSecrets();
        const now = this.profiles.find((p) => p.id === this.current.id);
        if (!this.current.local && !now) {
          void vscode.window.showWarningMessage(`The connection "${this.current.name}" was removed from the settings: DataPipeline switched to the Local stack.`);
          void this.select(LOCAL_CONNECTION_ID);
        } else if (JSON.stringify(now ?? null) !== before) {
          this.current = activeFrom(now, this.localStack());
          this.changed();
        }
      }),
    );
  }

  /**
   * Secrets of connections no longer in the settings (deleted by hand from settings.json) are removed,
   * so a connection added or imported later under the same id never inherits them. Ids of entries
   * that do not parse stay: a typo must not cost a password.
   */
  private forgetRemovedSecrets(): void {
    const raw = this.deps.settings.connections;
    const ids = Array.isArray(raw) ? raw.map((c) => (c && typeof c === 'object' ? (c as { id?: unknown }).id : undefined)).filter((id): id is string => typeof id === 'string') : [];
    void this.secrets.forgetAllBut(ids).then(
      (gone) => gone.length && this.log.info(`removed the stored secrets of ${gone.length} connection(s) no longer in the settings: ${gone.join(', ')}`),
      (err: unknown) => this.log.warn(`could not remove the secrets of removed connections: ${String(err)}`),
    );
  }

  /** Shows a warning (and logs it) once per session. */
  warnOnce(message: string, log: Logger): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    log.warn(message);
    void vscode.window.showWarningMessage(`DataPipeline: ${message}`);
  }

  /** The Local stack as its address settings are now (read-only when one points off this machine). */
  private localStack(): ActiveConnection {
    return localStackConnection(this.deps.stack.endpoints(), this.deps.settings.localStackReadOnly);
  }

  private loadProfiles(): void {
    const { connections, errors } = parseConnections(this.deps.settings.connections);
    this.profiles = connections;
    const text = errors.join('\n');
    if (text && text !== this.reportedErrors) {
      for (const e of errors) this.log.warn(e);
      void vscode.window.showWarningMessage(`DataPipeline: ${errors.length} connection${errors.length === 1 ? '' : 's'} in datapipeline.connections cannot be used: ${errors[0]}`, 'Open Settings').then((c) => {
        if (c === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettingsJson', { revealSetting: { key: 'datapipeline.connections' } });
      });
    }
    this.reportedErrors = text;
  }

  /** The connection every view and command works on. */
  get active(): ActiveConnection {
    return this.current;
  }

  /** The user's named connections (valid ones), in settings order. */
  get named(): readonly ConnectionProfile[] {
    return this.profiles;
  }

  /** Makes `id` the active connection (remembered for this workspace); everything re-reads. */
  async select(id: string): Promise<ActiveConnection> {
    // a connection just written to the settings may be ahead of their change event
    if (id !== LOCAL_CONNECTION_ID && !this.profiles.some((p) => p.id === id)) this.loadProfiles();
    const profile = id === LOCAL_CONNECTION_ID ? undefined : this.profiles.find((p) => p.id === id);
    if (id !== LOCAL_CONNECTION_ID && !profile) throw new Error(`There is no connection "${id}" in datapipeline.connections.`);
    await this.deps.state.update(ACTIVE_CONNECTION_KEY, id);
    if (id !== this.current.id) {
      this.log.info(`active connection: ${profile ? `${profile.name} (${describeConnection(profile)})` : 'Local stack'}`);
      this.current = activeFrom(profile, this.localStack());
      this.changed(true);
    }
    return this.current;
  }

  private changed(switched = false): void {
    // the old clients go now: nothing of the old connection keeps a socket open
    this.kafkaClients.dispose();
    this.sparkClients.dispose();
    this.airflow.reset();
    this.changeEmitter.fire({ connection: this.current, switched });
  }

  /** "Team prod · read-only": what views and panels say they show. */
  label(c: ActiveConnection = this.current): string {
    return c.readOnly ? `${c.name} · read-only` : c.name;
  }

  private part<K extends ConnectionPart>(part: K): NonNullable<ConnectionProfile[K]> | undefined {
    const c = this.current;
    if (c.local) return undefined;
    const p = c.profile?.[part];
    if (!p) throw new PartNotConfiguredError(c.name, part);
    return p as NonNullable<ConnectionProfile[K]>;
  }

  /** Where the active connection's Kafka is and how to reach it (for a client of one's own, e.g. a panel's). */
  async kafkaOptions(): Promise<KafkaServiceOptions> {
    const k = this.part('kafka');
    if (!k) return { bootstrap: this.deps.stack.endpoints().kafkaBootstrap, readOnly: this.current.readOnly || undefined };
    const c = this.current;
    const endpoint = k.sasl?.mechanism === 'OAUTHBEARER' ? k.sasl.tokenEndpoint : undefined;
    const warning = endpoint ? oauthPlainHttpWarning(endpoint) : undefined;
    if (warning) this.warnOnce(warning, this.log);
    const [secret, keyPassphrase] = await Promise.all([this.secrets.get(c.id, 'kafka'), this.secrets.get(c.id, 'kafkaKeyPassphrase')]);
    const { kafkaSecurity } = await import('./services/kafka/security');
    return { bootstrap: k.bootstrapServers, security: kafkaSecurity(k, { secret, keyPassphrase }, { connectionName: c.name }), readOnly: c.readOnly || undefined };
  }

  /** The Kafka service of the active connection. */
  async kafka(): Promise<KafkaService> {
    const options = await this.kafkaOptions();
    // the key holds what the client is built from (file contents and secrets included: a new password
    // or CA makes a new client); it is never logged
    const key = JSON.stringify({ id: this.current.id, options }, (_k, v: unknown) => (typeof v === 'function' ? 'fn' : v));
    return this.kafkaClients.get(key, () => this.makeKafka(options));
  }

  private makeKafka(options: KafkaServiceOptions): Promise<KafkaService> {
    const log = this.kafkaLog;
    // kafkajs is loaded on first use
    const service = import('./services/kafka/kafkaClient').then(({ KafkaService }) => new KafkaService({ ...options, log }));
    // browsing uses no consumer group; empty ones an older version's crashed window left are cleared
    // once, only where changes go with no question (never on a read-only or a shared cluster)
    if (writeDecision(this.current, new Set()) !== 'go') return service;
    void service
      .then((s) => s.cleanupStaleBrowseGroups())
      .then((ids) => ids.length && log.info(`removed ${ids.length} empty browse group(s) left by an earlier session: ${ids.join(', ')}`))
      .catch(() => undefined);
    return service;
  }

  /** The Spark master client of the active connection. */
  spark(): SparkMasterClient {
    const s = this.part('spark');
    const uiUrl = (s?.uiUrl ?? this.deps.stack.endpoints().sparkUiUrl).replace(/\/+$/, '');
    const connection = s ? this.current.name : undefined;
    return this.sparkClients.get(`${connection ?? ''}\n${uiUrl}`, () => new SparkMasterClient(uiUrl, { connection }));
  }

  /** Where spark-submit goes on a named connection (undefined: the local stack's own master, by its backend). */
  sparkSubmitTarget(): { masterUrl: string; extraArgs: string[]; connection: string } | undefined {
    const s = this.part('spark');
    return s ? { masterUrl: s.masterUrl, extraArgs: s.submitArgs ?? [], connection: this.current.name } : undefined;
  }

  /**
   * Before a change (`action`, e.g. 'Create topic "orders"'): refused with the reason on a read-only
   * connection; confirmed once per session, naming the connection, on a writable one beyond this machine.
   */
  async guardWrite(action: string): Promise<void> {
    const c = this.current;
    const decision = writeDecision(c, this.confirmed);
    if (decision === 'go') return;
    if (decision === 'refuse') throw new ReadOnlyConnectionError(c.name, action, c.remoteHosts);
    const allow = `Allow Changes on ${c.name}`;
    const choice = await vscode.window.showWarningMessage(
      `${action} on "${c.name}"?`,
      { modal: true, detail: `"${c.name}" is not on this machine (${c.profile ? describeConnection(c.profile) : (c.remoteHosts ?? []).join(', ')}). Changes there affect everyone who uses it. DataPipeline asks once per session for this connection.` },
      allow,
    );
    if (choice !== allow) throw new vscode.CancellationError();
    this.confirmed.add(c.id);
  }

  override dispose(): void {
    this.kafkaClients.dispose();
    this.sparkClients.dispose();
    super.dispose();
  }
}

/** Where the active connection's Airflow is and how it signs in. */
interface AirflowTarget {
  url: string;
  username: string;
  bearer: boolean;
  /** the connection's name (undefined: the Local stack, whose passwords are kept per URL + user) */
  connection?: string;
  /** what the secret is, for the prompt */
  secretLabel: string;
  secret(): Promise<string | undefined>;
  save(secret: string): Promise<void>;
}

/**
 * One AirflowClient for the active connection's URL and credentials. The Local stack keeps passwords
 * per server (URL + user) in SecretStorage, the bundled admin password only for its own URL; a
 * named connection keeps its password or token under its id. A server without one is asked before
 * anything is sent; a 401 asks once, and later calls use the new client.
 */
export class AirflowConnection {
  /** the credentials of the last client handed out (a 401 on them asks once) */
  private lastKey?: string;
  private readonly clients = new ClientCache<AirflowClient>((key) => {
    const k = JSON.parse(key) as { url: string; username: string; secret: string; bearer: boolean; connection?: string };
    return new AirflowClient({ baseUrl: k.url, username: k.username, password: k.bearer ? '' : k.secret, bearerToken: k.bearer ? k.secret : undefined, connectionName: k.connection, onWarning: (m) => this.connections.warnOnce(m, this.log) });
  });
  private asking?: Promise<boolean>;
  private readonly credentials: AirflowCredentials;
  private readonly log: Logger;

  /** credentials already asked about after a 401 (so a poll never asks twice) */
  private readonly askedAfter401 = new Set<string>();

  constructor(
    private readonly ctx: ConnectionDeps,
    private readonly connections: Connections,
  ) {
    this.credentials = new AirflowCredentials(ctx.secrets, () => ctx.stack.stackAirflowUrl(), () => ctx.stackAirflowPassword());
    this.log = ctx.logger('airflow');
  }

  /** The local stack's admin password was set anew: a password typed earlier for the stack's URL goes, the new one is used. */
  async stackPasswordChanged(): Promise<void> {
    await this.credentials.forget(this.ctx.stack.stackAirflowUrl(), STACK_ADMIN_USER);
    this.reset();
  }

  /** Forgets the client (the active connection changed). */
  reset(): void {
    this.clients.dispose();
    this.lastKey = undefined;
  }

  private target(): AirflowTarget {
    const c = this.connections.active;
    if (c.local) {
      const url = this.ctx.stack.endpoints().airflowUrl;
      const username = this.ctx.settings.airflowUsername;
      return {
        url,
        username,
        bearer: false,
        secretLabel: `Airflow password for ${username} at ${url}`,
        secret: () => this.credentials.password(url, username),
        save: (pw) => this.credentials.save(url, username, pw),
      };
    }
    const a = c.profile?.airflow;
    if (!a) throw new PartNotConfiguredError(c.name, 'airflow');
    return {
      url: a.url,
      username: a.username ?? '',
      bearer: a.auth === 'bearer',
      connection: c.name,
      secretLabel: `${airflowSecretLabel(a)} (connection "${c.name}", ${a.url})`,
      secret: () => this.connections.secrets.get(c.id, 'airflow'),
      save: (v) => this.connections.secrets.set(c.id, 'airflow', v),
    };
  }

  /**
   * A 401 (or no password yet) seen by the DAGs view: asks for the password once for these
   * credentials; true when a new one was entered (the caller reloads). Cancelling leaves the
   * "Enter Password" item in the view.
   */
  async askOnceAfter401(reason: string): Promise<boolean> {
    const t = this.target();
    const key = this.lastKey ?? `${t.connection ?? ''}\n${t.url}\n${t.username}`;
    if (this.askedAfter401.has(key)) return false;
    this.askedAfter401.add(key);
    return this.askPassword(reason);
  }

  /** The active connection's Airflow URL (the Local stack's when it has none). */
  get url(): string {
    try {
      return this.target().url;
    } catch {
      return this.ctx.stack.endpoints().airflowUrl;
    }
  }

  async client(): Promise<AirflowClient> {
    const t = this.target();
    const secret = await t.secret();
    if (secret === undefined) {
      this.lastKey = undefined;
      // a server that is down or is not Airflow says so first (the health endpoint needs no credentials)
      await new AirflowClient({ baseUrl: t.url, username: t.username, password: '', connectionName: t.connection }).health();
      throw passwordNeeded(t.url, t.bearer ? 'API token' : t.username, t.connection);
    }
    const key = JSON.stringify({ url: t.url, username: t.username, secret, bearer: t.bearer, connection: t.connection });
    const client = this.clients.get(key);
    this.lastKey = key;
    const warning = plainHttpWarning(t.url);
    if (warning) this.connections.warnOnce(warning, this.log);
    return client;
  }

  /** Asks for the password or token (once at a time); true when one was entered. */
  askPassword(reason?: string): Promise<boolean> {
    if (!this.asking) {
      this.asking = (async () => {
        const t = this.target();
        const pw = await vscode.window.showInputBox({
          title: t.secretLabel,
          prompt: [reason ?? `Stored in VS Code SecretStorage for ${t.connection ? 'this connection' : 'this server'} only.`, plainHttpWarning(t.url)].filter(Boolean).join(' '),
          password: true,
          ignoreFocusOut: true,
        });
        if (pw === undefined) return false;
        await t.save(pw);
        return true;
      })().finally(() => (this.asking = undefined));
    }
    return this.asking;
  }

  /**
   * Runs `fn` with a client; with no password yet or on a 401, asks for the password once and retries.
   * `ask: false` (background reads: a log's poll) never asks: the 401 is thrown as it is.
   */
  async withClient<T>(fn: (c: AirflowClient) => Promise<T>, opts: { ask?: boolean } = {}): Promise<T> {
    try {
      return await fn(await this.client());
    } catch (err) {
      if (err instanceof AirflowError && err.kind === 'unauthorized' && opts.ask !== false) {
        if (await this.askPassword(err.message)) return fn(await this.client());
      }
      throw err;
    }
  }
}
