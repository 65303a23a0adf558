/**
 * Connections to a secured Kafka (issue #17), against a real broker the test starts with SASL_SSL
 * (SCRAM-SHA-512 users made by Kafka's StorageTool), mTLS, a listener whose certificate names
 * another host, and OAUTHBEARER. The clients are built exactly as the extension builds them for a
 * connection (kafkaSecurity from the connection's settings and secrets). Each failure a user can
 * meet gets its own error naming the connection and what failed.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { KafkaService, KafkaUnreachableError } from '../../src/services/kafka/kafkaClient';
import { BrowseSession } from '../../src/services/kafka/browseSession';
import { MessageStore } from '../../src/services/kafka/messageStore';
import { kafkaSecurity, type KafkaSecrets } from '../../src/services/kafka/security';
import { parseConnection, type KafkaConnectionConfig } from '../../src/services/connections/profile';
import { kafkaTool } from './lib/foreignClients';
import { startSecureBroker, unsecuredJwt, type SecureBroker } from './lib/secureKafka';
import { until } from '../lib/until';

describe('Kafka connections with TLS, mTLS, SASL and OAUTHBEARER (a real secured broker)', function () {
  this.timeout(300_000);
  let broker: SecureBroker;
  let tokenServer: http.Server | undefined;
  let tokenPort = 0;
  const tokenRequests: string[] = [];
  const services: KafkaService[] = [];

  /** A KafkaService for a connection written as a user writes it in settings. */
  function connect(name: string, kafka: Record<string, unknown>, secrets: KafkaSecrets = {}): KafkaService {
    const profile = parseConnection({ id: name, name, kafka });
    const cfg = profile.kafka as KafkaConnectionConfig;
    const svc = new KafkaService({ bootstrap: cfg.bootstrapServers, security: kafkaSecurity(cfg, secrets, { connectionName: name }) });
    services.push(svc);
    return svc;
  }

  const saslSsl = (extra: Record<string, unknown> = {}) => ({
    bootstrapServers: `127.0.0.1:${broker.ports.saslSsl}`,
    security: 'SASL_SSL',
    sasl: { mechanism: 'SCRAM-SHA-512', username: broker.users.scram.name },
    tls: { caFile: broker.caFile },
    ...extra,
  });
  const mtls = (tls: Record<string, unknown>) => ({ bootstrapServers: `127.0.0.1:${broker.ports.mtls}`, security: 'SSL', tls });

  async function failure(svc: KafkaService): Promise<KafkaUnreachableError> {
    const err = await svc.listTopics().then(
      () => assert.fail('the connection should have failed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KafkaUnreachableError, `a KafkaUnreachableError, not ${String(err)}`);
    return err;
  }

  async function browseAll(svc: KafkaService, topic: string, n: number): Promise<string[]> {
    const store = new MessageStore(10_000);
    const s = new BrowseSession({ service: svc, topic, request: { start: { mode: 'earliest' }, follow: false }, store });
    await s.start();
    try {
      await until(`${n} messages browsed`, () => store.size >= n, { timeoutMs: 60_000, detail: () => JSON.stringify(s.status) });
    } finally {
      await s.stop();
    }
    return Array.from({ length: store.size }, (_, i) => store.value(store.firstSeq + i)?.toString() ?? '');
  }

  before(async function () {
    this.timeout(300_000);
    broker = await startSecureBroker();
    // a client-credentials token endpoint on 127.0.0.1 (the test's stand-in for an identity provider;
    // the broker itself is real and validates what it issues)
    tokenServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        tokenRequests.push(form.get('grant_type') ?? '');
        res.setHeader('content-type', 'application/json');
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== 'pipeline-app' || form.get('client_secret') !== 'app-secret') {
          res.statusCode = 401;
          res.end(JSON.stringify({ error: 'invalid_client', error_description: 'bad client credentials' }));
          return;
        }
        res.end(JSON.stringify({ access_token: unsecuredJwt('pipeline-app'), token_type: 'Bearer', expires_in: 600 }));
      });
    });
    await new Promise<void>((r) => tokenServer!.listen(0, '127.0.0.1', r));
    tokenPort = (tokenServer.address() as { port: number }).port;
  });

  after(async function () {
    for (const s of services) await s.dispose().catch(() => undefined);
    await new Promise((r) => (tokenServer ? tokenServer.close(r) : r(undefined)));
    await broker?.stop();
  });

  it('SASL_SSL with SCRAM-SHA-512: creates a topic, produces, and browses what Kafka\'s Java console producer wrote through the same listener', async function () {
    const svc = connect('team-sasl', saslSsl(), { secret: broker.users.scram.password });
    await svc.createTopic({ topic: 'secure-orders', numPartitions: 2 });
    assert.ok((await svc.topicNames()).includes('secure-orders'));
    await svc.produce('secure-orders', [{ key: 'k1', value: 'from-datapipeline' }]);
    // Kafka's own Java client over SASL_SSL, configured as a user configures it
    await kafkaTool(
      'org.apache.kafka.tools.ConsoleProducer',
      ['--bootstrap-server', `127.0.0.1:${broker.ports.saslSsl}`, '--topic', 'secure-orders', '--producer.config', broker.clientProperties],
      'from-java-1\nfrom-java-2\n',
    );
    const values = await browseAll(svc, 'secure-orders', 3);
    assert.deepEqual(values.sort(), ['from-datapipeline', 'from-java-1', 'from-java-2']);
    const parts = await svc.describeTopic('secure-orders');
    assert.equal(parts.length, 2);
  });

  it('mTLS: a client certificate signed by the trusted CA lists, produces and browses', async function () {
    const svc = connect('team-mtls', mtls({ caFile: broker.caFile, certFile: broker.clientCert, keyFile: broker.clientKey }));
    await svc.createTopic({ topic: 'mtls-events', numPartitions: 1 });
    await svc.produce('mtls-events', [{ value: 'a' }, { value: 'b' }]);
    assert.deepEqual(await browseAll(svc, 'mtls-events', 2), ['a', 'b']);
  });

  it('a wrong password: "rejected SCRAM-SHA-512 login", naming the connection and the user', async function () {
    const err = await failure(connect('team-sasl-wrong', saslSsl(), { secret: 'not-the-password' }));
    assert.equal(err.kind, 'auth', err.message);
    assert.match(err.message, /Kafka connection "team-sasl-wrong"/);
    assert.match(err.message, /rejected SCRAM-SHA-512 login for "alice" \(wrong user or password\)/);
  });

  it('a mechanism the listener has not enabled: says which one, and which ones the listener offers', async function () {
    const err = await failure(connect('team-plain', saslSsl({ sasl: { mechanism: 'PLAIN', username: 'alice' } }), { secret: broker.users.scram.password }));
    assert.equal(err.kind, 'mechanism', err.message);
    assert.match(err.message, /SASL mechanism PLAIN is not enabled on this listener \(it offers SCRAM-SHA-512\)/);
  });

  it('a CA that did not sign the broker certificate: "not trusted", naming the host, the certificate and its issuer', async function () {
    const err = await failure(connect('team-other-ca', saslSsl({ tls: { caFile: broker.otherCaFile } }), { secret: broker.users.scram.password }));
    assert.equal(err.kind, 'tls-untrusted', err.message);
    assert.match(err.message, new RegExp(`certificate of 127\\.0\\.0\\.1:${broker.ports.saslSsl} \\(CN=kafka-broker, O=DataPipeline tests, issued by CN=DataPipeline Test CA`));
    assert.match(err.message, /is not trusted/);
    assert.match(err.message, /CA file/);
  });

  it('a certificate for another host: "hostname mismatch", naming what the certificate is for', async function () {
    const err = await failure(connect('team-badhost', { bootstrapServers: `127.0.0.1:${broker.ports.badHost}`, security: 'SSL', tls: { caFile: broker.caFile } }));
    assert.equal(err.kind, 'tls-hostname', err.message);
    assert.match(err.message, /is for DNS:wrong-host\.example, not 127\.0\.0\.1 \(hostname mismatch\)/);
    // the user may turn the check off for this connection: the chain is still verified
    const relaxed = connect('team-badhost-nocheck', { bootstrapServers: `127.0.0.1:${broker.ports.badHost}`, security: 'SSL', tls: { caFile: broker.caFile, checkHostname: false } });
    assert.ok(Array.isArray(await relaxed.topicNames()));
  });

  it('mTLS without a client certificate, or with one from a CA the broker does not trust: "requires a client certificate"', async function () {
    const none = await failure(connect('team-mtls-nocert', mtls({ caFile: broker.caFile })));
    assert.equal(none.kind, 'tls-client-cert', none.message);
    assert.match(none.message, /requires a client certificate it trusts \(mTLS\) and refused ours \(none is set\)/);
    const stranger = await failure(connect('team-mtls-stranger', mtls({ caFile: broker.caFile, certFile: broker.strangerCert, keyFile: broker.strangerKey })));
    assert.equal(stranger.kind, 'tls-client-cert', stranger.message);
  });

  it('TLS against a plain listener, and plain text against a TLS one, each say which side speaks what', async function () {
    const tlsToPlain = await failure(connect('tls-to-plain', { bootstrapServers: `127.0.0.1:${broker.ports.internal}`, security: 'SSL', tls: { caFile: broker.caFile } }));
    assert.equal(tlsToPlain.kind, 'tls-not-tls', tlsToPlain.message);
    assert.match(tlsToPlain.message, /does not speak TLS/);
    const plainToTls = await failure(connect('plain-to-tls', { bootstrapServers: `127.0.0.1:${broker.ports.mtls}` }));
    assert.equal(plainToTls.kind, 'expects-tls', plainToTls.message);
    assert.match(plainToTls.message, /probably expects TLS/);
  });

  it('OAUTHBEARER with client credentials: the token comes from the endpoint and the broker accepts it; a wrong secret is named', async function () {
    const oauth = (secret: string) =>
      connect(`team-oauth-${secret}`, {
        bootstrapServers: `127.0.0.1:${broker.ports.oauth}`,
        security: 'SASL_PLAINTEXT',
        sasl: { mechanism: 'OAUTHBEARER', tokenEndpoint: `http://127.0.0.1:${tokenPort}/token`, clientId: 'pipeline-app' },
      }, { secret });
    const before = tokenRequests.length;
    const svc = oauth('app-secret');
    await svc.createTopic({ topic: 'oauth-topic', numPartitions: 1 });
    await svc.produce('oauth-topic', [{ value: 'via-oauth' }]);
    assert.deepEqual(await browseAll(svc, 'oauth-topic', 1), ['via-oauth']);
    assert.ok(tokenRequests.length > before && tokenRequests.slice(before).every((g) => g === 'client_credentials'));
    const err = await failure(oauth('wrong-secret'));
    assert.equal(err.kind, 'token', err.message);
    assert.match(err.message, /OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/token refused client pipeline-app \(invalid_client: bad client credentials\)/);
  });

  it('an unreachable host names the connection', async function () {
    const err = await failure(connect('team-gone', { bootstrapServers: '127.0.0.1:1', security: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice' }, tls: {} }, { secret: 'x' }));
    assert.equal(err.kind, 'unreachable', err.message);
    assert.match(err.message, /Kafka connection "team-gone" \(127\.0\.0\.1:1\) is unreachable/);
  });
});
