/**
 * A private single-node KRaft broker on 2xxxx ports, for tests that must stop and restart a broker
 * (the shared default-port stack is never stopped by a test). Same jars and config as the native
 * backend (src/services/stack/native/config.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PORTS, kafkaClusterId, kafkaLog4j2, kafkaServerProperties } from '../../../src/services/stack/native/config';
import { kafkaHealth } from '../../../src/services/stack/native/health';
import { cacheDir } from '../../../src/services/util/paths';

export class ThrowawayKafka {
  private proc?: ChildProcess;
  readonly dir: string;
  readonly bootstrap: string;
  private readonly libs: string;

  constructor(
    readonly port = 29092,
    readonly controllerPort = 29093,
    /** broker properties on top of the native stack's (later keys win) */
    extra: Record<string, string> = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-kafka-'));
    this.bootstrap = `127.0.0.1:${port}`;
    this.libs = path.join(cacheDir(), 'kafka', 'libs');
    if (!fs.existsSync(this.libs)) throw new Error(`Kafka jars are missing in ${this.libs}. Run "npm run stack -- up --services kafka" once to provision them.`);
    const props = kafkaServerProperties({ ...DEFAULT_PORTS, kafka: port, kafkaController: controllerPort }, path.join(this.dir, 'data'));
    fs.writeFileSync(path.join(this.dir, 'server.properties'), props + Object.entries(extra).map(([k, v]) => `\n${k}=${v}`).join('') + '\n');
    fs.writeFileSync(path.join(this.dir, 'log4j2.properties'), kafkaLog4j2());
    const fmt = spawnSync(
      'java',
      ['-cp', `${this.libs}/*`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${kafkaClusterId(crypto.randomBytes(16))}`, '-c', path.join(this.dir, 'server.properties'), '--standalone'],
      { encoding: 'utf8' },
    );
    if (fmt.status !== 0) {
      // older StorageTool without --standalone
      const retry = spawnSync('java', ['-cp', `${this.libs}/*`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${kafkaClusterId(crypto.randomBytes(16))}`, '-c', path.join(this.dir, 'server.properties')], {
        encoding: 'utf8',
      });
      if (retry.status !== 0) throw new Error(`Formatting Kafka storage failed: ${fmt.stderr}\n${retry.stderr}`);
    }
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const log = fs.openSync(path.join(this.dir, 'kafka.log'), 'a');
    this.proc = spawn(
      'java',
      ['-Xmx512m', `-Dlog4j2.configurationFile=${path.join(this.dir, 'log4j2.properties')}`, '-cp', `${this.libs}/*`, 'kafka.Kafka', path.join(this.dir, 'server.properties')],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`Kafka exited (${this.proc.exitCode}); see ${path.join(this.dir, 'kafka.log')}`);
      const h = await kafkaHealth(this.bootstrap, 2000);
      if (h.ok) return;
      await new Promise((r) => setTimeout(r, 500)); // poll interval of a bounded wait for the broker
    }
    throw new Error(`Kafka on ${this.bootstrap} not healthy after ${timeoutMs} ms; see ${path.join(this.dir, 'kafka.log')}`);
  }

  /** Stops the broker (SIGTERM, then SIGKILL after 20 s) and waits for it to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }

  /** Stops and deletes the data. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
