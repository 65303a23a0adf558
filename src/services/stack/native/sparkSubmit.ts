/**
 * Runs the native stack's spark-submit as a child (argv, no shell) in its own process group:
 * streams its output, notes the application id it announces, and on abort ends the driver and
 * every process it started (python workers, the py4j JVM).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { parseAppId } from '../../spark/driverOutput';
import { buildSparkSubmitArgv } from '../../spark/submitPlanner';
import { which } from '../../util/which';
import { HOST } from '../catalog';
import type { SparkSubmitRequest } from '../types';
import type { NativeLayout } from './layout';
import { localConnectorJars } from './provision';
import { linkOpenlineageJar, sparkLineageConf, venvPyspark } from './openlineage';
import { isAlive, processTree } from '../../util/procfs';
import { StackError, type SparkSubmitIO, type SparkSubmitResult } from '../types';
import { abortError } from './processes';

/** SIGTERM: the group and the tree; SIGKILL later: only what is still alive in the tree (the group id may be reused by then). */
function signalTree(pid: number, sig: 'SIGTERM' | 'SIGKILL'): void {
  const pids = processTree(pid, pid);
  if (sig === 'SIGTERM') {
    try {
      process.kill(-pid, sig);
    } catch {
      /* group gone */
    }
  }
  for (const p of pids) {
    try {
      if (sig !== 'SIGKILL' || isAlive(p)) process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

export function runSparkSubmit(submit: string, argv: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }, io: SparkSubmitIO): Promise<SparkSubmitResult> {
  return new Promise<SparkSubmitResult>((resolve, reject) => {
    if (io.signal?.aborted) return reject(abortError());
    const child = spawn(submit, argv, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let appId: string | undefined;
    let seen = '';
    const note = (s: string) => {
      if (appId) return;
      seen = (seen + s).slice(-4096);
      appId = parseAppId(seen);
    };
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      note(s);
      io.onStdout(s);
    });
    child.stderr!.on('data', (d: Buffer) => {
      const s = d.toString();
      note(s);
      io.onStderr(s);
    });
    const onAbort = () => {
      if (!child.pid) return;
      signalTree(child.pid, 'SIGTERM');
      const pid = child.pid;
      setTimeout(() => signalTree(pid, 'SIGKILL'), 5000).unref();
    };
    io.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      io.signal?.removeEventListener('abort', onAbort);
      reject(new StackError(`Could not run spark-submit (${submit}): ${err.message}`, { nextStep: 'Provision the native stack again: npm run stack -- provision.' }));
    });
    child.on('close', (code, sig) => {
      io.signal?.removeEventListener('abort', onAbort);
      if (io.signal?.aborted) return reject(abortError());
      resolve({ exitCode: code ?? (sig ? 130 : 1), appId });
    });
  });
}

/** The spark-submit argv (without the program) of a request against the native master. */
export function nativeSparkSubmitArgv(req: SparkSubmitRequest, masterUrl: string, l: NativeLayout, lineageUrl?: string): string[] {
  const local = isLocalMaster(req);
  // on the stack's own master, the job reports its datasets like the DAGs' jobs (the listener among the Spark venv's jars)
  const lineage = local && lineageUrl && linkOpenlineageJar(l, venvPyspark(l.sparkVenv)) ? sparkLineageConf(lineageUrl) : {};
  return buildSparkSubmitArgv(req, {
    masterUrl,
    kafkaJars: localConnectorJars(l),
    defaultConf: {
      ...lineage,
      ...(local ? { 'spark.driver.host': HOST, 'spark.driver.bindAddress': HOST } : {}),
      'spark.pyspark.python': path.join(l.sparkVenv, 'bin', 'python'),
      'spark.ui.showConsoleProgress': 'false',
    },
  });
}

/** Runs the native stack's spark-submit for a request (its Spark home and venv, Java checked first). */
export function submitNative(req: SparkSubmitRequest, io: SparkSubmitIO, o: { sparkHome: string; env: NodeJS.ProcessEnv; argv: string[]; sparkVenv: string }): Promise<SparkSubmitResult> {
  const submit = path.join(o.sparkHome, 'bin', 'spark-submit');
  const env = o.env;
  env.SPARK_HOME = o.sparkHome;
  env.PYSPARK_PYTHON = path.join(o.sparkVenv, 'bin', 'python');
  if (!isLocalMaster(req)) {
    // a cluster elsewhere reaches the driver by this machine's name, not 127.0.0.1
    delete env.SPARK_LOCAL_IP;
    delete env.SPARK_LOCAL_HOSTNAME;
    delete env.SPARK_PUBLIC_DNS;
  }
  if (!env.JAVA_HOME && !which('java', env)) {
    return Promise.reject(new StackError('Java was not found: spark-submit needs Java 17.', { nextStep: 'Install a Java 17 JDK and put it on PATH or set JAVA_HOME.' }));
  }
  return runSparkSubmit(submit, o.argv, { env, cwd: path.dirname(req.file) }, io);
}

/** The stack's own master or another on this machine: executors reach the driver on 127.0.0.1. */
function isLocalMaster(req: SparkSubmitRequest): boolean {
  return !req.master || /^spark:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(req.master);
}

