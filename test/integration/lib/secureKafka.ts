/**
 * A real Apache Kafka broker (KRaft, the native stack's cached jars) with secured listeners, made by
 * the test: a CA and certificates from openssl, a PKCS#12 key store and trust store (keytool), SCRAM
 * users created by Kafka's own StorageTool. Every listener is on 127.0.0.1:
 *   internal      PLAINTEXT       (the broker's own, and the test's admin)
 *   sasl_ssl      SASL_SSL        SCRAM-SHA-512 and PLAIN, certificate for 127.0.0.1/localhost
 *   mtls          SSL             client certificate required (signed by the test CA)
 *   badhost       SSL             a certificate for wrong-host.example only (hostname mismatch)
 *   oauth         SASL_PLAINTEXT  OAUTHBEARER, Kafka's unsecured-JWT validator
 * Processes get argv arrays, never a shell.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir } from '../../../src/services/util/paths';
import { until } from '../../lib/until';

export interface SecureBroker {
  dir: string;
  ports: { internal: number; controller: number; saslSsl: number; mtls: number; badHost: number; oauth: number };
  /** PEM files */
  caFile: string;
  otherCaFile: string;
  clientCert: string;
  clientKey: string;
  /** a client certificate signed by a CA the broker does not trust */
  strangerCert: string;
  strangerKey: string;
  users: { scram: { name: string; password: string } };
  /** a properties file for Kafka's console tools on the SASL_SSL listener */
  clientProperties: string;
  stop(): Promise<void>;
  log(): string;
}

function sh(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** CA, certificates and stores in `dir` (openssl + keytool). */
function makeCertificates(dir: string): void {
  const ext = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const caSubj = (cn: string) => ['-subj', `/O=DataPipeline tests/CN=${cn}`];
  // the trusted CA and a stranger's CA
  for (const [ca, cn] of [['ca', 'DataPipeline Test CA'], ['other-ca', 'Some Other CA']]) {
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '3', ...caSubj(cn)], dir);
  }
  const leaf = (name: string, cn: string, san: string | undefined, ca: string, usage: string) => {
    sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=DataPipeline tests/CN=${cn}`], dir);
    ext(`${name}.ext`, `basicConstraints=CA:FALSE\nextendedKeyUsage=${usage}\n${san ? `subjectAltName=${san}\n` : ''}`);
    sh('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '3', '-extfile', `${name}.ext`], dir);
  };
  leaf('broker', 'kafka-broker', 'IP:127.0.0.1,DNS:localhost', 'ca', 'serverAuth');
  leaf('badhost', 'wrong-host.example', 'DNS:wrong-host.example', 'ca', 'serverAuth');
  leaf('client', 'datapipeline-client', undefined, 'ca', 'clientAuth');
  leaf('stranger', 'stranger-client', undefined, 'other-ca', 'clientAuth');
  for (const name of ['broker', 'badhost', 'client']) {
    sh('openssl', ['pkcs12', '-export', '-in', `${name}.pem`, '-inkey', `${name}.key`, '-certfile', 'ca.pem', '-name', name, '-out', `${name}.p12`, '-passout', 'pass:changeit'], dir);
  }
  sh('keytool', ['-importcert', '-noprompt', '-alias', 'test-ca', '-file', 'ca.pem', '-keystore', 'trust.p12', '-storetype', 'PKCS12', '-storepass', 'changeit'], dir);
}

export async function startSecureBroker(): Promise<SecureBroker> {
  const libs = path.join(cacheDir(), 'kafka', 'libs');
  if (!fs.existsSync(libs)) throw new Error(`No Kafka jars in ${libs}: provision the native stack first (npm run stack -- provision).`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-secure-kafka-'));
  makeCertificates(dir);
  const ports = { internal: await freePort(), controller: await freePort(), saslSsl: await freePort(), mtls: await freePort(), badHost: await freePort(), oauth: await freePort() };
  const users = { scram: { name: 'alice', password: `alice-${crypto.randomBytes(4).toString('hex')}` } };
  const store = (name: string) => [
    `ssl.keystore.location=${path.join(dir, `${name}.p12`)}`,
    'ssl.keystore.type=PKCS12',
    'ssl.keystore.password=changeit',
    'ssl.key.password=changeit',
  ];
  const listener = (l: string, lines: string[]) => lines.map((x) => `listener.name.${l}.${x}`);
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${ports.controller}`,
    `listeners=INTERNAL://127.0.0.1:${ports.internal},CONTROLLER://127.0.0.1:${ports.controller},SASL_SSL://127.0.0.1:${ports.saslSsl},MTLS://127.0.0.1:${ports.mtls},BADHOST://127.0.0.1:${ports.badHost},OAUTH://127.0.0.1:${ports.oauth}`,
    `advertised.listeners=INTERNAL://127.0.0.1:${ports.internal},SASL_SSL://127.0.0.1:${ports.saslSsl},MTLS://127.0.0.1:${ports.mtls},BADHOST://127.0.0.1:${ports.badHost},OAUTH://127.0.0.1:${ports.oauth}`,
    'listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL,BADHOST:SSL,OAUTH:SASL_PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=INTERNAL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    ...listener('sasl_ssl', [...store('broker'), 'sasl.enabled.mechanisms=SCRAM-SHA-512', `scram-sha-512.sasl.jaas.config=${scram}`]),
    ...listener('mtls', [...store('broker'), 'ssl.client.auth=required', `ssl.truststore.location=${path.join(dir, 'trust.p12')}`, 'ssl.truststore.type=PKCS12', 'ssl.truststore.password=changeit']),
    ...listener('badhost', store('badhost')),
    ...listener('oauth', [
      'sasl.enabled.mechanisms=OAUTHBEARER',
      'oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";',
    ]),
    `log.dirs=${path.join(dir, 'data')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
  const propsFile = path.join(dir, 'server.properties');
  fs.writeFileSync(propsFile, props);
  fs.writeFileSync(path.join(dir, 'log4j2.properties'), ['status = warn', 'appender.console.type = Console', 'appender.console.name = OUT', 'appender.console.layout.type = PatternLayout', 'appender.console.layout.pattern = [%d] %p %m (%c)%n', 'rootLogger.level = INFO', 'rootLogger.appenderRef.out.ref = OUT', 'logger.apache.name = org.apache.kafka', 'logger.apache.level = WARN', ''].join('\n'));
  const cp = `${libs}/*`;
  const jvm = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`];
  const clusterId = crypto.randomBytes(16).toString('base64url');
  const fmt = spawnSync('java', [...jvm, '-cp', cp, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', propsFile, '--add-scram', `SCRAM-SHA-512=[name=${users.scram.name},password=${users.scram.password}]`], { encoding: 'utf8' });
  if (fmt.status !== 0) throw new Error(`StorageTool format failed:\n${fmt.stdout}\n${fmt.stderr}`);
  const logFile = path.join(dir, 'broker.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn('java', [...jvm, '-cp', cp, 'kafka.Kafka', propsFile], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = false;
  child.once('exit', () => (exited = true));
  const log = () => fs.readFileSync(logFile, 'utf8');
  try {
    await until('the secured broker listens on every port', async () => {
      if (exited) throw new Error(`the secured broker exited:\n${log().slice(-4000)}`);
      return (await Promise.all(Object.values(ports).map(portOpen))).every(Boolean);
    }, 120_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const clientProperties = path.join(dir, 'client-sasl-ssl.properties');
  fs.writeFileSync(
    clientProperties,
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${users.scram.name}" password="${users.scram.password}";`,
      `ssl.truststore.location=${path.join(dir, 'trust.p12')}`,
      'ssl.truststore.type=PKCS12',
      'ssl.truststore.password=changeit',
      '',
    ].join('\n'),
  );
  return {
    dir,
    ports,
    caFile: path.join(dir, 'ca.pem'),
    otherCaFile: path.join(dir, 'other-ca.pem'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
    strangerCert: path.join(dir, 'stranger.pem'),
    strangerKey: path.join(dir, 'stranger.key'),
    users,
    clientProperties,
    log,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await until('the secured broker stopped', () => exited, 30_000).catch(() => child.kill('SIGKILL'));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An unsecured JWT (alg "none"), which Kafka's default OAUTHBEARER validator accepts. */
export function unsecuredJwt(sub: string, lifetimeS = 600): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat: now, exp: now + lifetimeS, scope: 'kafka' })}.`;
}
