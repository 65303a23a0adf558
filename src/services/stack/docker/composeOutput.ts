/** Reading compose's and the daemon's output: the faults as one StackError, pull failures, build steps, progress lines. */
import { DockerUnavailableError } from '../../docker/client';
import { ComposeNotFoundError } from '../../docker/compose';
import { StackError } from '../types';
import { errorMessage } from '../../util/errors';

/** Turns the daemon/CLI faults into one StackError with the next step. */
export function toStackError(err: unknown): StackError {
  if (err instanceof StackError) return err;
  if (err instanceof DockerUnavailableError) return new StackError(err.message, { nextStep: err.nextStep, cause: err });
  if (err instanceof ComposeNotFoundError) return new StackError(err.message, { nextStep: err.nextStep, cause: err });
  return new StackError(errorMessage(err), { cause: err });
}

/** Lines of compose output that say an image could not be pulled, and the image when named. */
export function findPullFailure(output: string): { image?: string; line: string } | undefined {
  const lines = output.split(/\r?\n/);
  const re =
    /(pull access denied|manifest unknown|manifest for .* not found|repository does not exist|no such host|Temporary failure in name resolution|failed to resolve reference|TLS handshake timeout|i\/o timeout|toomanyrequests|Error response from daemon: Get "https?:\/\/|error pulling image|not found: manifest unknown)/i;
  for (const line of lines) {
    if (!re.test(line)) continue;
    const m = /(?:for|image|repository|Pulling)\s+([\w./-]+(?::[\w.-]+)?)/i.exec(line);
    return { image: m?.[1], line: line.trim() };
  }
  return undefined;
}

/** "Container for service web is unhealthy" (v1) / "container dp-web-1 is unhealthy" (v2) → the service. */
export function findUnhealthyDependency(output: string, services: string[]): string | undefined {
  for (const line of output.split(/\r?\n/)) {
    if (!/unhealthy|didn't complete successfully|exited with code/i.test(line)) continue;
    const named = (/service\s+"?([\w.-]+)"?/i.exec(line) ?? /ERROR: for\s+([\w.-]+)\s+Container/.exec(line))?.[1];
    if (named && services.includes(named)) return named;
    const byContainer = services.find((s) => new RegExp(`[-_]${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[-_]\\d+`).test(line));
    if (byContainer) return byContainer;
  }
  return undefined;
}

/**
 * A progress step from a line of `compose up` output, or undefined for noise: v1 "Creating
 * dp_web_1 ... done", v2 " Container dp-web-1  Started", image pulls and builds.
 */
export function composeProgressStep(line: string): string | undefined {
  const v2 = /^\s*Container\s+(\S+)\s+(Creating|Created|Recreate|Recreated|Starting|Started|Waiting|Healthy|Exited)\s*$/.exec(line);
  if (v2) return `${v2[2]} ${v2[1]}`;
  const v1 = /^(Creating|Starting|Recreating)\s+(\S+)\s+\.\.\./.exec(line);
  if (v1) return `${v1[1]} ${v1[2]}`;
  const image = /^\s*(?:\S+\s+)?(Pulling|Pulled|Building|Built)\b(.*)$/.exec(line);
  if (image) return `${image[1]}${image[2]}`.trim();
  return undefined;
}

/**
 * A step of an image build from a line of build output: the classic builder's "Step 5/17 : RUN …"
 * and BuildKit's "#8 [java 2/3] RUN …" (plain) or " => [airflow java 2/3] RUN …" (tty).
 */
export function buildStep(line: string): { step: number; total: number; instruction: string; stage?: string } | undefined {
  const classic = /^\s*Step (\d+)\/(\d+) : (.*)$/.exec(line);
  if (classic) return { step: Number(classic[1]), total: Number(classic[2]), instruction: classic[3].trim() };
  const kit = /^\s*(?:#\d+|=>)\s+\[(?:([\w.-]+)\s+)?(?:([\w.-]+)\s+)?(\d+)\/(\d+)\]\s+(.*?)(?:\s+\d+(?:\.\d+)?s)?$/.exec(line);
  if (kit) return { step: Number(kit[3]), total: Number(kit[4]), instruction: kit[5].trim(), stage: kit[2] ?? kit[1] };
  return undefined;
}

/** An instruction as a progress line: the keyword and the start of its arguments. */
export function shortInstruction(instruction: string, max = 60): string {
  const one = instruction.replace(/\s*\\\s*/g, ' ').replace(/\s+/g, ' ').replace(/^RUN set -eux; /, 'RUN ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** One clear error from a failed compose command: an image that cannot be pulled, an unhealthy dependency, or the CLI's last lines. */
export function composeFailure(what: string, r: { code: number; stdout: string; stderr: string }, serviceNames: string[]): StackError {
  const output = `${r.stdout}\n${r.stderr}`;
  const tail = output.split(/\r?\n/).filter((l) => l.trim()).slice(-15);
  const pull = findPullFailure(output);
  if (pull) {
    return new StackError(`An image could not be pulled${pull.image ? ` (${pull.image})` : ''}: ${pull.line}`, {
      logTail: tail,
      nextStep: 'Check your network connection and registry access (docker login), or build/load the image locally, then start again.',
    });
  }
  const service = findUnhealthyDependency(output, serviceNames);
  if (service) {
    return new StackError(`compose ${what} failed: ${tail.filter((l) => /unhealthy|exited|complete/i.test(l)).slice(-1)[0] ?? tail.slice(-1)[0]}`, {
      service,
      logTail: tail,
      nextStep: `Look at the logs of ${service} (Show Logs), fix it, then start again.`,
    });
  }
  return new StackError(`compose ${what} failed (exit code ${r.code}): ${tail.slice(-1)[0] ?? 'no output'}`, {
    logTail: tail,
    nextStep: 'See the DataPipeline log for the full compose output.',
  });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StackError('The operation was cancelled.');
}

/** The daemon does not answer: "not installed" when there is no docker command either, else the fault's own message. */
export function pingError(err: unknown, dockerOnPath: boolean): StackError {
  if (err instanceof DockerUnavailableError && err.reason === 'daemon-down' && !dockerOnPath) {
    return new StackError('Docker is not installed (no docker command on PATH, and no daemon answers).', {
      nextStep: 'Install Docker Engine or Docker Desktop, or set datapipeline.stack.backend to "native" to run the stack as local processes.',
      cause: err,
    });
  }
  return toStackError(err);
}
