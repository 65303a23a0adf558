/**
 * Integration test harness (mocha `--require test/integration/harness.ts`).
 *
 *   const { endpoints, backend, layout } = await ensureNativeStack(['kafka', 'spark']);
 *
 * starts the missing service groups of the shared default-port native stack once per run, or
 * reuses what is already running and healthy (e.g. started with `npm run stack -- up`). At the end
 * of the run the root hook stops what a test run started, unless another test run still uses it
 * (leases in <state>/run/leases) or DP_KEEP_STACK=1. A stack started with the CLI is never stopped.
 *
 * Installs come from $DATAPIPELINE_CACHE, state from $DATAPIPELINE_STATE (see src/services/util/paths.ts);
 * DP_STACK_PORT_OFFSET shifts every port (a private stack; use it with another DATAPIPELINE_STATE).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_GROUPS, DEFAULT_PORTS, NativeLayout, NativePorts, NativeServiceId, ServiceGroup, servicesFor } from '../../src/services/stack/native/config';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { isAlive, readStat } from '../../src/services/util/procfs';
import { StackEndpoints, StackError } from '../../src/services/stack/types';
import { cacheDir, stateDir } from '../../src/services/util/paths';

export interface NativeStack {
  endpoints: StackEndpoints;
  /** a NativeBackend (a StackBackend) limited to the groups asked for */
  backend: NativeBackend;
  layout: NativeLayout;
}

export const repoRoot = path.resolve(__dirname, '..', '..');
export const stackDir = path.join(repoRoot, 'stack');

/** Groups a harness (any test run) started; the last run using the stack stops them. */
const MARKER = 'harness-started.json';

let queue: Promise<unknown> = Promise.resolve();
let leaseFile: string | undefined;
/** ensureNativeStack calls not yet matched by releaseNativeStack in this process */
let users = 0;
/** mocha was started with `--require test/integration/harness.ts` (its root hook will run) */
const rootHookLoaded = process.argv.some((a) => /integration[/\\]harness(\.ts)?$/.test(a));

function log(msg: string): void {
  process.stderr.write(`[native stack] ${msg}\n`);
}

/**
 * Ports of the shared stack: the compose defaults, or all shifted by DP_STACK_PORT_OFFSET (a private
 * stack for one developer's runs: set DATAPIPELINE_STATE to another folder too).
 */
export function sharedPorts(): NativePorts {
  const offset = Number(process.env.DP_STACK_PORT_OFFSET || 0);
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`DP_STACK_PORT_OFFSET must be a whole number, not "${process.env.DP_STACK_PORT_OFFSET}".`);
  const ports = { ...DEFAULT_PORTS };
  for (const k of Object.keys(ports) as Array<keyof NativePorts>) ports[k] += offset;
  return ports;
}

/** A backend for the shared stack (state and cache from the environment). */
export function sharedBackend(groups: ServiceGroup[] = ALL_GROUPS): NativeBackend {
  return new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: stateDir(), groups, ports: sharedPorts() });
}

export function ensureNativeStack(groups: Array<'kafka' | 'spark' | 'airflow'>): Promise<NativeStack> {
  users++;
  // one caller at a time inside this process; other processes are serialised by the state lock
  const next = queue.then(() => ensure(groups));
  queue = next.catch(() => undefined);
  return next;
}

async function ensure(groups: ServiceGroup[]): Promise<NativeStack> {
  const wanted = ALL_GROUPS.filter((g) => groups.includes(g));
  const backend = sharedBackend(wanted);
  takeLease(backend.layout);
  const missing = await missingGroups(backend, wanted);
  if (missing.length) {
    log(`starting ${missing.join(', ')} (state ${backend.layout.stateDir}) ...`);
    const t0 = Date.now();
    const starter = sharedBackend(missing);
    try {
      await starter.start({ onProgress: (p) => log(`[${String(p.percent).padStart(3)}%] ${p.step}`) });
    } catch (e) {
      if (e instanceof StackError) {
        const tail = e.logTail.length ? `\nLast log lines of ${e.service}:\n${e.logTail.join('\n')}` : '';
        throw new Error(`The native stack could not start: ${e.message}\nNext step: ${e.nextStep ?? '-'}${tail}`);
      }
      throw e;
    } finally {
      starter.dispose();
    }
    addToMarker(backend.layout, missing);
    log(`${missing.join(', ')} healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  // started by someone else just now: wait until it is healthy too
  await waitHealthy(backend, 180_000);
  return { endpoints: backend.endpoints(), backend, layout: backend.layout };
}

async function missingGroups(backend: NativeBackend, groups: ServiceGroup[]): Promise<ServiceGroup[]> {
  const status = await backend.status();
  return groups.filter((g) =>
    servicesFor([g]).some((id) => {
      const s = status.find((x) => x.id === id);
      return !s || s.state !== 'running';
    }),
  );
}

async function waitHealthy(backend: NativeBackend, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await backend.status();
    const bad = status.filter((s) => s.health !== 'healthy');
    if (bad.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `The native stack is not healthy: ${bad.map((s) => `${s.id} ${s.state}/${s.health}${s.detail ? ` (${s.detail})` : ''}`).join('; ')}. ` +
          'Look at `npm run stack -- status` and `npm run stack -- logs SERVICE`; `npm run stack -- restart SERVICE` may help.',
      );
    }
    await new Promise((r) => setTimeout(r, 1000)); // poll interval of a bounded wait for health
  }
}

function leasesDir(l: NativeLayout): string {
  return path.join(l.runDir, 'leases');
}

function takeLease(l: NativeLayout): void {
  if (leaseFile) return;
  fs.mkdirSync(leasesDir(l), { recursive: true });
  leaseFile = path.join(leasesDir(l), `${process.pid}.json`);
  fs.writeFileSync(leaseFile, JSON.stringify({ pid: process.pid, startTime: readStat(process.pid)?.startTime ?? 0 }));
}

function otherLiveLeases(l: NativeLayout): number[] {
  let files: string[] = [];
  try {
    files = fs.readdirSync(leasesDir(l));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const f of files) {
    const file = path.join(leasesDir(l), f);
    try {
      const lease = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; startTime: number };
      if (lease.pid === process.pid) continue;
      if (isAlive(lease.pid, lease.startTime || undefined)) live.push(lease.pid);
      else fs.rmSync(file, { force: true });
    } catch {
      fs.rmSync(file, { force: true });
    }
  }
  return live;
}

function readMarker(l: NativeLayout): ServiceGroup[] {
  try {
    return JSON.parse(fs.readFileSync(path.join(l.runDir, MARKER), 'utf8')) as ServiceGroup[];
  } catch {
    return [];
  }
}

function addToMarker(l: NativeLayout, groups: ServiceGroup[]): void {
  const all = ALL_GROUPS.filter((g) => groups.includes(g) || readMarker(l).includes(g));
  fs.mkdirSync(l.runDir, { recursive: true });
  fs.writeFileSync(path.join(l.runDir, MARKER), JSON.stringify(all));
}

/**
 * A suite is done with the stack. When no other suite of this process still holds it (every
 * ensureNativeStack matched by a release) this ends the run's use: drop the lease and, when no
 * other test run uses the stack, stop the groups test runs started (DP_KEEP_STACK=1 keeps them).
 * The root hook (mocha --require test/integration/harness.ts) does this at the end in any case.
 */
export async function releaseNativeStack(opts: { final?: boolean } = {}): Promise<void> {
  users = opts.final ? 0 : Math.max(0, users - 1);
  // loaded with --require: the root hook releases once at the end, so later suites reuse the stack
  if (!opts.final && rootHookLoaded) return;
  if (users > 0 || !leaseFile) return;
  const backend = sharedBackend();
  const l = backend.layout;
  fs.rmSync(leaseFile, { force: true });
  leaseFile = undefined;
  try {
    const started = readMarker(l);
    if (started.length === 0) return;
    if (process.env.DP_KEEP_STACK === '1') {
      log(`DP_KEEP_STACK=1: leaving ${started.join(', ')} running (npm run stack -- down stops it)`);
      return;
    }
    const others = otherLiveLeases(l);
    if (others.length) {
      log(`leaving ${started.join(', ')} running: still used by test run(s) ${others.join(', ')}`);
      return;
    }
    const services: NativeServiceId[] = servicesFor(started);
    log(`stopping ${started.join(', ')} (started by a test run) ...`);
    await backend.stopOnly(services);
    fs.rmSync(path.join(l.runDir, MARKER), { force: true });
  } finally {
    backend.dispose();
  }
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    await releaseNativeStack({ final: true });
  },
};
