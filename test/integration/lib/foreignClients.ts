/**
 * Kafka clients nobody here wrote, for tests whose data must come from what users run: Kafka's
 * own Java tools (console producer and consumer, the consumer-groups tool) from the native stack's
 * cached Kafka jars, a small Java transactional producer compiled against the same kafka-clients,
 * and Python's kafka-python (what the bundled DAGs use) and confluent-kafka (librdkafka) from the
 * venv scripts/setup/test-clients.sh makes. Processes get argv arrays, never a shell.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../../../src/services/util/paths';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const kafkaLibs = () => path.join(cacheDir(), 'kafka', 'libs');

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

function must(r: RunOutput, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

/** Runs a main class of Kafka's own jars (org.apache.kafka.tools.*) on the test JVM. */
export async function kafkaTool(mainClass: string, args: string[], input?: string, timeoutMs?: number): Promise<string> {
  return must(await run('java', ['-cp', `${kafkaLibs()}/*`, mainClass, ...args], input, timeoutMs), mainClass);
}

export interface ConsoleRecord {
  key: string;
  value: string;
  headers?: Array<[string, string]>;
}

/** Kafka's console producer: one line per record, keys and headers parsed, the codec chosen. */
export async function consoleProduce(bootstrap: string, topic: string, records: ConsoleRecord[], codec: string): Promise<void> {
  const lines = records.map((r) => `${(r.headers ?? []).map(([k, v]) => `${k}:${v}`).join(',') || 'NULL'}\t${r.key}\t${r.value}`);
  await kafkaTool(
    'org.apache.kafka.tools.ConsoleProducer',
    [
      '--bootstrap-server', bootstrap,
      '--topic', topic,
      '--compression-codec', codec,
      '--property', 'parse.key=true',
      '--property', 'parse.headers=true',
      '--property', 'null.marker=NULL',
    ],
    lines.join('\n') + '\n',
  );
}

/** Kafka's console consumer from the beginning: the values of the first `max` records. */
export async function consoleConsume(bootstrap: string, topic: string, max: number): Promise<string[]> {
  const out = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', bootstrap,
    '--topic', topic,
    '--from-beginning',
    '--max-messages', String(max),
    '--timeout-ms', '30000',
  ]);
  return out.split('\n').filter(Boolean);
}

/**
 * A long-running Kafka console producer (the Java client with its defaults: acks=all, idempotence on):
 * write one line per record to its stdin, end stdin to finish; it exits once everything is sent.
 */
export function startConsoleProducer(bootstrap: string, topic: string, extra: string[] = []): ChildProcess {
  return spawn('java', ['-cp', `${kafkaLibs()}/*`, 'org.apache.kafka.tools.ConsoleProducer', '--bootstrap-server', bootstrap, '--topic', topic, ...extra], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** A long-running Java console consumer in a group (stop it with kill()). */
export function startConsoleConsumer(bootstrap: string, topic: string, group: string, extra: string[] = []): ChildProcess {
  return spawn('java', ['-cp', `${kafkaLibs()}/*`, 'org.apache.kafka.tools.consumer.ConsoleConsumer', '--bootstrap-server', bootstrap, '--topic', topic, '--group', group, '--from-beginning', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface GroupToolRow {
  topic: string;
  partition: number;
  current: number | undefined;
  logEnd: number;
  lag: number | undefined;
}

/** Kafka's consumer-groups tool: --describe (offsets and lag) and --state. */
export async function describeGroupWithKafkaTool(bootstrap: string, group: string): Promise<{ rows: GroupToolRow[]; state: string; members: number }> {
  const tool = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';
  const offsets = await kafkaTool(tool, ['--bootstrap-server', bootstrap, '--describe', '--group', group]);
  const rows: GroupToolRow[] = [];
  for (const line of offsets.split('\n')) {
    const c = line.trim().split(/\s+/);
    if (c[0] !== group || !/^\d+$/.test(c[2] ?? '')) continue;
    const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
    rows.push({ topic: c[1], partition: Number(c[2]), current: num(c[3]), logEnd: Number(c[4]), lag: num(c[5]) });
  }
  const state = await kafkaTool(tool, ['--bootstrap-server', bootstrap, '--describe', '--group', group, '--state']);
  const line = state.split('\n').find((l) => l.trim().startsWith(group));
  const cols = line?.trim().split(/\s+/) ?? [];
  return { rows, state: cols[cols.length - 2] ?? '', members: Number(cols[cols.length - 1] ?? 0) };
}

let txnClass: string | undefined;
/** test/fixtures/java/TxnProducer.java compiled once against the cached kafka-clients jar. */
function txnProducerClasspath(): string {
  if (txnClass) return txnClass;
  const src = path.join(repoRoot, 'test', 'fixtures', 'java', 'TxnProducer.java');
  const out = path.join(cacheDir(), 'test-clients', 'java');
  const clients = fs.readdirSync(kafkaLibs()).find((f) => /^kafka-clients-.*\.jar$/.test(f));
  if (!clients) throw new Error(`No kafka-clients jar in ${kafkaLibs()}: provision the native stack first (npm run stack -- provision).`);
  const cls = path.join(out, 'TxnProducer.class');
  if (!fs.existsSync(cls) || fs.statSync(cls).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(out, { recursive: true });
    const r = spawnSync('javac', ['-d', out, '-cp', path.join(kafkaLibs(), clients), src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`javac TxnProducer.java failed:\n${r.stderr}`);
  }
  txnClass = `${out}:${kafkaLibs()}/*`;
  return txnClass;
}

/** Transactions with Kafka's Java client: each spec "commit:a,b" or "abort:c" is one transaction on partition 0. */
export async function javaTransactions(bootstrap: string, topic: string, codec: string, specs: string[]): Promise<void> {
  must(await run('java', ['-cp', txnProducerClasspath(), 'TxnProducer', bootstrap, topic, codec, ...specs]), 'TxnProducer');
}

/** The venv with kafka-python and confluent-kafka (scripts/setup/test-clients.sh; idempotent). */
export function testClientsPython(): string {
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'setup', 'test-clients.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const py = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !fs.existsSync(py)) throw new Error('scripts/setup/test-clients.sh failed; run it by hand to see why.');
  return py;
}

/** Runs a Python producer script (from test/fixtures/python) with the test-clients venv. */
export async function pythonProduce(script: 'kafka_python_producer.py' | 'confluent_producer.py', args: string[]): Promise<string> {
  const py = testClientsPython();
  return must(await run(py, [path.join(repoRoot, 'test', 'fixtures', 'python', script), ...args]), script);
}
