/** Domain models of the Airflow client, the same for the 2.x (/api/v1) and 3.x (/api/v2) REST APIs. */

/** `v1` = Airflow 2.x (basic auth), `v2` = Airflow 3.x (bearer token from /auth/token). */
export type AirflowApiVersion = 'v1' | 'v2';

export interface AirflowDag {
  dagId: string;
  isPaused: boolean;
  /** absolute path of the DAG file on the Airflow server */
  fileloc: string;
  tags: string[];
  /** human schedule, e.g. "@daily", "every 1:00:00", "None" */
  schedule: string;
  description?: string;
  owners: string[];
  /** when the DAG processor last parsed its file (server clock) */
  lastParsedTime?: string;
  /** the signed token of its file (Airflow 3's reparse API takes it) */
  fileToken?: string;
}

/** queued | running | success | failed (kept open: servers add states) */
export type DagRunState = 'queued' | 'running' | 'success' | 'failed' | (string & {});

export interface AirflowDagRun {
  dagId: string;
  runId: string;
  state: DagRunState;
  /** undefined on Airflow 3 for a run triggered without one */
  logicalDate?: string;
  /** Airflow 3: when the run was due to run (the time shown when it has no logical date) */
  runAfter?: string;
  queuedAt?: string;
  startDate?: string;
  endDate?: string;
  runType?: string;
  conf: Record<string, unknown>;
  /** Airflow 3: the DAG versions the run ran (version numbers, oldest first) */
  dagVersions?: number[];
}

/** An Airflow 3 asset: what produces it (tasks with it as an outlet) and what it schedules (DAGs). */
export interface AirflowAsset {
  id: number;
  name: string;
  uri: string;
  group?: string;
  producers: Array<{ dagId: string; taskId: string }>;
  /** DAGs scheduled on it */
  consumers: string[];
  /** epoch ms of its last event, when it has one */
  lastEventAt?: number;
}

/** undefined = no status yet */
export type TaskState =
  | 'success' | 'running' | 'failed' | 'upstream_failed' | 'skipped' | 'up_for_retry' | 'up_for_reschedule'
  | 'queued' | 'scheduled' | 'deferred' | 'removed' | 'restarting' | (string & {});

export interface AirflowTaskInstance {
  dagId: string;
  runId: string;
  taskId: string;
  state?: TaskState;
  /** the try whose log is the latest one (≥ 1 once the task started) */
  tryNumber: number;
  mapIndex: number;
  startDate?: string;
  endDate?: string;
  /** seconds */
  duration?: number;
  operator?: string;
  hostname?: string;
}

export interface AirflowImportError {
  id: number;
  /** path of the broken file as the server reports it */
  filename: string;
  stackTrace: string;
  timestamp?: string;
}

export type HealthStatus = 'healthy' | 'unhealthy' | (string & {});

export interface AirflowHealth {
  metadatabase?: HealthStatus;
  scheduler?: HealthStatus;
  schedulerHeartbeat?: string;
  dagProcessor?: HealthStatus;
  triggerer?: HealthStatus;
}

export interface TaskLogChunk {
  /** log text of this chunk (the whole log so far when no token was passed) */
  text: string;
  /** pass back to read what was written after this chunk */
  continuationToken?: string;
  /** true once the task finished and nothing more will be written to this try */
  endOfLog: boolean;
}

export interface TriggerOptions {
  conf?: Record<string, unknown>;
  runId?: string;
  note?: string;
}
