/**
 * Command line for the native stack (scripts, tests, newcomers without Docker):
 *
 *   npm run stack -- provision | up | down | status | logs SERVICE [-f] [--tail N] | restart [SERVICE] | reset
 *   options: --services kafka,spark,airflow (or env DATAPIPELINE_TEST_SERVICES; native only)
 *            --ports kafka=19092,airflow=18085 (or env DATAPIPELINE_PORTS; native only, remembered by the state folder)
 *            --kafka-brokers 1|3, --spark-workers 1-3 (or env DATAPIPELINE_KAFKA_BROKERS / DATAPIPELINE_SPARK_WORKERS;
 *            native only, remembered by the state folder; 3 brokers keep their data apart from 1)
 *            --airflow 2|3 (or env DATAPIPELINE_AIRFLOW_VERSION): Airflow 2.8.1 (default) or the newest 3.x
 *            --backend native|docker|auto (or env DATAPIPELINE_BACKEND; default native; auto = Docker when
 *            the daemon and compose answer, else native — what `npm start` uses)
 *            --project DIR (or env DATAPIPELINE_PROJECT): your own repository (the original stack's layout, an
 *            Astro CLI project, a folder of DAGs) run on the bundled stack with its DAGs, jobs and requirements
 *   env DATAPIPELINE_AIRFLOW_DB: the native Airflow's metadata DB: postgres (default: the stack's own
 *       PostgreSQL, LocalExecutor), sqlite (the fallback: no server, one task at a time) or a URL
 *
 * Installs are cached in $DATAPIPELINE_CACHE (default ~/.cache/datapipeline), pids/logs/data in
 * $DATAPIPELINE_STATE (default <cache>/state). Progress goes to stderr; exit code 1 on failure with
 * what happened, the next step and the failing service's last log lines.
 */
import { DEFAULT_STACK_ADMIN_PASSWORD, setStackAirflowPassword, STACK_ADMIN_USER, stackAirflowPassword } from '../services/stack/airflowPassword';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowMajor, NativePorts, parseAirflowDatabase, parseAirflowMajor, parsePortsSpec, parseScale, parseServiceGroups, ServiceGroup, StackScale } from '../services/stack/native/config';
import { NativeBackend } from '../services/stack/native/nativeBackend';
import { describeProject, detectProject, PROJECT_KIND_LABEL } from '../services/project/detect';
import { dockerStackFor } from '../services/project/whichStack';
import { applyAirflowSettings, parseAirflowSettings } from '../services/project/airflowSettings';
import { AirflowClient } from '../services/airflow/client';
import { sharedDataLine } from '../services/stack/owner';
import { BackendSetting, createBackendFactory } from '../services/stack/select';
import { StackBackend, StackError, StackProgress } from '../services/stack/types';
import { consoleLogger } from '../services/util/logger';
import { cacheDir, extensionRoot, stateDir } from '../services/util/paths';

const USAGE = `usage: npm run stack -- <command> [--services kafka,spark,airflow] [--backend native|docker|auto] [--ports NAME=PORT,...]
                            [--kafka-brokers 1|3] [--spark-workers 1|2|3] [--airflow 2|3] [--project DIR]
commands:
  provision            install Kafka, Spark and Airflow into the cache (quiet when done)
  up                   start the stack; returns when every service is healthy
  down                 stop every service started from the state folder
  status               show each service's state, health, pid and ports
  logs SERVICE [-f] [--tail N]
                       print (and follow) a service's log (kafka, kafka-2, kafka-3, spark-master,
                       spark-worker, spark-worker-2, spark-worker-3, airflow-webserver, airflow-scheduler;
                       Airflow 3: airflow-api-server, airflow-scheduler, airflow-dag-processor, airflow-triggerer)
  restart [SERVICE]    restart one service (or spark/airflow), or the whole stack
  reset [--yes]        delete Kafka data, the Airflow database, its logs and Spark checkpoints
                       (stack stopped; lists what it deletes and asks unless --yes)
  set-password         set the local Airflow admin's password (read from standard input; both backends;
                       applied when Airflow next starts: npm run stack -- restart)
--ports moves native services (names: kafka, kafkaController, sparkMaster, sparkMasterUi, sparkWorkerUi,
airflow); later commands on the same state folder use the ports it last started with. --kafka-brokers 3
runs a 3-broker KRaft cluster (brokers on the Kafka port and the next two pairs: 9092/9093, 9094/9095,
9096/9097) with its own data; --spark-workers adds workers (UIs on 8081, 8082, 8083). --airflow 3 runs the
newest Airflow 3 (api-server, scheduler, dag-processor, triggerer) with its own venv, home and database
(2.8.1's stay as they are). All three are remembered too. --project DIR runs your own repository's DAGs,
jobs, plugins and requirements on the stack (as the extension does for the workspace).`;

interface Args {
  command: string;
  positional: string[];
  services: ServiceGroup[];
  backend: BackendSetting;
  follow: boolean;
  tail?: number;
  ports: Partial<NativePorts>;
  scale: Partial<StackScale>;
  airflow?: AirflowMajor;
  /** reset without asking */
  yes: boolean;
  /** your own project's folder (--project or DATAPIPELINE_PROJECT): the stack runs its DAGs, jobs, plugins and requirements */
  project?: string;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  let services: string | undefined = env.DATAPIPELINE_TEST_SERVICES;
  let backend = env.DATAPIPELINE_BACKEND || 'native';
  const positional: string[] = [];
  let follow = false;
  let yes = false;
  let tail: number | undefined;
  let ports: string | undefined = env.DATAPIPELINE_PORTS;
  let kafkaBrokers: string | undefined = env.DATAPIPELINE_KAFKA_BROKERS || undefined;
  let sparkWorkers: string | undefined = env.DATAPIPELINE_SPARK_WORKERS || undefined;
  let airflowVersion: string | undefined = env.DATAPIPELINE_AIRFLOW_VERSION || undefined;
  let project: string | undefined = env.DATAPIPELINE_PROJECT || undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--services' || a === '-s') services = argv[++i];
    else if (a.startsWith('--services=')) services = a.slice('--services='.length);
    else if (a === '--backend' || a === '-b') backend = argv[++i] ?? '';
    else if (a.startsWith('--backend=')) backend = a.slice('--backend='.length);
    else if (a === '--ports') ports = argv[++i] ?? '';
    else if (a.startsWith('--ports=')) ports = a.slice('--ports='.length);
    else if (a === '--kafka-brokers') kafkaBrokers = argv[++i] ?? '';
    else if (a.startsWith('--kafka-brokers=')) kafkaBrokers = a.slice('--kafka-brokers='.length);
    else if (a === '--spark-workers') sparkWorkers = argv[++i] ?? '';
    else if (a.startsWith('--spark-workers=')) sparkWorkers = a.slice('--spark-workers='.length);
    else if (a === '--airflow') airflowVersion = argv[++i] ?? '';
    else if (a.startsWith('--airflow=')) airflowVersion = a.slice('--airflow='.length);
    else if (a === '--project' || a === '-p') project = argv[++i] ?? '';
    else if (a.startsWith('--project=')) project = a.slice('--project='.length);
    else if (a === '-f' || a === '--follow') follow = true;
    else if (a === '-y' || a === '--yes') yes = true;
    else if (a === '--tail' || a === '-n') tail = Number(argv[++i]);
    else if (a === '-h' || a === '--help') positional.unshift('help');
    else if (a.startsWith('-')) throw new UsageError(`Unknown option ${a}.`);
    else positional.push(a);
  }
  const command = positional.shift() ?? 'help';
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UsageError('--tail needs a number of lines.');
  if (!['native', 'docker', 'auto'].includes(backend)) throw new UsageError(`Unknown backend "${backend}": use native, docker or auto.`);
  let portChanges: Partial<NativePorts>;
  let scale: Partial<StackScale>;
  let airflow: AirflowMajor | undefined;
  try {
    portChanges = parsePortsSpec(ports);
    scale = parseScale({ kafkaBrokers, sparkWorkers });
    airflow = parseAirflowMajor(airflowVersion);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (project !== undefined) {
    if (!project) throw new UsageError('--project needs a folder.');
    project = path.resolve(project);
    if (!fs.existsSync(project) || !fs.statSync(project).isDirectory()) throw new UsageError(`--project ${project}: no such folder.`);
  }
  return { command, positional, services: parseServiceGroups(services), backend: backend as BackendSetting, follow, tail, ports: portChanges, scale, airflow, yes, project };
}

class UsageError extends Error {}

/** A yes/no question on the terminal (default no). */
function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    process.stderr.write(question);
    process.stdin.setEncoding('utf8');
    process.stdin.once('data', (d) => {
      process.stdin.pause();
      resolve(/^\s*y(es)?\s*$/i.test(String(d)));
    });
  });
}

function progressPrinter(): (p: StackProgress) => void {
  let last = '';
  return (p) => {
    const line = `[${String(p.percent).padStart(3)}%] ${p.step}`;
    if (line === last) return;
    last = line;
    process.stderr.write(line + '\n');
  };
}

async function printStatus(backend: StackBackend): Promise<void> {
  const rows = (await backend.status()).map((s) => [
    s.id,
    s.state === 'exited' ? `exited (${s.exitCode})` : s.state,
    s.health,
    s.pid ? String(s.pid) : '-',
    s.ports.map((p) => `${p.port}`).join(',') || '-',
    s.detail ?? '',
  ]);
  const all = [['service', 'state', 'health', 'pid', 'ports', 'detail'], ...rows];
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '));
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv, env);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'set-password') {
    // the stack's secret, not the backend's: nothing to start or probe
    if (process.stdin.isTTY) process.stderr.write('New password for the local Airflow admin (one line): ');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
    try {
      setStackAirflowPassword(stateDir(env), password);
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write('The local Airflow admin password is set; it applies when Airflow next starts (npm run stack -- restart).\n');
    return 0;
  }
  const stackDir = path.join(extensionRoot(__dirname), 'stack');
  // your own project: found as the extension finds it, run on the bundled stack with its parts (both backends)
  const project = args.project ? detectProject([args.project], stackDir) : undefined;
  if (project) {
    process.stderr.write(`Project ${path.basename(project.root)}: ${PROJECT_KIND_LABEL[project.kind]}\n`);
    for (const part of describeProject(project)) if (part.value) process.stderr.write(`  ${part.label}: ${part.value}\n`);
  }
  const dockerStack = project ? dockerStackFor(project, 'bundled', stackDir) : { stackDir };
  const createNative = () =>
    new NativeBackend({
      stackDir,
      project,
      cacheDir: cacheDir(env),
      stateDir: stateDir(env),
      groups: args.services,
      ports: Object.keys(args.ports).length ? args.ports : undefined,
      scale: args.scale,
      airflow: args.airflow,
      env,
      airflowDatabase: parseAirflowDatabase(env.DATAPIPELINE_AIRFLOW_DB),
    });
  const backend: StackBackend = await createBackendFactory({
    dockerStackDir: () => dockerStack.stackDir,
    dockerProject: () => dockerStack.project,
    composeCommand: () => (env.DATAPIPELINE_COMPOSE_COMMAND || 'docker compose').split(' ').filter(Boolean),
    scale: () => (Object.keys(args.scale).length ? args.scale : undefined),
    airflow: () => args.airflow,
    createNative: async () => createNative(),
    log: consoleLogger('stack', env),
    env,
    onWarning: (m) => process.stderr.write(`Warning: ${m}\n`),
  })(args.backend);
  const native = backend instanceof NativeBackend ? backend : undefined;
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const opts = { signal: ac.signal, onProgress: progressPrinter() };
  try {
    switch (args.command) {
      case 'help':
        console.log(USAGE);
        return 0;
      case 'provision':
        await backend.provision(opts);
        return 0;
      case 'up': {
        const t0 = Date.now();
        await backend.start(opts);
        // started (or adopted) from the command line: test runs must not stop it at their end
        if (native) fs.rmSync(path.join(native.layout.runDir, 'harness-started.json'), { force: true });
        process.stderr.write(`Stack (${backend.kind}) healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s.\n`);
        if (project?.airflowSettings && args.services.includes('airflow')) {
          // the project's connections, variables and pools, as the extension applies them when Airflow comes up
          const client = new AirflowClient({ baseUrl: backend.endpoints().airflowUrl, username: STACK_ADMIN_USER, password: stackAirflowPassword(stateDir(env)) });
          const done = await applyAirflowSettings(client, parseAirflowSettings(fs.readFileSync(project.airflowSettings, 'utf8'), project.airflowSettings));
          process.stderr.write(`Applied ${project.airflowSettings}: ${[...done.created.map((x) => `${x} (new)`), ...done.updated].join(', ') || 'nothing in it'}\n`);
        }
        await printStatus(backend);
        const e = backend.endpoints();
        const pw = stackAirflowPassword(stateDir(env)) === DEFAULT_STACK_ADMIN_PASSWORD ? 'admin/admin' : 'user admin, the password you set';
        console.log(`\nKafka ${e.kafkaBootstrap}   Spark ${e.sparkMasterUrl} (UI ${e.sparkUiUrl})   Airflow ${e.airflowUrl} (${pw})`);
        return 0;
      }
      case 'down':
        await backend.stop(opts);
        return 0;
      case 'status':
        await printStatus(backend);
        return 0;
      case 'logs': {
        const service = args.positional[0];
        if (!service) throw new UsageError('logs needs a service name.');
        await backend.logs(service, (l) => console.log(l), { follow: args.follow, tail: args.tail, signal: ac.signal });
        return 0;
      }
      case 'restart':
        await backend.restart(args.positional[0], opts);
        await printStatus(backend);
        return 0;
      case 'reset': {
        const shared = sharedDataLine(stateDir(env), backend.kind, backend.stackDir);
        const targets = [...backend.describeReset(), ...(shared ? [shared] : [])];
        if (!args.yes) {
          process.stderr.write(`Reset stops the stack and deletes:\n${targets.map((t) => `  ${t}`).join('\n') || '  nothing (no data yet)'}\n`);
          if (!process.stdin.isTTY) throw new UsageError('reset asks before deleting: run it in a terminal, or add --yes.');
          if (!(await confirm('Delete these? [y/N] '))) {
            process.stderr.write('Nothing was deleted.\n');
            return 1;
          }
        }
        await backend.reset(opts);
        return 0;
      }
      default:
        throw new UsageError(`Unknown command "${args.command}".`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    if ((e as Error).name === 'AbortError') {
      process.stderr.write('Cancelled.\n');
      return 130;
    }
    process.stderr.write(formatError(e) + '\n');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    native?.dispose();
  }
}

/** What happened, the next step, then the failing service's last log lines. */
export function formatError(e: unknown): string {
  if (e instanceof StackError) {
    const out = [`Error: ${e.message}`];
    if (e.nextStep) out.push(`Next step: ${e.nextStep}`);
    if (e.logTail.length) out.push(`Last log lines${e.service ? ` of ${e.service}` : ''}:`, ...e.logTail.map((l) => `  ${l}`));
    return out.join('\n');
  }
  return `Error: ${(e as Error).message ?? String(e)}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(formatError(e) + '\n');
      process.exit(1);
    },
  );
}
