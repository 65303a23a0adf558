/** Airflow's REST answers (API v1 of 2.x, v2 of 3.x) checked and turned into the client's DAGs, runs and task instances. */
import type { AirflowDag, AirflowDagRun, AirflowTaskInstance } from './types';
import { arr, obj, optBool, optNum, optStr, str, type Obj } from './validate';

function formatSchedule(o: Obj, path: string): string {
  const si = o.schedule_interval;
  if (si && typeof si === 'object') {
    const s = si as Obj;
    if (s.__type === 'CronExpression' && typeof s.value === 'string') return s.value;
    if (s.__type === 'TimeDelta') {
      const secs = (Number(s.days) || 0) * 86400 + (Number(s.seconds) || 0);
      return `every ${secs}s`;
    }
  }
  const summary = optStr(o, 'timetable_summary', path);
  if (summary) return summary;
  const desc = optStr(o, 'timetable_description', path);
  if (si === null && !summary) return 'None';
  return desc ?? 'None';
}

export function decodeDag(v: unknown, path: string): AirflowDag {
  const o = obj(v, path);
  const tags = o.tags === null || o.tags === undefined ? [] : arr(o.tags, `${path}.tags`).map((t, i) => str(obj(t, `${path}.tags[${i}]`), 'name', `${path}.tags[${i}]`));
  const owners = Array.isArray(o.owners) ? o.owners.filter((x): x is string => typeof x === 'string') : [];
  return {
    dagId: str(o, 'dag_id', path),
    isPaused: optBool(o, 'is_paused', path) ?? false,
    fileloc: str(o, 'fileloc', path),
    tags,
    schedule: formatSchedule(o, path),
    description: optStr(o, 'description', path),
    owners,
    lastParsedTime: optStr(o, 'last_parsed_time', path),
    fileToken: optStr(o, 'file_token', path),
  };
}

export function decodeRun(v: unknown, path: string): AirflowDagRun {
  const o = obj(v, path);
  const conf = o.conf && typeof o.conf === 'object' && !Array.isArray(o.conf) ? (o.conf as Record<string, unknown>) : {};
  const versions = Array.isArray(o.dag_versions)
    ? (o.dag_versions as unknown[]).map((x) => (x && typeof x === 'object' ? (x as Obj).version_number : undefined)).filter((n): n is number => typeof n === 'number')
    : undefined;
  return {
    ...(versions?.length ? { dagVersions: versions } : {}),
    dagId: str(o, 'dag_id', path),
    runId: str(o, 'dag_run_id', path),
    state: str(o, 'state', path),
    // Airflow 3 runs may have none (logical_date null): run_after then says when it was due
    logicalDate: optStr(o, 'logical_date', path) ?? optStr(o, 'execution_date', path),
    runAfter: optStr(o, 'run_after', path),
    queuedAt: optStr(o, 'queued_at', path),
    startDate: optStr(o, 'start_date', path),
    endDate: optStr(o, 'end_date', path),
    runType: optStr(o, 'run_type', path),
    conf,
  };
}

export function decodeTaskInstance(v: unknown, path: string): AirflowTaskInstance {
  const o = obj(v, path);
  return {
    dagId: str(o, 'dag_id', path),
    runId: str(o, 'dag_run_id', path),
    taskId: str(o, 'task_id', path),
    state: optStr(o, 'state', path),
    tryNumber: optNum(o, 'try_number', path) ?? 0,
    mapIndex: optNum(o, 'map_index', path) ?? -1,
    startDate: optStr(o, 'start_date', path),
    endDate: optStr(o, 'end_date', path),
    duration: optNum(o, 'duration', path),
    operator: optStr(o, 'operator', path),
    hostname: optStr(o, 'hostname', path),
  };
}
