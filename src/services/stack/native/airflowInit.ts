/**
 * Airflow's first start in the native stack: `db migrate`, the admin user and the spark_cluster
 * connection, once per database (stamped in the Airflow home), redone when the ports change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OperationOptions, StackError } from '../types';
import { HOST, NativeLayout } from './config';
import { tailLines } from './processes';
import { run } from './provision';

/** argv with the value after --password (and of --password=…) replaced: no password in any log. */
export function redactArgs(args: string[]): string[] {
  return args.map((a, i) => (args[i - 1] === '--password' ? '***' : a.replace(/^(--password=).*/, '$1***')));
}

export async function airflowInit(airflow: string, env: NodeJS.ProcessEnv, l: NativeLayout, sparkMasterPort: number, o: OperationOptions): Promise<void> {
  fs.mkdirSync(l.airflowHome, { recursive: true });
  const stamp = path.join(l.airflowHome, '.initialized');
  const want = JSON.stringify({ v: 1, sparkMaster: sparkMasterPort, db: env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN });
  try {
    if (fs.readFileSync(stamp, 'utf8') === want) return;
  } catch {
    /* first start */
  }
  const log = path.join(l.logsDir, 'airflow-init.log');
  fs.mkdirSync(l.logsDir, { recursive: true });
  const conns = path.join(l.airflowHome, 'connections.json');
  fs.writeFileSync(conns, JSON.stringify({ spark_cluster: { conn_type: 'spark', host: `spark://${HOST}`, port: sparkMasterPort, extra: { 'deploy-mode': 'client' } } }, null, 2));
  const steps: Array<[string, string[]]> = [
    ['Creating the Airflow database (airflow db migrate)', ['db', 'migrate']],
    ['Creating the Airflow admin user', ['users', 'create', '--username', 'admin', '--password', 'admin', '--firstname', 'Admin', '--lastname', 'User', '--role', 'Admin', '--email', 'admin@example.org']],
    ['Adding the spark_cluster connection', ['connections', 'import', '--overwrite', conns]],
  ];
  for (const [step, args] of steps) {
    o.onProgress?.({ step, percent: 0, service: 'airflow-webserver' });
    fs.appendFileSync(log, `\n===== ${new Date().toISOString()} airflow ${redactArgs(args).join(' ')}\n`);
    const r = await run(airflow, args, { env, cwd: l.airflowHome, signal: o.signal, onOutput: (t) => fs.appendFileSync(log, t), timeoutMs: 600_000 });
    if (r.code !== 0) {
      throw new StackError(`${step} failed (airflow exited with ${r.code}).`, {
        service: 'airflow-webserver',
        logTail: tailLines(log, 30),
        nextStep: `See ${log}. If the database is damaged, reset the stack data (npm run stack -- reset), then start again.`,
      });
    }
  }
  fs.writeFileSync(stamp, want);
}
