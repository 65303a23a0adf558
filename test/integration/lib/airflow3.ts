/**
 * A throwaway Apache Airflow 3.x for the client tests: its own AIRFLOW_HOME and DAGs folder in a temp
 * dir, SQLite + LocalExecutor, the API server on 127.0.0.1:<port>, SimpleAuthManager user admin/admin.
 * The install comes from scripts/setup/airflow3.sh (run by the test script's setup, or here when missing).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir } from '../../../src/services/util/paths';
import { until } from '../../lib/until';

export interface Airflow3 {
  url: string;
  home: string;
  dagsDir: string;
  version: string;
  /** Stops one component (e.g. the scheduler, to test a run that stays queued). */
  stopComponent(name: 'scheduler' | 'dag-processor'): Promise<void>;
  /** Runs Airflow's own CLI against this Airflow (its home and database). */
  cli(args: string[]): { code: number; stdout: string; stderr: string };
  stop(): Promise<void>;
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function airflow3Bin(): string {
  const bin = path.join(cacheDir(), 'airflow3', 'venv', 'bin');
  if (!fs.existsSync(path.join(bin, 'airflow'))) {
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'setup', 'airflow3.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`scripts/setup/airflow3.sh failed (${r.status}); see ${path.join(cacheDir(), 'logs', 'airflow3-pip.log')}`);
  }
  return bin;
}

/** Starts api-server, scheduler and dag-processor; resolves once the API answers healthy. The user is admin (password `password`, default admin). */
export async function startAirflow3(opts: { port: number; dags: Record<string, string>; password?: string }): Promise<Airflow3> {
  const bin = airflow3Bin();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-airflow3-'));
  const home = path.join(root, 'home');
  const dagsDir = path.join(root, 'dags');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(dagsDir, { recursive: true });
  for (const [name, text] of Object.entries(opts.dags)) fs.writeFileSync(path.join(dagsDir, name), text);
  const passwords = path.join(home, 'passwords.json');
  fs.writeFileSync(passwords, JSON.stringify({ admin: opts.password ?? 'admin' }));
  const url = `http://127.0.0.1:${opts.port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: dagsDir,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
    AIRFLOW__CORE__PARALLELISM: '2',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'True',
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: 'admin:admin',
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: passwords,
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__API__HOST: '127.0.0.1',
    AIRFLOW__API__PORT: String(opts.port),
    AIRFLOW__API__BASE_URL: url,
    AIRFLOW__API__WORKERS: '1',
    AIRFLOW__API_AUTH__JWT_SECRET: 'datapipeline-test-only',
    AIRFLOW__API__SECRET_KEY: 'datapipeline-test-only',
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '5',
    AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL: '5',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
  };
  const airflow = path.join(bin, 'airflow');
  const migrate = spawnSync(airflow, ['db', 'migrate'], { env, encoding: 'utf8' });
  if (migrate.status !== 0) throw new Error(`airflow db migrate failed: ${migrate.stderr.slice(-2000)}`);
  const version = spawnSync(airflow, ['version'], { env, encoding: 'utf8' }).stdout.trim().split('\n').pop() ?? '?';

  const children: ChildProcess[] = [];
  const byName = new Map<string, ChildProcess>();
  const logs: string[] = [];
  const start = (name: string, args: string[]) => {
    const file = path.join(root, `${name}.log`);
    logs.push(file);
    const fd = fs.openSync(file, 'a');
    const child = spawn(airflow, args, { env, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    children.push(child);
    byName.set(name, child);
  };
  start('api-server', ['api-server', '--host', '127.0.0.1', '--port', String(opts.port)]);
  start('scheduler', ['scheduler']);
  start('dag-processor', ['dag-processor']);

  const stopChildren = async (list: ChildProcess[]) => {
    for (const c of list) {
      // each component was started in its own process group: signal the group (gunicorn/uvicorn workers, task runners)
      if (c.pid && c.exitCode === null) {
        try {
          process.kill(-c.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    const deadline = Date.now() + 20_000;
    while (list.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250)); // poll interval of a bounded wait for the processes to exit
    for (const c of list) {
      if (c.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  const stop = async () => {
    await stopChildren(children);
    fs.rmSync(root, { recursive: true, force: true });
  };
  const stopComponent = async (name: 'scheduler' | 'dag-processor') => {
    const c = byName.get(name);
    if (c) await stopChildren([c]);
  };

  try {
    await until('Airflow 3 to be healthy', async () => {
      const res = await fetch(`${url}/api/v2/monitor/health`, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) return false;
      const h = (await res.json()) as { scheduler?: { status?: string }; dag_processor?: { status?: string } };
      return h.scheduler?.status === 'healthy' && h.dag_processor?.status === 'healthy';
    }, {
      timeoutMs: 180_000,
      intervalMs: 1000,
      ignoreErrors: true,
      detail: () => logs.map((f) => `--- ${f}\n${fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(-30).join('\n') : '(no log)'}`).join('\n'),
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const cli = (args: string[]) => {
    const r = spawnSync(airflow, args, { env, encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  return { url, home, dagsDir, version, stopComponent, cli, stop };
}
