/**
 * The compose CLI: detection (v2 plugin `docker compose`, or v1 `docker-compose` with a warning)
 * and running it with a fixed project name. Child processes use argv arrays, never a shell.
 */
import { TailBuffer } from '../util/tailBuffer';
import { spawn } from 'node:child_process';

export interface ComposeCli {
  /** argv prefix, e.g. ["docker", "compose"] or ["docker-compose"] */
  command: string[];
  /** e.g. "2.29.7" or "1.29.2" */
  version: string;
  major: number;
  /** set for v1: shown once to the user */
  warning?: string;
}

export class ComposeNotFoundError extends Error {
  constructor(
    message: string,
    readonly nextStep: string,
  ) {
    super(message);
    this.name = 'ComposeNotFoundError';
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** each stdout/stderr line as it arrives */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  /** output kept per stream (default 4 MiB): past it only the tail is kept (a long build's log) */
  maxOutputBytes?: number;
}

/** Runs argv[0] with the rest as arguments; resolves with the exit code and output (never rejects on exit code). */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;
    const out = { stdout: new TailBuffer(max), stderr: new TailBuffer(max) };
    const partial = { stdout: '', stderr: '' };
    const feed = (which: 'stdout' | 'stderr', chunk: Buffer) => {
      const text = chunk.toString('utf8');
      out[which].push(text);
      if (!opts.onLine) return;
      const lines = (partial[which] + text).split(/\r?\n/);
      partial[which] = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) opts.onLine(l, which);
    };
    child.stdout.on('data', (c: Buffer) => feed('stdout', c));
    child.stderr.on('data', (c: Buffer) => feed('stderr', c));
    const kill = () => child.kill('SIGTERM');
    if (opts.signal?.aborted) kill();
    else opts.signal?.addEventListener('abort', kill, { once: true });
    const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : undefined;
    child.once('error', (err) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      reject(err);
    });
    child.once('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      for (const which of ['stdout', 'stderr'] as const) {
        if (opts.onLine && partial[which].trim()) opts.onLine(partial[which], which);
      }
      resolve({ code: code ?? (sig ? 128 : 1), stdout: out.stdout.toString(), stderr: out.stderr.toString() });
    });
  });
}

/** "Docker Compose version v2.29.7", "docker-compose version 1.29.2, build unknown", "2.29.7" → "2.29.7" */
export function parseComposeVersion(output: string): string | undefined {
  const m = /v?(\d+\.\d+\.\d+(?:[-+][\w.]+)?)/.exec(output);
  return m?.[1];
}

async function tryVersion(command: string[], env?: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const r = await run([...command, 'version'], { env, timeoutMs: 15_000 });
    if (r.code !== 0) return undefined;
    return parseComposeVersion(r.stdout + r.stderr);
  } catch {
    return undefined; // ENOENT: not installed
  }
}

/**
 * Finds a working compose CLI: the configured command first (default `docker compose`), then
 * `docker-compose` (v1 is accepted with a warning). Throws ComposeNotFoundError with the next step.
 */
export async function detectCompose(preferred: string[] = ['docker', 'compose'], env?: NodeJS.ProcessEnv): Promise<ComposeCli> {
  const candidates: string[][] = [preferred];
  const key = (c: string[]) => c.join(' ');
  for (const c of [['docker', 'compose'], ['docker-compose']]) {
    if (!candidates.some((x) => key(x) === key(c))) candidates.push(c);
  }
  for (const command of candidates) {
    const version = await tryVersion(command, env);
    if (!version) continue;
    const major = Number(version.split('.')[0]);
    const cli: ComposeCli = { command, version, major };
    if (major < 2) {
      cli.warning =
        `Using docker-compose ${version} (Compose v1, no longer maintained). ` +
        'Install the Compose v2 plugin ("docker compose") when you can.';
    } else if (key(command) !== key(preferred)) {
      cli.warning = `"${key(preferred)}" did not answer; using "${key(command)}" (Compose ${version}).`;
    }
    return cli;
  }
  throw new ComposeNotFoundError(
    `Docker Compose was not found (tried ${candidates.map((c) => `"${key(c)}"`).join(', ')}).`,
    'Install the Docker Compose plugin (or docker-compose), or set datapipeline.docker.composeCommand.',
  );
}

/** Runs compose for one project: `<cmd> -p <project> -f <file> <args>` in the project folder. */
export class ComposeProject {
  constructor(
    readonly cli: ComposeCli,
    readonly projectName: string,
    readonly composeFile: string,
    readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  argv(args: string[]): string[] {
    return [...this.cli.command, '-p', this.projectName, '-f', this.composeFile, ...args];
  }

  /** `extraEnv` adds to the project's environment for this one call (e.g. a build's label value). */
  run(args: string[], opts: Omit<RunOptions, 'cwd' | 'env'> & { extraEnv?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    const { extraEnv, ...rest } = opts;
    return run(this.argv(args), { ...rest, cwd: this.cwd, env: { ...this.env, ...extraEnv } });
  }

  /** `up -d` (builds missing images); `--wait` is not used so v1 and v2 behave the same. */
  up(services: string[] = [], opts: Omit<RunOptions, 'cwd' | 'env'> = {}): Promise<RunResult> {
    return this.run(['up', '-d', '--remove-orphans', ...services], opts);
  }

  down(opts: Omit<RunOptions, 'cwd' | 'env'> & { volumes?: boolean } = {}): Promise<RunResult> {
    return this.run(['down', '--remove-orphans', ...(opts.volumes ? ['-v'] : [])], opts);
  }

  config(opts: Omit<RunOptions, 'cwd' | 'env'> = {}): Promise<RunResult> {
    return this.run(['config'], opts);
  }
}
