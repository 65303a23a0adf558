import { findPortsInUse } from '../util/ports';
import { AirflowError, dagNotFound, unauthorized, unreachable } from './errors';
import { decodeContinuationToken, textFromV1Content, textFromV2Content } from './logs';
import type {
  AirflowApiVersion, AirflowAsset, AirflowDag, AirflowDagRun, AirflowHealth, AirflowImportError, AirflowTaskInstance,
  TaskLogChunk, TriggerOptions,
} from './types';
import { DecodeError, arr, num, obj, optNum, optStr, str, type Obj } from './validate';
import { decodeDag, decodeRun, decodeTaskInstance } from './decode';

export { decodeDag, decodeRun, decodeTaskInstance };

export interface AirflowClientOptions {
  /** e.g. http://127.0.0.1:8085 */
  baseUrl: string;
  username: string;
  password: string;
  /** a token the user has (Authorization: Bearer on both API versions; no login) */
  bearerToken?: string;
  /** the connection's name, for errors */
  connectionName?: string;
  /** 'auto' (default) probes /api/v2 then /api/v1 */
  apiVersion?: AirflowApiVersion | 'auto';
  /** per request (default 30 s) */
  timeoutMs?: number;
  /** a listing cut short (a server that ignores offset, or more than MAX_LIST_ITEMS): what was kept and why */
  onWarning?: (message: string) => void;
}

export interface RequestOptions {
  /** an array is sent as the parameter repeated (`update_mask=a&update_mask=b`: Airflow 3's lists) */
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  body?: unknown;
  /** what a 404 means for this call */
  onNotFound?: () => AirflowError;
  accept?: string;
}

/** The server caps page size (100 by default in 2.x and 3.x); we ask for that and page on. */
const PAGE_SIZE = 100;
/** A listing stops here (100 pages): the views show the newest or first ones, and say so. */
export const MAX_LIST_ITEMS = 10_000;

/**
 * Airflow REST client for 2.x (/api/v1, basic auth) and 3.x (/api/v2, bearer token from /auth/token),
 * the version detected on first use. Every list is paged to the end; every answer is validated.
 */
export class AirflowClient {
  readonly baseUrl: string;
  private version?: Promise<AirflowApiVersion>;
  private token?: Promise<string>;
  private readonly timeoutMs: number;

  constructor(private readonly opts: AirflowClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    if (opts.apiVersion && opts.apiVersion !== 'auto') this.version = Promise.resolve(opts.apiVersion);
  }

  get username(): string {
    return this.opts.username;
  }

  /** Which REST API the server speaks; probed once (unauthenticated health endpoints). */
  apiVersion(): Promise<AirflowApiVersion> {
    if (!this.version) {
      this.version = this.detectVersion();
      this.version.catch(() => (this.version = undefined));
    }
    return this.version;
  }

  private async detectVersion(): Promise<AirflowApiVersion> {
    let last = '';
    for (const [version, path] of [['v2', '/api/v2/monitor/health'], ['v1', '/api/v1/health']] as const) {
      const res = await this.rawFetch(`${this.baseUrl}${path}`, { headers: { accept: 'application/json' } });
      const type = res.headers.get('content-type') ?? '';
      if (res.ok && type.includes('json')) return version;
      last = `${path}: HTTP ${res.status}${type ? `, ${type.split(';')[0]}` : ''}`;
      await res.body?.cancel().catch(() => undefined);
    }
    // something answers on the port: name it when it is a local program (a port another tool took)
    const holder = await localHolder(this.baseUrl);
    throw new AirflowError(
      'badResponse',
      `${this.baseUrl} answers, but it is not Airflow (no REST API at /api/v2 or /api/v1; ${last})${holder ? `: ${holder}` : ''}.`,
      this.baseUrl,
      holder
        ? 'Stop that program, or move the stack\u2019s Airflow to another port and point datapipeline.airflow.url at it.'
        : 'Check datapipeline.airflow.url points at the Airflow webserver / API server.',
    );
  }

  // ---------------------------------------------------------------- DAGs

  async listDags(): Promise<AirflowDag[]> {
    const v = await this.apiVersion();
    const items = await this.pageAll('/dags', 'dags', v === 'v1' ? { only_active: true, order_by: 'dag_id' } : { order_by: 'dag_id' });
    return items.map((d, i) => decodeDag(d, `dags[${i}]`));
  }

  async getDag(dagId: string): Promise<AirflowDag> {
    const body = await this.request('GET', `/dags/${enc(dagId)}`, { onNotFound: () => dagNotFound(this.baseUrl, dagId) });
    return decodeDag(body, 'dag');
  }

  async setPaused(dagId: string, paused: boolean): Promise<AirflowDag> {
    const body = await this.request('PATCH', `/dags/${enc(dagId)}`, {
      query: { update_mask: 'is_paused' },
      body: { is_paused: paused },
      onNotFound: () => dagNotFound(this.baseUrl, dagId),
    });
    return decodeDag(body, 'dag');
  }

  /** The ids of a DAG's tasks, as its last parse defined them. */
  async listTasks(dagId: string): Promise<string[]> {
    const body = obj(await this.request('GET', `/dags/${enc(dagId)}/tasks`, { onNotFound: () => dagNotFound(this.baseUrl, dagId) }), 'tasks');
    const tasks = Array.isArray(body.tasks) ? body.tasks : [];
    return tasks.map((t, i) => str(obj(t, `tasks[${i}]`), 'task_id', `tasks[${i}]`));
  }

  /**
   * Asks Airflow 3's DAG processor to parse a DAG's file now (its reparse API, the file token from
   * listDags). False on Airflow 2, which has no such API: its processor picks a saved file up by its
   * modification time.
   */
  async reparseFile(fileToken: string): Promise<boolean> {
    if ((await this.apiVersion()) === 'v1') return false;
    await this.request('PUT', `/parseDagFile/${enc(fileToken)}`, {});
    return true;
  }

  // ---------------------------------------------------------------- runs

  async triggerDagRun(dagId: string, opts: TriggerOptions = {}): Promise<AirflowDagRun> {
    const v = await this.apiVersion();
    const payload: Record<string, unknown> = { conf: opts.conf ?? {} };
    // 3.x requires the field; null means "now" and allows several manual runs.
    if (v === 'v2') payload.logical_date = null;
    if (opts.runId) payload.dag_run_id = opts.runId;
    if (opts.note) payload.note = opts.note;
    const body = await this.request('POST', `/dags/${enc(dagId)}/dagRuns`, {
      body: payload,
      onNotFound: () => dagNotFound(this.baseUrl, dagId),
    });
    return decodeRun(body, 'dagRun');
  }

  async getDagRun(dagId: string, runId: string): Promise<AirflowDagRun> {
    const body = await this.request('GET', `/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, {
      onNotFound: () => new AirflowError('notFound', `Run "${runId}" of DAG "${dagId}" does not exist on ${this.baseUrl} (404).`, this.baseUrl, 'Refresh the DAGs view; the run may have been deleted.', 404),
    });
    return decodeRun(body, 'dagRun');
  }

  /** Runs of one DAG (or of every DAG with dagId "~"), newest first; `limit` stops paging early. */
  async listDagRuns(dagId: string, opts: { limit?: number } = {}): Promise<AirflowDagRun[]> {
    const v = await this.apiVersion();
    const items = await this.pageAll(
      `/dags/${dagId === '~' ? '~' : enc(dagId)}/dagRuns`,
      'dag_runs',
      { order_by: v === 'v1' ? '-execution_date' : '-run_after' },
      opts.limit,
      () => dagNotFound(this.baseUrl, dagId),
    );
    return items.map((r, i) => decodeRun(r, `dag_runs[${i}]`));
  }

  /** The newest run of each DAG, from one paged listing across all DAGs. */
  async latestRunByDag(maxRuns = 1000): Promise<Map<string, AirflowDagRun>> {
    const runs = await this.listDagRuns('~', { limit: maxRuns });
    const latest = new Map<string, AirflowDagRun>();
    for (const r of runs) if (!latest.has(r.dagId)) latest.set(r.dagId, r);
    return latest;
  }

  // ---------------------------------------------------------------- task instances, logs

  async listTaskInstances(dagId: string, runId: string): Promise<AirflowTaskInstance[]> {
    const items = await this.pageAll(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`, 'task_instances', {}, undefined, () =>
      new AirflowError('notFound', `Run "${runId}" of DAG "${dagId}" does not exist on ${this.baseUrl} (404).`, this.baseUrl, 'Refresh the DAGs view.', 404),
    );
    return items.map((t, i) => decodeTaskInstance(t, `task_instances[${i}]`));
  }

  /**
   * One chunk of a task's log. Without a token: the whole log so far; with the token of the previous
   * chunk: what was written since. `endOfLog` turns true once the try finished.
   */
  async getTaskLog(
    ti: { dagId: string; runId: string; taskId: string; mapIndex?: number },
    tryNumber: number,
    continuationToken?: string,
  ): Promise<TaskLogChunk> {
    const v = await this.apiVersion();
    const body = obj(
      await this.request('GET', `/dags/${enc(ti.dagId)}/dagRuns/${enc(ti.runId)}/taskInstances/${enc(ti.taskId)}/logs/${Math.max(1, tryNumber)}`, {
        query: {
          full_content: continuationToken ? undefined : true,
          map_index: ti.mapIndex !== undefined && ti.mapIndex >= 0 ? ti.mapIndex : undefined,
          token: continuationToken,
        },
        accept: 'application/json',
        onNotFound: () =>
          new AirflowError('notFound', `No log for task "${ti.taskId}" try ${tryNumber} of run "${ti.runId}" on ${this.baseUrl} (404).`, this.baseUrl, 'The task may not have started yet; refresh and retry.', 404),
      }),
      'log',
    );
    const content = body.content;
    let text: string;
    if (typeof content === 'string') text = v === 'v1' ? textFromV1Content(content) : content;
    else if (Array.isArray(content)) text = textFromV2Content(content);
    else throw new DecodeError('log.content', 'string or array', content);
    const token = optStr(body, 'continuation_token', 'log');
    const meta = token ? decodeContinuationToken(token) : undefined;
    return { text, continuationToken: token, endOfLog: meta ? meta.end_of_log === true : true };
  }

  /** Clears one task instance of a run (it and its run go back to be scheduled). */
  async clearTaskInstance(dagId: string, runId: string, taskId: string): Promise<void> {
    await this.request('POST', `/dags/${enc(dagId)}/clearTaskInstances`, {
      body: { dry_run: false, task_ids: [taskId], dag_run_id: runId, only_failed: false, reset_dag_runs: true, include_downstream: false, include_upstream: false },
      onNotFound: () => dagNotFound(this.baseUrl, dagId),
    });
  }

  /**
   * One XCom value of a task instance, decoded: 2.x returns it as a string (JSON text when the task
   * pushed JSON), 3.x as the JSON value itself. Undefined when the task pushed nothing under `key`.
   */
  async getXcom(dagId: string, runId: string, taskId: string, key: string): Promise<unknown> {
    let body: unknown;
    try {
      body = await this.request('GET', `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}/xcomEntries/${enc(key)}`, {
        onNotFound: () => new AirflowError('notFound', `No XCom "${key}" for task "${taskId}" of run "${runId}".`, this.baseUrl, '', 404),
      });
    } catch (err) {
      if (err instanceof AirflowError && err.kind === 'notFound') return undefined;
      throw err;
    }
    const value = obj(body, 'xcom').value;
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }

  /**
   * The values of XCom `key` across a run's tasks: one listing of the run's entries (task "~"),
   * then each value. A server that cannot list across tasks is asked task by task (`taskIds`).
   */
  async listXcomValues(dagId: string, runId: string, key: string, taskIds: string[]): Promise<Array<{ taskId: string; value: unknown }>> {
    let tasks: string[];
    try {
      const items = await this.pageAll(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/~/xcomEntries`, 'xcom_entries', { xcom_key: key });
      tasks = [...new Set(items.map((x, i) => obj(x, `xcom_entries[${i}]`)).filter((o) => o.key === key).map((o) => String(o.task_id)))];
    } catch (err) {
      if (!(err instanceof AirflowError) || (err.kind !== 'notFound' && err.kind !== 'badRequest')) throw err;
      tasks = taskIds;
    }
    const values = await Promise.all(tasks.map(async (taskId) => ({ taskId, value: await this.getXcom(dagId, runId, taskId, key) })));
    return values.filter((v) => v.value !== undefined);
  }

  /** Every try of a task (Airflow 3; undefined on Airflow 2, whose API lists only the latest). */
  async listTaskTries(dagId: string, runId: string, taskId: string): Promise<AirflowTaskInstance[] | undefined> {
    if ((await this.apiVersion()) === 'v1') return undefined;
    const items = await this.pageAll(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}/tries`, 'task_instances', {});
    return items.map((t, i) => ({ ...decodeTaskInstance({ dag_run_id: runId, dag_id: dagId, ...obj(t, `tries[${i}]`) }, `tries[${i}]`) }));
  }

  /** Airflow 3's assets with their producing tasks and the DAGs they schedule ([] on Airflow 2, which has none of these). */
  async listAssets(): Promise<AirflowAsset[]> {
    if ((await this.apiVersion()) === 'v1') return [];
    const items = await this.pageAll('/assets', 'assets', { order_by: 'name' });
    return items.map((a, i) => {
      const p = `assets[${i}]`;
      const o = obj(a, p);
      const refs = (k: string) => (Array.isArray(o[k]) ? (o[k] as unknown[]).filter((x): x is Obj => !!x && typeof x === 'object') : []);
      const last = o.last_asset_event && typeof o.last_asset_event === 'object' ? optStr(o.last_asset_event as Obj, 'timestamp', `${p}.last_asset_event`) : undefined;
      return {
        id: num(o, 'id', p),
        name: optStr(o, 'name', p) ?? str(o, 'uri', p),
        uri: str(o, 'uri', p),
        group: optStr(o, 'group', p),
        producers: refs('producing_tasks').map((r) => ({ dagId: String(r.dag_id), taskId: String(r.task_id) })),
        consumers: refs('scheduled_dags').map((r) => String(r.dag_id)),
        lastEventAt: last ? Date.parse(last) : undefined,
      };
    });
  }

  // ---------------------------------------------------------------- import errors, health

  async listImportErrors(): Promise<AirflowImportError[]> {
    const items = await this.pageAll('/importErrors', 'import_errors', { order_by: 'import_error_id' });
    return items.map((e, i) => {
      const o = obj(e, `import_errors[${i}]`);
      const p = `import_errors[${i}]`;
      return { id: num(o, 'import_error_id', p), filename: str(o, 'filename', p), stackTrace: str(o, 'stack_trace', p), timestamp: optStr(o, 'timestamp', p) };
    });
  }

  /** Unauthenticated health of the metadata DB and the scheduler (and the 3.x DAG processor). */
  async health(): Promise<AirflowHealth> {
    const v = await this.apiVersion();
    const url = `${this.baseUrl}${v === 'v1' ? '/api/v1/health' : '/api/v2/monitor/health'}`;
    const res = await this.rawFetch(url, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new AirflowError('server', `Airflow health at ${url} answered ${res.status}.`, url, 'Check the webserver log.', res.status);
    const o = obj(await res.json(), 'health');
    const part = (k: string) => (o[k] && typeof o[k] === 'object' ? (o[k] as Obj) : undefined);
    const sched = part('scheduler');
    return {
      metadatabase: part('metadatabase') ? optStr(part('metadatabase')!, 'status', 'health.metadatabase') : undefined,
      scheduler: sched ? optStr(sched, 'status', 'health.scheduler') : undefined,
      schedulerHeartbeat: sched ? optStr(sched, 'latest_scheduler_heartbeat', 'health.scheduler') : undefined,
      dagProcessor: part('dag_processor') ? optStr(part('dag_processor')!, 'status', 'health.dag_processor') : undefined,
      triggerer: part('triggerer') ? optStr(part('triggerer')!, 'status', 'health.triggerer') : undefined,
    };
  }

  /** The UI page of a DAG (or of one run). */
  async uiUrl(dagId: string, runId?: string): Promise<string> {
    const v = await this.apiVersion();
    if (v === 'v2') return `${this.baseUrl}/dags/${enc(dagId)}${runId ? `/runs/${enc(runId)}` : ''}`;
    return `${this.baseUrl}/dags/${enc(dagId)}/grid${runId ? `?dag_run_id=${enc(runId)}` : ''}`;
  }

  /**
   * Every page of a listing. The server is not trusted to page: one that ignores `offset` answers the
   * same page again (stopped at the first repeat), and a listing stops at MAX_LIST_ITEMS; either is
   * said through onWarning. Public for the other modules' listings (airflowObjects.ts).
   */
  async pageAll(path: string, key: string, query: RequestOptions['query'], limit?: number, onNotFound?: () => AirflowError): Promise<unknown[]> {
    const out: unknown[] = [];
    const cap = Math.min(limit ?? MAX_LIST_ITEMS, MAX_LIST_ITEMS);
    let previous: string | undefined;
    for (;;) {
      const pageSize = Math.min(PAGE_SIZE, cap - out.length);
      if (pageSize <= 0) {
        if (limit === undefined || limit > MAX_LIST_ITEMS) this.opts.onWarning?.(`${this.baseUrl}${path}: more than ${MAX_LIST_ITEMS} ${key.replace(/_/g, ' ')}; the first ${MAX_LIST_ITEMS} are shown.`);
        break;
      }
      const body = obj(await this.request('GET', path, { query: { ...query, limit: pageSize, offset: out.length }, onNotFound }), path);
      const items = arr(body[key], `${path}.${key}`);
      const page = JSON.stringify(items);
      if (out.length > 0 && items.length > 0 && page === previous) {
        this.opts.onWarning?.(`${this.baseUrl}${path} answered the same page for offset ${out.length} as for the one before (the server ignores offset): ${out.length} ${key.replace(/_/g, ' ')} are shown.`);
        break;
      }
      previous = page;
      out.push(...items);
      const total = optNum(body, 'total_entries', path);
      if (items.length === 0 || (total !== undefined && out.length >= total)) break;
    }
    return out;
  }

  /** One call of the REST API (/api/v1 or /api/v2, whichever the server has), its errors explained; for the other modules' endpoints. */
  async request(method: string, path: string, ro: RequestOptions = {}): Promise<unknown> {
    const v = await this.apiVersion();
    const url = new URL(`${this.baseUrl}/api/${v}${path}`);
    for (const [k, val] of Object.entries(ro.query ?? {})) {
      if (Array.isArray(val)) for (const v of val) url.searchParams.append(k, v);
      else if (val !== undefined) url.searchParams.set(k, String(val));
    }
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = { accept: ro.accept ?? 'application/json', authorization: await this.authHeader(v) };
      if (ro.body !== undefined) headers['content-type'] = 'application/json';
      return this.rawFetch(url.toString(), { method, headers, body: ro.body !== undefined ? JSON.stringify(ro.body) : undefined });
    };
    let res = await send();
    if (res.status === 401 && v === 'v2' && this.opts.bearerToken === undefined) {
      // The token may have expired: get a new one once.
      this.token = undefined;
      res = await send();
    }
    if (res.ok) {
      if (res.status === 204) return {};
      const text = await res.text();
      try {
        return text ? JSON.parse(text) : {};
      } catch {
        throw new AirflowError('badResponse', `Airflow at ${url.origin} answered ${method} ${url.pathname} with something that is not JSON.`, url.toString(), 'Check datapipeline.airflow.url points at the Airflow API.');
      }
    }
    const detail = await problemDetail(res);
    // Airflow 3 answers a token it cannot read with 403 "Invalid JWT token": that is a credential to replace, not a role
    if (res.status === 401 || (res.status === 403 && /invalid (jwt )?token|not authenticated|signature/i.test(detail))) throw this.unauthorized();
    if (res.status === 403) {
      const who = this.opts.bearerToken !== undefined ? 'This API token' : `User "${this.opts.username}"`;
      const where = this.opts.connectionName ? `connection "${this.opts.connectionName}" (${this.baseUrl})` : this.baseUrl;
      throw new AirflowError('forbidden', `${who} may not ${method} ${url.pathname} on ${where} (403${detail ? `: ${detail}` : ''}).`, url.toString(), 'Use an account with the Op or Admin role.', 403);
    }
    if (res.status === 404 && ro.onNotFound) throw ro.onNotFound();
    if (res.status === 400 || res.status === 409 || res.status === 422)
      throw new AirflowError('badRequest', `Airflow refused ${method} ${url.pathname}: ${detail || res.statusText} (${res.status}).`, url.toString(), 'Fix the request and retry.', res.status);
    throw new AirflowError('server', `Airflow at ${this.baseUrl} answered ${method} ${url.pathname} with ${res.status}${detail ? `: ${detail}` : ''}.`, url.toString(), 'Check the Airflow webserver log (DataPipeline: Show Service Logs).', res.status);
  }

  private unauthorized(): AirflowError {
    return unauthorized(this.baseUrl, this.opts.username, { bearer: this.opts.bearerToken !== undefined, connection: this.opts.connectionName });
  }

  private async authHeader(v: AirflowApiVersion): Promise<string> {
    if (this.opts.bearerToken !== undefined) return `Bearer ${this.opts.bearerToken}`;
    if (v === 'v1') return 'Basic ' + Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64');
    if (!this.token) {
      this.token = this.fetchToken();
      this.token.catch(() => (this.token = undefined));
    }
    return `Bearer ${await this.token}`;
  }

  private async fetchToken(): Promise<string> {
    const url = `${this.baseUrl}/auth/token`;
    const res = await this.rawFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ username: this.opts.username, password: this.opts.password }),
    });
    if (res.status === 401 || res.status === 403) throw this.unauthorized();
    if (!res.ok) throw new AirflowError('server', `Airflow at ${url} answered ${res.status} when asked for a token.`, url, 'Check the Airflow API server log.', res.status);
    return str(obj(await res.json(), 'token'), 'access_token', 'token');
  }

  private async rawFetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw unreachable(this.baseUrl, err, this.opts.connectionName);
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

async function problemDetail(res: Response): Promise<string> {
  try {
    const text = await res.text();
    try {
      const o = JSON.parse(text) as Obj;
      const d = o.detail ?? o.title;
      if (typeof d === 'string') return d;
      if (Array.isArray(d)) return d.map((x) => (typeof x === 'object' && x && 'msg' in x ? String((x as Obj).msg) : JSON.stringify(x))).join('; ');
      return d !== undefined ? JSON.stringify(d) : '';
    } catch {
      return text.slice(0, 200);
    }
  } catch {
    return '';
  }
}

/** "port 8085 is held by pid 4121 (python3)" for a loopback URL whose port a local program holds. */
async function localHolder(baseUrl: string): Promise<string | undefined> {
  try {
    const u = new URL(baseUrl);
    if (!/^(127\.0\.0\.1|localhost|\[::1\])$/.test(u.hostname)) return undefined;
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    const [check] = await findPortsInUse([port]);
    return check?.owner ? `port ${port} is held by pid ${check.owner.pid} (${check.owner.program})` : undefined;
  } catch {
    return undefined;
  }
}
