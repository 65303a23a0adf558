import * as vscode from 'vscode';
import type { NativePorts, StackScale } from './services/stack/native/config';
import type { StackEndpoints } from './services/stack/types';
import type { ProjectOverrides } from './services/project/detect';
import { parseProjectStackChoice, type ProjectStackChoice } from './services/project/whichStack';

export type BackendSetting = 'auto' | 'docker' | 'native';

/** Typed access to the `datapipeline.*` settings (defaults mirror package.json). */
export class Settings {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('datapipeline');
  }
  get backend(): BackendSetting {
    return this.cfg.get<BackendSetting>('stack.backend', 'auto');
  }
  get kafkaBootstrapServers(): string[] {
    return this.cfg
      .get<string>('kafka.bootstrapServers', '127.0.0.1:9092')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  get sparkMasterUrl(): string {
    return this.cfg.get<string>('spark.masterUrl', 'spark://127.0.0.1:7077');
  }
  get sparkUiUrl(): string {
    return this.cfg.get<string>('spark.uiUrl', 'http://127.0.0.1:8080');
  }
  get airflowUrl(): string {
    return this.cfg.get<string>('airflow.url', 'http://127.0.0.1:8085');
  }
  /** The airflow.url default (the bundled stack's own port), whatever the settings say. */
  get defaultAirflowUrl(): string {
    return this.cfg.inspect<string>('airflow.url')?.defaultValue ?? 'http://127.0.0.1:8085';
  }
  /** datapipeline.connections as the settings hold it (validated by services/connections/profile). */
  get connections(): unknown {
    return this.cfg.get<unknown>('connections', []);
  }
  /** Writes datapipeline.connections (user settings: connections follow the user, their secrets too). */
  async setConnections(value: unknown[]): Promise<void> {
    await this.cfg.update('connections', value, vscode.ConfigurationTarget.Global);
  }
  /** datapipeline.localStack.readOnly from the user's own settings only (undefined: by the Local stack's addresses) */
  get localStackReadOnly(): boolean | undefined {
    const v = this.cfg.inspect<boolean | null>('localStack.readOnly')?.globalValue;
    return typeof v === 'boolean' ? v : undefined;
  }
  get airflowUsername(): string {
    return this.cfg.get<string>('airflow.username', 'admin');
  }
  /** datapipeline.docker.extraCaFile: a PEM bundle the stack's images trust while they are built */
  get dockerExtraCaFile(): string | undefined {
    return this.cfg.get<string>('docker.extraCaFile', '').trim() || undefined;
  }
  /** datapipeline.lineage.forwardUrl: where the stack's receiver also sends every event (http/https only; machine scope). */
  get lineageForwardUrl(): string | undefined {
    const v = this.cfg.get<string>('lineage.forwardUrl', '').trim();
    return /^https?:\/\/[^\s]+$/i.test(v) ? v : undefined;
  }
  get composeCommand(): string[] {
    return this.cfg.get<string>('docker.composeCommand', 'docker compose').trim().split(/\s+/);
  }
  /** datapipeline.stack.nativePorts: only the ports the user changed (undefined when none). */
  get nativePorts(): Partial<NativePorts> | undefined {
    const v = this.cfg.get<Partial<NativePorts>>('stack.nativePorts', {});
    return v && typeof v === 'object' && Object.keys(v).length ? v : undefined;
  }
  /** datapipeline.stack.kafkaBrokers / sparkWorkers: only what the user set (undefined: the stack's last, else 1 and 1). */
  get stackScale(): Partial<StackScale> | undefined {
    const set = (key: string) => {
      const i = this.cfg.inspect<number>(key);
      return i?.globalValue ?? i?.workspaceValue ?? i?.workspaceFolderValue;
    };
    const out: Partial<StackScale> = {};
    const brokers = set('stack.kafkaBrokers');
    const workers = set('stack.sparkWorkers');
    if (brokers === 1 || brokers === 3) out.kafkaBrokers = brokers;
    if (workers === 1 || workers === 2 || workers === 3) out.sparkWorkers = workers;
    return Object.keys(out).length ? out : undefined;
  }
  /** datapipeline.stack.airflowVersion: 2 (2.8.1) or 3 (the newest 3.x), when the user set it (undefined: what the stack last ran) */
  get airflowVersion(): 2 | 3 | undefined {
    const i = this.cfg.inspect<string>('stack.airflowVersion');
    const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    return v === '3' ? 3 : v === '2' ? 2 : undefined;
  }
  /** datapipeline.stack.airflowDatabase: the native Airflow's metadata DB */
  get airflowDatabase(): 'postgres' | 'sqlite' {
    return this.cfg.get<string>('stack.airflowDatabase', 'postgres') === 'sqlite' ? 'sqlite' : 'postgres';
  }
  /** Endpoint settings the user set (any scope): they win over the stack's own addresses. */
  explicitEndpoints(): Partial<StackEndpoints> {
    const set = (key: string) => {
      const i = this.cfg.inspect(key);
      return i && (i.globalValue !== undefined || i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
    };
    const e = this.endpoints();
    const out: Partial<StackEndpoints> = {};
    if (set('kafka.bootstrapServers')) out.kafkaBootstrap = e.kafkaBootstrap;
    if (set('spark.masterUrl')) out.sparkMasterUrl = e.sparkMasterUrl;
    if (set('spark.uiUrl')) out.sparkUiUrl = e.sparkUiUrl;
    if (set('airflow.url')) out.airflowUrl = e.airflowUrl;
    return out;
  }
  get messageBrowserCapacity(): number {
    const n = this.cfg.get<number>('messageBrowser.capacity', 100_000);
    return Math.min(1_000_000, Math.max(1_000, Math.floor(Number.isFinite(n) ? n : 100_000)));
  }
  get messageBrowserMaxBytes(): number {
    const mb = this.cfg.get<number>('messageBrowser.maxMegabytes', 512);
    return Math.min(65_536, Math.max(16, Math.floor(Number.isFinite(mb) ? mb : 512))) * 1024 * 1024;
  }
  /** datapipeline.project.stack: what Docker runs for a project with a compose file of its own. */
  get projectStack(): ProjectStackChoice {
    return parseProjectStackChoice(this.cfg.get<unknown>('project.stack', 'ask'));
  }
  /** datapipeline.project.*: paths that override the detected project's (empty: detected). */
  get projectOverrides(): ProjectOverrides {
    const get = (k: keyof ProjectOverrides) => {
      const v = this.cfg.get<unknown>(`project.${k}`, '');
      return typeof v === 'string' && v.trim() ? v.trim() : undefined;
    };
    return {
      dagsFolder: get('dagsFolder'),
      scriptsFolder: get('scriptsFolder'),
      pluginsFolder: get('pluginsFolder'),
      includeFolder: get('includeFolder'),
      requirementsFile: get('requirementsFile'),
      airflowSettingsFile: get('airflowSettingsFile'),
    };
  }
  /** The endpoints the views and clients talk to. */
  endpoints(): StackEndpoints {
    return {
      kafkaBootstrap: this.kafkaBootstrapServers.join(','),
      sparkMasterUrl: this.sparkMasterUrl,
      sparkUiUrl: this.sparkUiUrl,
      airflowUrl: this.airflowUrl,
    };
  }
  onDidChange(listener: (e: vscode.ConfigurationChangeEvent) => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('datapipeline')) listener(e);
    });
  }
}

/** Settings the stack backend is made from: a change makes a new backend (whose status is read anew). */
export const STACK_BACKEND_SETTINGS = [
  'datapipeline.stack.backend',
  'datapipeline.docker.composeCommand',
  'datapipeline.stack.nativePorts',
  'datapipeline.stack.airflowDatabase',
  'datapipeline.stack.kafkaBrokers',
  'datapipeline.stack.sparkWorkers',
  'datapipeline.stack.airflowVersion',
  'datapipeline.docker.extraCaFile',
  'datapipeline.project',
];

export function affectsStackBackend(e: vscode.ConfigurationChangeEvent): boolean {
  return STACK_BACKEND_SETTINGS.some((k) => e.affectsConfiguration(k));
}
