/**
 * Airflow's first start in the native stack: `db migrate`, the admin user and the spark_cluster and
 * spark_default connections, once per database (stamped in the Airflow home), redone when the ports change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OperationOptions, StackError } from '../types';
import { airflow3PasswordsFile, HOST, type AirflowMajor, NativeLayout } from './config';
import { tailLines } from './processes';
import { run } from './provision';
import { DEFAULT_STACK_ADMIN_PASSWORD, passwordDigest, STACK_ADMIN_USER } from '../airflowPassword';
import { writePrivateFile } from '../../util/privateFiles';

/** argv with the value after --password (and of --password=…) replaced: no password in any log. */
export function redactArgs(args: string[]): string[] {
  return args.map((a, i) => (args[i - 1] === '--password' ? '***' : a.replace(/^(--password=).*/, '$1***')));
}

/**
 * Creates a database in the stack's PostgreSQL if it is missing (Airflow 3 keeps its own next to
 * 2.8.1's), with the Airflow venv's psycopg2; the password goes in the environment, not the argv.
 */
const ENSURE_DATABASE = `
import os, re, psycopg2
name = os.environ["DP_DB_NAME"]
assert re.fullmatch(r"[a-z0-9_]+", name)
c = psycopg2.connect(host=os.environ["DP_DB_HOST"], port=int(os.environ["DP_DB_PORT"]), user=os.environ["DP_DB_USER"], password=os.environ["DP_DB_PASSWORD"], dbname="airflow")
c.autocommit = True
cur = c.cursor()
cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
if cur.fetchone() is None:
    cur.execute(f'CREATE DATABASE "{name}" OWNER "{os.environ["DP_DB_USER"]}"')
    print("created database", name)
`;

/**
 * The DAGs another project's folder gave this Airflow (its database outlives a project switch):
 * marked inactive (Airflow 2) or stale (Airflow 3), as Airflow does for a deleted file, so the DAGs
 * view lists this project's only. Their runs stay; the other project's next start parses them again.
 */
const RETIRE_OTHER_DAGS = `
import os
from airflow.models.dag import DagModel
from airflow.utils.session import create_session
folder = os.path.realpath(os.environ["DP_DAGS_FOLDER"]) + os.sep
n = 0
with create_session() as s:
    for m in s.query(DagModel).all():
        if not m.fileloc or os.path.realpath(m.fileloc).startswith(folder):
            continue
        if hasattr(DagModel, "is_stale"):
            if not m.is_stale:
                m.is_stale = True
                n += 1
        elif m.is_active:
            m.is_active = False
            n += 1
print("retired", n)
`;

/** Once per DAGs folder (stamped in the Airflow home): the DAGs of other folders retired (RETIRE_OTHER_DAGS). */
export async function retireOtherProjectDags(python: string, env: NodeJS.ProcessEnv, l: NativeLayout, o: OperationOptions): Promise<void> {
  const stamp = path.join(l.airflowHome, '.dags-folder');
  let last: string | undefined;
  try {
    last = fs.readFileSync(stamp, 'utf8');
  } catch {
    // first start: nothing of another folder
  }
  if (last === l.dagsDir) return;
  if (last !== undefined) {
    o.onProgress?.({ step: `Retiring the DAGs of ${last} (this Airflow now reads ${l.dagsDir}; their runs stay)`, percent: 0 });
    const r = await run(python, ['-c', RETIRE_OTHER_DAGS], { env: { ...env, DP_DAGS_FOLDER: l.dagsDir }, signal: o.signal, timeoutMs: 120_000 });
    fs.appendFileSync(path.join(l.logsDir, 'airflow-init.log'), r.stdout + r.stderr);
    // not fatal: the other project's DAGs stay listed until Airflow retires them
    if (r.code !== 0) return;
  }
  fs.writeFileSync(stamp, l.dagsDir);
}

export interface AirflowInitOptions {
  airflow?: AirflowMajor;
  /** the Airflow venv's python (to create the database) */
  python?: string;
  /** the stack's PostgreSQL database to make sure of (Airflow 3's "airflow3") */
  database?: string;
  /** the admin's password (services/stack/airflowPassword; default admin): a change re-runs the init */
  adminPassword?: string;
}

export async function airflowInit(airflow: string, env: NodeJS.ProcessEnv, l: NativeLayout, sparkMasterPort: number, o: OperationOptions, opts: AirflowInitOptions = {}): Promise<void> {
  const major = opts.airflow ?? 2;
  fs.mkdirSync(l.airflowHome, { recursive: true });
  const stamp = path.join(l.airflowHome, '.initialized');
  const adminPassword = opts.adminPassword ?? DEFAULT_STACK_ADMIN_PASSWORD;
  // the stamp names the password by a digest: a new one re-runs the init, which gives it to the admin
  const want = JSON.stringify({ v: 2, airflow: major, sparkMaster: sparkMasterPort, db: env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, ...(adminPassword === DEFAULT_STACK_ADMIN_PASSWORD ? {} : { admin: passwordDigest(adminPassword) }) });
  try {
    if (fs.readFileSync(stamp, 'utf8') === want) return;
  } catch {
    /* first start */
  }
  const log = path.join(l.logsDir, 'airflow-init.log');
  fs.mkdirSync(l.logsDir, { recursive: true });
  const conns = path.join(l.airflowHome, 'connections.json');
  // spark_cluster (the stack's DAGs) and spark_default (a SparkSubmitOperator that names none) both at the stack's master
  const master = { conn_type: 'spark', host: `spark://${HOST}`, port: sparkMasterPort, extra: { 'deploy-mode': 'client' } };
  fs.writeFileSync(conns, JSON.stringify({ spark_cluster: master, spark_default: master }, null, 2));
  if (major === 3 && opts.database && opts.python) {
    // Airflow 3's metadata database beside 2.8.1's (never the same one: switching migrates nothing)
    const url = new URL((env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN ?? '').replace(/^postgresql\+\w+:/, 'postgresql:'));
    o.onProgress?.({ step: `Creating the ${opts.database} database (Airflow 3's own)`, percent: 0, service: 'airflow-api-server' });
    const r = await run(opts.python, ['-c', ENSURE_DATABASE], {
      env: { ...env, DP_DB_NAME: opts.database, DP_DB_HOST: url.hostname, DP_DB_PORT: url.port || '5432', DP_DB_USER: decodeURIComponent(url.username), DP_DB_PASSWORD: decodeURIComponent(url.password) },
      signal: o.signal,
      timeoutMs: 60_000,
    });
    fs.appendFileSync(log, r.stdout + r.stderr);
    if (r.code !== 0) {
      throw new StackError(`Creating the ${opts.database} database in the stack's PostgreSQL failed.`, { service: 'postgres', logTail: tailLines(log, 20), nextStep: `See ${log}, then start again.` });
    }
  }
  if (major === 3) {
    // Airflow 3's simple auth manager: the stack's admin and its password, as Airflow 2's admin user
    writePrivateFile(airflow3PasswordsFile(l), JSON.stringify({ [STACK_ADMIN_USER]: adminPassword }));
  }
  // [progress step, program, argv, extra environment]
  const steps: Array<[string, string, string[], NodeJS.ProcessEnv?]> = [
    ['Creating the Airflow database (airflow db migrate)', airflow, ['db', 'migrate']],
    ...(major === 2 && opts.python
      ? // created, or given the stack's password; the password in the environment, never in argv
        [['Creating the Airflow admin user', opts.python, [path.join(path.dirname(l.nativeDir), 'airflow', 'admin_user.py')], { AIRFLOW_ADMIN_USER: STACK_ADMIN_USER, AIRFLOW_ADMIN_PASSWORD: adminPassword }] as [string, string, string[], NodeJS.ProcessEnv]]
      : []),
    ['Adding the spark_cluster and spark_default connections (the stack\u2019s master)', airflow, ['connections', 'import', '--overwrite', conns]],
  ];
  for (const [step, program, args, extraEnv] of steps) {
    o.onProgress?.({ step, percent: 0, service: major === 3 ? 'airflow-api-server' : 'airflow-webserver' });
    fs.appendFileSync(log, `\n===== ${new Date().toISOString()} ${path.basename(program)} ${redactArgs(args).join(' ')}\n`);
    const r = await run(program, args, { env: { ...env, ...extraEnv }, cwd: l.airflowHome, signal: o.signal, onOutput: (t) => fs.appendFileSync(log, t), timeoutMs: 600_000 });
    if (r.code !== 0) {
      throw new StackError(`${step} failed (airflow exited with ${r.code}).`, {
        service: major === 3 ? 'airflow-api-server' : 'airflow-webserver',
        logTail: tailLines(log, 30),
        nextStep: `See ${log}. If the database is damaged, reset the stack data (npm run stack -- reset), then start again.`,
      });
    }
  }
  fs.writeFileSync(stamp, want);
}
