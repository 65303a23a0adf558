/**
 * The Add/Edit Connection form's model: every field a string or a flag (what the webview holds),
 * turned into a connection profile plus the secrets typed into it, and back. Secrets typed in the
 * form go to SecretStorage; an empty secret field keeps the stored one. No `vscode` import.
 */
import { splitArgs } from '../spark/submitPlanner';
import { ConnectionConfigError, idFromName, parseConnection, type ConnectionProfile, type SecretKind } from './profile';

export interface ConnectionForm {
  /** empty for a new connection */
  id: string;
  name: string;
  /** 'auto': read-only unless every address is on this machine */
  readOnly: 'auto' | 'yes' | 'no';
  kafkaEnabled: boolean;
  bootstrapServers: string;
  security: string;
  saslMechanism: string;
  saslUsername: string;
  oauthTokenEndpoint: string;
  oauthClientId: string;
  oauthScope: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  checkHostname: boolean;
  airflowEnabled: boolean;
  airflowUrl: string;
  airflowAuth: string;
  airflowUsername: string;
  sparkEnabled: boolean;
  sparkMasterUrl: string;
  sparkUiUrl: string;
  sparkSubmitArgs: string;
  /** typed secrets; '' keeps what is stored */
  kafkaSecret: string;
  kafkaKeyPassphrase: string;
  airflowSecret: string;
}

export const FORM_STRING_FIELDS = [
  'id', 'name', 'bootstrapServers', 'security', 'saslMechanism', 'saslUsername', 'oauthTokenEndpoint', 'oauthClientId', 'oauthScope',
  'caFile', 'certFile', 'keyFile', 'airflowUrl', 'airflowAuth', 'airflowUsername', 'sparkMasterUrl', 'sparkUiUrl', 'sparkSubmitArgs',
  'kafkaSecret', 'kafkaKeyPassphrase', 'airflowSecret',
] as const;
export const FORM_FLAG_FIELDS = ['kafkaEnabled', 'checkHostname', 'airflowEnabled', 'sparkEnabled'] as const;

export const EMPTY_FORM: ConnectionForm = {
  id: '',
  name: '',
  readOnly: 'auto',
  kafkaEnabled: true,
  bootstrapServers: '',
  security: 'PLAINTEXT',
  saslMechanism: 'SCRAM-SHA-512',
  saslUsername: '',
  oauthTokenEndpoint: '',
  oauthClientId: '',
  oauthScope: '',
  caFile: '',
  certFile: '',
  keyFile: '',
  checkHostname: true,
  airflowEnabled: false,
  airflowUrl: '',
  airflowAuth: 'password',
  airflowUsername: 'admin',
  sparkEnabled: false,
  sparkMasterUrl: '',
  sparkUiUrl: '',
  sparkSubmitArgs: '',
  kafkaSecret: '',
  kafkaKeyPassphrase: '',
  airflowSecret: '',
};

export function profileToForm(p: ConnectionProfile): ConnectionForm {
  const k = p.kafka;
  return {
    ...EMPTY_FORM,
    id: p.id,
    name: p.name,
    readOnly: p.readOnly === undefined ? 'auto' : p.readOnly ? 'yes' : 'no',
    kafkaEnabled: !!k,
    bootstrapServers: k?.bootstrapServers ?? '',
    security: k?.security ?? 'PLAINTEXT',
    saslMechanism: k?.sasl?.mechanism ?? EMPTY_FORM.saslMechanism,
    saslUsername: k?.sasl?.username ?? '',
    oauthTokenEndpoint: k?.sasl?.tokenEndpoint ?? '',
    oauthClientId: k?.sasl?.clientId ?? '',
    oauthScope: k?.sasl?.scope ?? '',
    caFile: k?.tls?.caFile ?? '',
    certFile: k?.tls?.certFile ?? '',
    keyFile: k?.tls?.keyFile ?? '',
    checkHostname: k?.tls?.checkHostname ?? true,
    airflowEnabled: !!p.airflow,
    airflowUrl: p.airflow?.url ?? '',
    airflowAuth: p.airflow?.auth ?? 'password',
    airflowUsername: p.airflow?.username ?? 'admin',
    sparkEnabled: !!p.spark,
    sparkMasterUrl: p.spark?.masterUrl ?? '',
    sparkUiUrl: p.spark?.uiUrl ?? '',
    sparkSubmitArgs: (p.spark?.submitArgs ?? []).map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' '),
  };
}

/** Secrets typed in the form (only those: an empty field keeps the stored one). */
export type TypedSecrets = Partial<Record<SecretKind, string>>;

/**
 * The profile the form describes (validated as the settings are) and the secrets typed into it.
 * A new connection gets an id from its name, unique among `takenIds`.
 */
export function formToProfile(f: ConnectionForm, takenIds: readonly string[], id?: string): { profile: ConnectionProfile; secrets: TypedSecrets } {
  const name = f.name.trim();
  if (!name) throw new ConnectionConfigError('Give the connection a name.');
  // the host assigns ids: the connection being edited keeps its own, a new one gets one from its name.
  // The form's id field comes from the page and is never trusted (it could name another connection,
  // whose stored secrets a save would then send to this connection's addresses).
  id = id ?? idFromName(name, takenIds);
  const raw: Record<string, unknown> = { id, name };
  if (f.readOnly !== 'auto') raw.readOnly = f.readOnly === 'yes';
  const secrets: TypedSecrets = {};
  if (f.kafkaEnabled) {
    const security = f.security.trim() || 'PLAINTEXT';
    const kafka: Record<string, unknown> = { bootstrapServers: f.bootstrapServers.trim(), security };
    if (security.startsWith('SASL_')) {
      kafka.sasl =
        f.saslMechanism === 'OAUTHBEARER'
          ? { mechanism: f.saslMechanism, tokenEndpoint: f.oauthTokenEndpoint.trim(), clientId: f.oauthClientId.trim(), scope: f.oauthScope.trim() || undefined }
          : { mechanism: f.saslMechanism, username: f.saslUsername.trim() };
      if (f.kafkaSecret) secrets.kafka = f.kafkaSecret;
    }
    if (security === 'SSL' || security === 'SASL_SSL') {
      kafka.tls = { caFile: f.caFile.trim() || undefined, certFile: f.certFile.trim() || undefined, keyFile: f.keyFile.trim() || undefined, ...(f.checkHostname ? {} : { checkHostname: false }) };
      if (f.kafkaKeyPassphrase) secrets.kafkaKeyPassphrase = f.kafkaKeyPassphrase;
    }
    raw.kafka = kafka;
  }
  if (f.airflowEnabled) {
    raw.airflow = { url: f.airflowUrl.trim(), auth: f.airflowAuth || 'password', ...(f.airflowAuth === 'bearer' ? {} : { username: f.airflowUsername.trim() || 'admin' }) };
    if (f.airflowSecret) secrets.airflow = f.airflowSecret;
  }
  if (f.sparkEnabled) {
    const spark: Record<string, unknown> = { masterUrl: f.sparkMasterUrl.trim(), uiUrl: f.sparkUiUrl.trim() };
    try {
      const args = splitArgs(f.sparkSubmitArgs);
      if (args.length) spark.submitArgs = args;
    } catch (e) {
      throw new ConnectionConfigError(`Spark submit arguments: ${(e as Error).message}`);
    }
    raw.spark = spark;
  }
  // the messages name fields as the settings do ("connection "X".kafka.bootstrapServers is missing.")
  return { profile: parseConnection(raw, 'connection'), secrets };
}

/** True for a form a webview sent (untrusted input: every field of the right type, strings bounded). */
export function isConnectionForm(v: unknown): v is ConnectionForm {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (!['auto', 'yes', 'no'].includes(o.readOnly as string)) return false;
  return FORM_STRING_FIELDS.every((k) => typeof o[k] === 'string' && (o[k] as string).length <= 8192) && FORM_FLAG_FIELDS.every((k) => typeof o[k] === 'boolean');
}
