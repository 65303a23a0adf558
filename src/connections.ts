import * as vscode from 'vscode';
import { AirflowClient } from './services/airflow/client';
import { AirflowCredentials, plainHttpWarning } from './services/airflow/credentials';
import { AirflowError, passwordNeeded } from './services/airflow/errors';
import type { KafkaService } from './services/kafka/kafkaClient';
import { SparkMasterClient } from './services/spark/sparkMasterClient';
import { ClientCache } from './services/util/clientCache';
import type { Logger } from './services/util/logger';
import type { Settings } from './settings';
import type { StackController } from './stackController';

/** What the connections need: where to connect (the stack's endpoints, settings as overrides) and where secrets live. */
export interface ConnectionDeps {
  readonly stack: Pick<StackController, 'endpoints' | 'stackAirflowUrl'>;
  readonly settings: Pick<Settings, 'airflowUsername'>;
  readonly secrets: vscode.SecretStorage;
  logger(name: string): Logger;
}

/**
 * The one place the Kafka, Spark and Airflow clients are built and cached, from the stack's
 * endpoints (a setting overrides one): a client stays while its address stays and is replaced
 * (the old one disposed) when it changes. Every view, command and panel asks here.
 */
export class Connections implements vscode.Disposable {
  readonly airflow: AirflowConnection;
  private readonly kafkaClients: ClientCache<Promise<KafkaService>>;
  private readonly sparkClients = new ClientCache((uiUrl) => new SparkMasterClient(uiUrl));

  constructor(private readonly deps: ConnectionDeps) {
    this.airflow = new AirflowConnection(deps);
    const log = deps.logger('kafka');
    this.kafkaClients = new ClientCache(
      (bootstrap) => {
        // kafkajs is loaded on first use
        const service = import('./services/kafka/kafkaClient').then(({ KafkaService }) => new KafkaService({ bootstrap, log }));
        // browsing uses no consumer group; empty ones an older version's crashed window left are cleared once
        void service
          .then((s) => s.cleanupStaleBrowseGroups())
          .then((ids) => ids.length && log.info(`removed ${ids.length} empty browse group(s) left by an earlier session: ${ids.join(', ')}`))
          .catch(() => undefined);
        return service;
      },
      (service) => void service.then((s) => s.dispose()).catch(() => undefined),
    );
  }

  /** The Kafka service for the current bootstrap servers. */
  kafka(): Promise<KafkaService> {
    return this.kafkaClients.get(this.deps.stack.endpoints().kafkaBootstrap);
  }

  /** The Spark master client for the current master UI. */
  spark(): SparkMasterClient {
    return this.sparkClients.get(this.deps.stack.endpoints().sparkUiUrl.replace(/\/+$/, ''));
  }

  dispose(): void {
    this.kafkaClients.dispose();
    this.sparkClients.dispose();
  }
}

/**
 * One AirflowClient for the current URL/user/password; the password is kept per server (URL + user)
 * in SecretStorage. A server without one is asked for it before anything is sent; a 401 asks once
 * (SecretStorage), and later calls use the new client.
 */
export class AirflowConnection {
  /** the credentials of the last client handed out (a 401 on them asks once) */
  private lastKey?: string;
  private readonly clients = new ClientCache<AirflowClient>((key) => {
    const [baseUrl, username, password] = JSON.parse(key) as [string, string, string];
    return new AirflowClient({ baseUrl, username, password });
  });
  private asking?: Promise<boolean>;
  private readonly credentials: AirflowCredentials;
  private readonly warned = new Set<string>();

  /** URL/user/password combinations already asked about after a 401 (so a poll never asks twice). */
  private readonly askedAfter401 = new Set<string>();

  constructor(private readonly ctx: ConnectionDeps) {
    this.credentials = new AirflowCredentials(ctx.secrets, () => ctx.stack.stackAirflowUrl());
  }

  /**
   * A 401 (or no password yet) seen by the DAGs view: asks for the password once for these
   * credentials; true when a new one was entered (the caller reloads). Cancelling leaves the
   * "Enter Password" item in the view.
   */
  async askOnceAfter401(reason: string): Promise<boolean> {
    const key = this.lastKey ?? `${this.url}\n${this.ctx.settings.airflowUsername}`;
    if (this.askedAfter401.has(key)) return false;
    this.askedAfter401.add(key);
    return this.askPassword(reason);
  }

  get url(): string {
    return this.ctx.stack.endpoints().airflowUrl;
  }

  async client(): Promise<AirflowClient> {
    const url = this.url;
    const username = this.ctx.settings.airflowUsername;
    const password = await this.credentials.password(url, username);
    if (password === undefined) {
      this.lastKey = undefined;
      // a server that is down or is not Airflow says so first (the health endpoint needs no credentials)
      await new AirflowClient({ baseUrl: url, username, password: '' }).health();
      throw passwordNeeded(url, username);
    }
    const key = JSON.stringify([url, username, password]);
    const client = this.clients.get(key);
    this.lastKey = key;
    const warning = plainHttpWarning(url);
    if (warning && !this.warned.has(url)) {
      this.warned.add(url);
      void vscode.window.showWarningMessage(warning);
    }
    return client;
  }

  /** Asks for the password (once at a time); true when one was entered. */
  askPassword(reason?: string): Promise<boolean> {
    if (!this.asking) {
      this.asking = (async () => {
        const url = this.url;
        const username = this.ctx.settings.airflowUsername;
        const pw = await vscode.window.showInputBox({
          title: `Airflow password for ${username} at ${url}`,
          prompt: [reason ?? 'Stored in VS Code SecretStorage for this server only.', plainHttpWarning(url)].filter(Boolean).join(' '),
          password: true,
          ignoreFocusOut: true,
        });
        if (pw === undefined) return false;
        await this.credentials.save(url, username, pw);
        return true;
      })().finally(() => (this.asking = undefined));
    }
    return this.asking;
  }

  /** Runs `fn` with a client; with no password yet or on a 401, asks for the password once and retries. */
  async withClient<T>(fn: (c: AirflowClient) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.client());
    } catch (err) {
      if (err instanceof AirflowError && err.kind === 'unauthorized') {
        if (await this.askPassword(err.message)) return fn(await this.client());
      }
      throw err;
    }
  }
}

