/**
 * What a connection allows: changes (create/delete topic, produce, trigger, clear, pause, submit,
 * kill) are refused on a read-only connection with the reason, and on a writable one that reaches
 * beyond this machine they are confirmed once per session with the connection's name. A part the
 * connection does not have is named too. No `vscode` import.
 */
import { isLoopbackHost } from '../airflow/credentials';
import { addressHosts, isLocalOnly, isReadOnly, LOCAL_CONNECTION_ID, LOCAL_CONNECTION_NAME, type ConnectionProfile } from './profile';

/** The connection every view and command works on. */
export interface ActiveConnection {
  readonly id: string;
  readonly name: string;
  /** the built-in Local stack (its addresses follow the stack and the address settings) */
  readonly local: boolean;
  readonly readOnly: boolean;
  /** every address is on this machine */
  readonly localOnly: boolean;
  /** undefined for the Local stack */
  readonly profile?: ConnectionProfile;
  /** the Local stack's addresses that are not on this machine (set by address settings) */
  readonly remoteHosts?: readonly string[];
}

export const LOCAL_CONNECTION: ActiveConnection = { id: LOCAL_CONNECTION_ID, name: LOCAL_CONNECTION_NAME, local: true, readOnly: false, localOnly: true };

/**
 * The Local stack as its addresses are now. Its addresses come from settings a workspace may set
 * (datapipeline.kafka.bootstrapServers, airflow.url, spark.*): one that is not this machine makes it
 * read-only, as a named connection would be, unless the user's own setting
 * datapipeline.localStack.readOnly says false (then changes there are confirmed once per session).
 */
export function localStackConnection(
  addresses: { kafkaBootstrap?: string; airflowUrl?: string; sparkUiUrl?: string; sparkMasterUrl?: string },
  readOnlySetting?: boolean | null,
): ActiveConnection {
  const remoteHosts = [...new Set(addressHosts(addresses).filter((h) => !isLoopbackHost(h)))];
  if (!remoteHosts.length) return readOnlySetting === true ? { ...LOCAL_CONNECTION, readOnly: true } : LOCAL_CONNECTION;
  return { ...LOCAL_CONNECTION, localOnly: false, readOnly: readOnlySetting ?? true, remoteHosts };
}

export function activeFrom(profile: ConnectionProfile | undefined, local: ActiveConnection = LOCAL_CONNECTION): ActiveConnection {
  if (!profile) return local;
  return { id: profile.id, name: profile.name, local: false, readOnly: isReadOnly(profile), localOnly: isLocalOnly(profile), profile };
}

/** A change refused because the connection is read-only. */
export class ReadOnlyConnectionError extends Error {
  constructor(
    readonly connection: string,
    readonly action: string,
    /** the Local stack's addresses off this machine (its read-only comes from them, not from a field) */
    remoteHosts?: readonly string[],
  ) {
    super(
      remoteHosts?.length
        ? `The Local stack points at ${remoteHosts.join(', ')}, which ${remoteHosts.length === 1 ? 'is' : 'are'} not this machine (datapipeline.kafka.bootstrapServers, airflow.url or spark.* in the settings), so it is read-only: ${action} was refused and nothing was sent. To allow changes there, set "datapipeline.localStack.readOnly": false in your user settings.`
        : `"${connection}" is a read-only connection: ${action} was refused and nothing was sent. To allow changes, set "readOnly": false on it (DataPipeline: Edit Connection…).`,
    );
    this.name = 'ReadOnlyConnectionError';
  }
}

export type ConnectionPart = 'kafka' | 'airflow' | 'spark';
const PART_LABEL: Record<ConnectionPart, string> = { kafka: 'Kafka', airflow: 'Airflow', spark: 'Spark' };

/** The connection has no Kafka/Airflow/Spark part. */
export class PartNotConfiguredError extends Error {
  constructor(
    readonly connection: string,
    readonly part: ConnectionPart,
  ) {
    super(`Connection "${connection}" has no ${PART_LABEL[part]}. Add it (DataPipeline: Edit Connection…) or switch connection.`);
    this.name = 'PartNotConfiguredError';
  }
}

/**
 * What a change needs before it runs: 'refuse' (read-only), 'confirm' (a writable connection beyond
 * this machine not yet confirmed this session), or 'go'.
 */
export function writeDecision(c: ActiveConnection, confirmed: ReadonlySet<string>): 'refuse' | 'confirm' | 'go' {
  if (c.readOnly) return 'refuse';
  if (c.localOnly || confirmed.has(c.id)) return 'go';
  return 'confirm';
}
