/**
 * Thin wrappers over dockerode: connect + classify daemon faults, list a compose project's
 * containers, map them to statuses, demultiplexed logs, exec, and the events stream.
 */
import Dockerode from 'dockerode';
import { setMaxListeners } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { errorMessage } from '../util/errors';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';

/** The daemon cannot be used: what happened and the next step. */
export class DockerUnavailableError extends Error {
  constructor(
    message: string,
    readonly nextStep: string,
    readonly reason: 'not-installed' | 'daemon-down' | 'permission' | 'unresponsive' | 'unknown',
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'DockerUnavailableError';
  }
}

/** A dockerode client for DOCKER_HOST (or the default socket). */
export function createDocker(env: NodeJS.ProcessEnv = process.env): Dockerode {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  if (host?.startsWith('tcp://') || host?.startsWith('http://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return new Dockerode({ host: u.hostname, port: Number(u.port || 2375), protocol: 'http' });
  }
  return new Dockerode({ socketPath: '/var/run/docker.sock' });
}

/** Where this client connects, for messages. */
export function describeEndpoint(docker: Dockerode): string {
  const m = docker.modem as unknown as { socketPath?: string; host?: string; port?: number };
  return m.socketPath ? `unix://${m.socketPath}` : `tcp://${m.host}:${m.port}`;
}

/** Classifies a connection error from dockerode into a DockerUnavailableError. */
export function classifyDockerError(err: unknown, endpoint: string): DockerUnavailableError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
    return new DockerUnavailableError(
      `The Docker daemon is not running (nothing answers at ${endpoint}).`,
      'Start Docker (e.g. "sudo systemctl start docker" or Docker Desktop), or set datapipeline.stack.backend to "native".',
      'daemon-down',
      err,
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new DockerUnavailableError(
      `Permission denied on the Docker socket ${endpoint}.`,
      'Add your user to the "docker" group ("sudo usermod -aG docker $USER", then log in again), or set datapipeline.stack.backend to "native".',
      'permission',
      err,
    );
  }
  const msg = errorMessage(err);
  return new DockerUnavailableError(`The Docker daemon at ${endpoint} did not answer: ${msg}`, 'Check that Docker is running, then try again.', 'unknown', err);
}

/** How long a request to the daemon may take (a list, an inspect, a ping): past it the daemon "does not answer". */
export const DOCKER_CALL_TIMEOUT_MS = 10_000;

/**
 * One request to the daemon, bounded: `fn` gets an AbortSignal that cancels the request when
 * `timeoutMs` has passed, and the call fails with a DockerUnavailableError ('unresponsive') that says
 * so: a daemon that accepts and never answers must not freeze the Stack view and the status bar.
 * Streams (logs, events) are not bounded this way: they are idle by nature.
 */
export async function dockerCall<T>(docker: Dockerode, what: string, fn: (signal: AbortSignal) => Promise<T>, timeoutMs = DOCKER_CALL_TIMEOUT_MS): Promise<T> {
  const abort = new AbortController();
  // one signal for every request of the call (a list, then an inspect per container)
  setMaxListeners(0, abort.signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      const endpoint = describeEndpoint(docker);
      reject(
        new DockerUnavailableError(
          `The Docker daemon at ${endpoint} does not answer (no reply to ${what} in ${Math.round(timeoutMs / 100) / 10} s).`,
          'Restart Docker (Docker Desktop, or "sudo systemctl restart docker"), then Refresh Stack; or set datapipeline.stack.backend to "native".',
          'unresponsive',
        ),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(abort.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pings the daemon; throws DockerUnavailableError. Returns the engine's API version. */
export async function pingDocker(docker: Dockerode, timeoutMs = 5000): Promise<string> {
  const endpoint = describeEndpoint(docker);
  try {
    return await dockerCall(
      docker,
      'a ping',
      async (abortSignal) => {
        // dockerode takes abortSignal on these too; its types do not say so yet
        const withSignal = docker as unknown as { ping(o: object): Promise<unknown>; version(o: object): Promise<Dockerode.DockerVersion> };
        await withSignal.ping({ abortSignal });
        return (await withSignal.version({ abortSignal })).ApiVersion;
      },
      timeoutMs,
    );
  } catch (err) {
    throw err instanceof DockerUnavailableError ? err : classifyDockerError(err, endpoint);
  }
}

export interface ContainerSummary {
  id: string;
  name: string;
  service: string;
  /** created|restarting|running|removing|paused|exited|dead */
  state: string;
  health: 'healthy' | 'unhealthy' | 'starting' | 'none';
  exitCode?: number;
  pid?: number;
  /** published host ports */
  ports: Array<{ host: string; port: number; containerPort: number }>;
  /** last health check output, when unhealthy */
  healthOutput?: string;
  startedAt?: string;
  restarting: boolean;
  /** compose's number of this container among its service's (2, 3, … when the service is scaled) */
  number: number;
  /** the folder compose was run in (label com.docker.compose.project.working_dir) */
  workingDir?: string;
}

/** Every container of a compose project (running or not), inspected. */
export async function listProjectContainers(docker: Dockerode, project: string, timeoutMs = DOCKER_CALL_TIMEOUT_MS): Promise<ContainerSummary[]> {
  const inspected = await dockerCall(
    docker,
    `the list of project ${project}'s containers`,
    async (abortSignal) => {
      const list = await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`] }, abortSignal });
      return Promise.all(
        list.map(async (c) => {
          try {
            return await docker.getContainer(c.Id).inspect({ abortSignal });
          } catch (e) {
            if (abortSignal.aborted) throw e;
            return undefined; // removed meanwhile
          }
        }),
      );
    },
    timeoutMs,
  );
  return inspected.filter((i): i is Dockerode.ContainerInspectInfo => !!i).map(summarize);
}

export function summarize(info: Dockerode.ContainerInspectInfo): ContainerSummary {
  const st = info.State;
  const health = (st.Health?.Status as ContainerSummary['health'] | undefined) ?? 'none';
  const ports: ContainerSummary['ports'] = [];
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    for (const b of bindings ?? []) {
      ports.push({ host: b.HostIp || '0.0.0.0', port: Number(b.HostPort), containerPort: Number(key.split('/')[0]) });
    }
  }
  const lastHealth = st.Health?.Log?.[st.Health.Log.length - 1];
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    service: info.Config.Labels?.[SERVICE_LABEL] ?? info.Name.replace(/^\//, ''),
    state: st.Status,
    health: health === ('' as string) ? 'none' : health,
    exitCode: st.Status === 'exited' || st.Status === 'dead' ? st.ExitCode : undefined,
    pid: st.Pid || undefined,
    ports,
    healthOutput: lastHealth?.Output?.trim() || undefined,
    startedAt: st.StartedAt,
    restarting: st.Restarting,
    number: Number(info.Config.Labels?.['com.docker.compose.container-number'] ?? 1) || 1,
    workingDir: info.Config.Labels?.['com.docker.compose.project.working_dir'] || undefined,
  };
}

/** Splits a byte stream into lines (handles chunks cut mid-line). */
export function lineSplitter(onLine: (line: string) => void): { write(chunk: Buffer | string): void; end(): void } {
  let partial = '';
  return {
    write(chunk) {
      const lines = (partial + chunk.toString()).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    },
    end() {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}

/**
 * Streams a container's logs (stdout+stderr, demultiplexed) line by line. Resolves when the
 * stream ends (not following, or the container stopped) or when `signal` aborts.
 */
export async function containerLogs(
  docker: Dockerode,
  containerId: string,
  onLine: (line: string) => void,
  opts: { follow?: boolean; tail?: number; signal?: AbortSignal; tty?: boolean } = {},
): Promise<void> {
  const container = docker.getContainer(containerId);
  const tty = opts.tty ?? (await container.inspect()).Config.Tty;
  const split = lineSplitter(onLine);
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => split.write(c));
  if (!opts.follow) {
    const buf = (await container.logs({ follow: false, stdout: true, stderr: true, tail: opts.tail ?? 200 })) as unknown as Buffer;
    if (tty) split.write(buf);
    else for (const frame of demuxBuffer(buf)) split.write(frame);
    split.end();
    return;
  }
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true, tail: opts.tail ?? 200 })) as unknown as Readable;
  await new Promise<void>((resolve) => {
    const done = () => {
      opts.signal?.removeEventListener('abort', abort);
      split.end();
      resolve();
    };
    const abort = () => {
      stream.destroy();
      done();
    };
    if (opts.signal?.aborted) return abort();
    opts.signal?.addEventListener('abort', abort, { once: true });
    if (tty) stream.pipe(sink);
    else docker.modem.demuxStream(stream, sink, sink);
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/** Docker's multiplexed log format: 8-byte header (stream, 0,0,0, size BE32) + payload. */
export function demuxBuffer(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return out;
}

export interface ExecResult {
  exitCode: number;
}

/** Runs `cmd` in a running container, streaming stdout/stderr; kills nothing on abort but stops reading. */
export async function execInContainer(
  docker: Dockerode,
  containerId: string,
  cmd: string[],
  io: { onStdout(chunk: string): void; onStderr(chunk: string): void; signal?: AbortSignal },
  opts: { env?: string[]; workingDir?: string; user?: string } = {},
): Promise<ExecResult> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    Env: opts.env,
    WorkingDir: opts.workingDir,
    User: opts.user,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (c: Buffer) => io.onStdout(c.toString()));
  err.on('data', (c: Buffer) => io.onStderr(c.toString()));
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve) => {
    const abort = () => {
      stream.destroy();
      resolve();
    };
    io.signal?.addEventListener('abort', abort, { once: true });
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? (info.Running ? -1 : 0) };
}

const PID_MARK = 'datapipeline-exec-pid ';
/**
 * Signals a process and all its descendants (children first, found through /proc), and its process
 * group when it leads one: what it started stops with it, even a child the process no longer parents
 * (the SIGKILL that follows a SIGTERM comes after the process itself may be gone).
 */
const KILL_TREE = 't() { for c in $(cat /proc/$1/task/*/children 2>/dev/null); do t "$c"; done; kill -"$0" "$1" 2>/dev/null; }; t "$1"; kill -"$0" -- -"$1" 2>/dev/null; true';

/**
 * execInContainer whose abort stops the process and its descendants in the container (SIGTERM, then
 * SIGKILL after `killAfterMs`): the docker API cannot signal an exec, so a wrapper prints the
 * process's pid first (then execs `cmd` unchanged, so the pid stays its own).
 */
export async function execKillable(
  docker: Dockerode,
  containerId: string,
  cmd: string[],
  io: { onStdout(chunk: string): void; onStderr(chunk: string): void; signal?: AbortSignal },
  opts: { env?: string[]; workingDir?: string; user?: string; killAfterMs?: number } = {},
): Promise<ExecResult> {
  let pid: string | undefined;
  let head = '';
  const signal = (sig: string) =>
    pid ? execInContainer(docker, containerId, ['sh', '-c', KILL_TREE, sig, pid], { onStdout: () => undefined, onStderr: () => undefined }).catch(() => undefined) : undefined;
  const onAbort = () => {
    void signal('TERM');
    const t = setTimeout(() => void signal('KILL'), opts.killAfterMs ?? 5000);
    t.unref?.();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const wrapped = ['sh', '-c', `echo "${PID_MARK}$$"; exec "$@"`, 'sh', ...cmd];
    return await execInContainer(
      docker,
      containerId,
      wrapped,
      {
        onStdout: (chunk) => {
          let s = chunk;
          if (pid === undefined) {
            head += s;
            const nl = head.indexOf('\n');
            if (nl < 0) return;
            const first = head.slice(0, nl);
            pid = first.startsWith(PID_MARK) ? first.slice(PID_MARK.length).trim() : '';
            s = pid ? head.slice(nl + 1) : head;
            head = '';
            if (!s) return;
          }
          io.onStdout(s);
        },
        onStderr: io.onStderr,
        signal: io.signal,
      },
      opts,
    );
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    if (io.signal?.aborted) onAbort();
  }
}

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano?: number;
}

/**
 * Follows the daemon's container events for one compose project. Reconnects with a short backoff
 * if the stream ends (daemon restart). Returns a stop function.
 */
export function watchProjectEvents(
  docker: Dockerode,
  project: string,
  onEvent: (e: DockerEvent) => void,
  onError?: (err: unknown) => void,
): () => void {
  let stopped = false;
  let current: Readable | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    try {
      const stream = (await docker.getEvents({
        filters: { type: ['container'], label: [`${PROJECT_LABEL}=${project}`] },
      })) as unknown as Readable;
      if (stopped) {
        stream.destroy();
        return;
      }
      current = stream;
      const split = lineSplitter((line) => {
        if (!line.trim()) return;
        try {
          onEvent(JSON.parse(line) as DockerEvent);
        } catch {
          /* partial JSON is completed by the next chunk through lineSplitter */
        }
      });
      stream.on('data', (c: Buffer) => split.write(c));
      const again = () => {
        if (current !== stream) return;
        current = undefined;
        if (!stopped) retryTimer = setTimeout(() => void connect(), 1000);
      };
      stream.once('end', again);
      stream.once('close', again);
      stream.once('error', (e) => {
        onError?.(e);
        again();
      });
    } catch (err) {
      onError?.(err);
      if (!stopped) retryTimer = setTimeout(() => void connect(), 2000);
    }
  };
  void connect();
  return () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    current?.destroy();
    current = undefined;
  };
}
