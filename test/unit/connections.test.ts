import * as assert from 'node:assert/strict';
import {
  ConnectionConfigError,
  defaultReadOnly,
  describeConnection,
  exportConnections,
  idFromName,
  importConnections,
  isReadOnly,
  parseConnection,
  parseConnections,
  secretKey,
} from '../../src/services/connections/profile';
import { classifyKafkaError, kafkaSecurity, KafkaSecurityConfigError } from '../../src/services/kafka/security';

const prod = {
  id: 'team-prod',
  name: 'Team prod',
  kafka: { bootstrapServers: 'kafka-1.prod.example:9093,kafka-2.prod.example:9093', security: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-512', username: 'svc' }, tls: { caFile: '/etc/ca.pem' } },
  airflow: { url: 'https://airflow.prod.example', auth: 'bearer' },
  spark: { masterUrl: 'spark://spark.prod.example:7077', uiUrl: 'http://spark.prod.example:8080', submitArgs: ['--conf', 'spark.executor.memory=2g'] },
};

describe('connections: the settings format', () => {
  it('reads a full connection and fills the defaults (PLAINTEXT, password auth as admin)', () => {
    const c = parseConnection(prod);
    assert.equal(c.kafka?.security, 'SASL_SSL');
    assert.deepEqual(c.kafka?.sasl, { mechanism: 'SCRAM-SHA-512', username: 'svc' });
    assert.equal(c.airflow?.auth, 'bearer');
    assert.deepEqual(c.spark?.submitArgs, ['--conf', 'spark.executor.memory=2g']);
    const plain = parseConnection({ id: 'dev', name: 'Dev', kafka: { bootstrapServers: '127.0.0.1:19092' }, airflow: { url: 'http://127.0.0.1:18085' } });
    assert.equal(plain.kafka?.security, 'PLAINTEXT');
    assert.deepEqual(plain.airflow, { url: 'http://127.0.0.1:18085', auth: 'password', username: 'admin' });
  });

  it('names the field that is wrong', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ id: 'x', name: 'X', kafka: { bootstrapServers: 'nohost' } }, /"nohost" is not host:port/],
      [{ id: 'x', name: 'X', kafka: { bootstrapServers: 'h:9092', security: 'TLS' } }, /security is "TLS"; use one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/],
      [{ id: 'x', name: 'X', kafka: { bootstrapServers: 'h:9092', security: 'SASL_SSL' } }, /sasl is missing/],
      [{ id: 'x', name: 'X', kafka: { bootstrapServers: 'h:9092', security: 'SASL_SSL', sasl: { mechanism: 'GSSAPI' } } }, /mechanism is "GSSAPI"/],
      [{ id: 'x', name: 'X', kafka: { bootstrapServers: 'h:9092', security: 'SASL_SSL', sasl: { mechanism: 'OAUTHBEARER', clientId: 'a' } } }, /tokenEndpoint is missing/],
      [{ id: 'x', name: 'X', kafka: { bootstrapServers: 'h:9092', security: 'SSL', tls: { certFile: '/c.pem' } } }, /needs both certFile and keyFile/],
      [{ id: 'x', name: 'X', airflow: { url: 'airflow.example' } }, /airflow\.url "airflow\.example" is not a URL/],
      [{ id: 'x', name: 'X', spark: { masterUrl: 'http://h:7077', uiUrl: 'http://h:8080' } }, /masterUrl "http:\/\/h:7077" must start with spark:\/\//],
      [{ id: 'x', name: 'X', spark: { masterUrl: 'spark://h:7077', uiUrl: 'http://h:8080', submitArgs: '--verbose' } }, /submitArgs must be a list of strings/],
      [{ id: 'local', name: 'X', kafka: { bootstrapServers: 'h:9092' } }, /the id "local" is the built-in Local stack's/],
      [{ id: 'a b', name: 'X', kafka: { bootstrapServers: 'h:9092' } }, /id "a b" may hold letters/],
      [{ id: 'x', name: 'X' }, /has no kafka, airflow or spark part/],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseConnection(raw), (e: unknown) => e instanceof ConnectionConfigError && re.test((e as Error).message), JSON.stringify(raw));
  });

  it('keeps the valid connections of the setting and reports each invalid one (duplicates too)', () => {
    const r = parseConnections([prod, { id: 'x', name: 'Broken' }, { ...prod, name: 'Again' }, 'nonsense']);
    assert.deepEqual(r.connections.map((c) => c.name), ['Team prod']);
    assert.equal(r.errors.length, 3);
    assert.match(r.errors[1], /the id "team-prod" is used twice/);
    assert.deepEqual(parseConnections({}).errors, ['datapipeline.connections must be a list of connections.']);
  });

  it('is read-only by default when any address is not this machine; "readOnly": false makes it writable', () => {
    assert.equal(defaultReadOnly(parseConnection(prod)), true);
    assert.equal(isReadOnly(parseConnection({ ...prod, readOnly: false })), false);
    const local = parseConnection({ id: 'l', name: 'L', kafka: { bootstrapServers: '127.0.0.1:19092,localhost:19093' }, spark: { masterUrl: 'spark://127.0.0.1:7077', uiUrl: 'http://localhost:8080' } });
    assert.equal(isReadOnly(local), false);
    // one remote part is enough
    assert.equal(isReadOnly({ ...local, airflow: { url: 'http://10.0.0.8:8080', auth: 'password', username: 'admin' } }), true);
    assert.equal(isReadOnly({ ...local, readOnly: true }), true);
  });

  it('exports without secrets and imports what it exported, renaming ids that exist instead of overwriting', () => {
    const text = exportConnections([parseConnection(prod)]);
    assert.doesNotMatch(text, /password|secret/i);
    const again = importConnections(text, [parseConnection(prod)]);
    assert.equal(again.added[0].id, 'team-prod-2');
    assert.equal(again.added[0].name, 'Team prod (imported)');
    assert.deepEqual(again.renamed, ['team-prod → team-prod-2']);
    const fresh = importConnections(text, []);
    assert.deepEqual(fresh.added, [parseConnection(prod)]);
  });

  it('refuses an import that is not JSON, holds no connections, or carries a secret, importing nothing', () => {
    assert.throws(() => importConnections('{"connections": [', []), /not JSON .*Nothing was imported/);
    assert.throws(() => importConnections('{"x": 1}', []), /holds no connections/);
    const withSecret = JSON.stringify({ connections: [{ ...prod, kafka: { ...prod.kafka, sasl: { ...prod.kafka.sasl, password: 'hunter2' } } }] });
    assert.throws(() => importConnections(withSecret, []), /connections\[0\]\.kafka\.sasl\.password, which looks like a secret/);
  });

  it('makes ids from names, unique, never "local"', () => {
    assert.equal(idFromName('Team Prod!', []), 'team-prod');
    assert.equal(idFromName('Team Prod', ['team-prod']), 'team-prod-2');
    assert.equal(idFromName('Local', []), 'local-2');
    assert.equal(idFromName('***', []), 'connection');
  });

  it('keeps secrets per connection id, and describes what a connection points at', () => {
    assert.equal(secretKey('team-prod', 'kafka'), 'datapipeline.connection:team-prod:kafka');
    assert.notEqual(secretKey('a', 'airflow'), secretKey('b', 'airflow'));
    assert.equal(describeConnection(parseConnection(prod)), 'Kafka kafka-1.prod.example:9093,kafka-2.prod.example:9093 (SASL_SSL SCRAM-SHA-512) · Airflow https://airflow.prod.example · Spark spark://spark.prod.example:7077');
  });
});

describe('connections: Kafka security options', () => {
  const files: Record<string, string> = { '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY' };
  const read = (f: string) => {
    if (!(f in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return Buffer.from(files[f]);
  };

  it('SASL_SSL with SCRAM: TLS verifying the chain and the name, the mechanism in kafkajs spelling', () => {
    const s = kafkaSecurity(parseConnection(prod).kafka!, { secret: 'pw' }, { connectionName: 'Team prod', read: (f) => (f === '/etc/ca.pem' ? Buffer.from('CA') : read(f)) });
    assert.equal(s.ssl?.rejectUnauthorized, true);
    assert.equal(s.ssl?.checkServerIdentity, undefined, 'the hostname check stays on');
    assert.deepEqual(s.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: 'pw' });
  });

  it('mTLS reads the certificate and key; checkHostname false turns only the name check off', () => {
    const k = parseConnection({ id: 'm', name: 'M', kafka: { bootstrapServers: 'h:9093', security: 'SSL', tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', checkHostname: false } } }).kafka!;
    const s = kafkaSecurity(k, { keyPassphrase: 'kp' }, { connectionName: 'M', read });
    assert.equal(String(s.ssl?.cert), 'CERT');
    assert.equal(String(s.ssl?.key), 'KEY');
    assert.equal(s.ssl?.passphrase, 'kp');
    assert.equal(s.ssl?.rejectUnauthorized, true);
    assert.equal(typeof s.ssl?.checkServerIdentity, 'function');
    assert.equal(s.sasl, undefined);
  });

  it('a file that cannot be read, or a missing secret, is named before anything connects', () => {
    const k = parseConnection({ id: 'm', name: 'M', kafka: { bootstrapServers: 'h:9093', security: 'SSL', tls: { caFile: '/missing.pem' } } }).kafka!;
    assert.throws(() => kafkaSecurity(k, {}, { connectionName: 'M', read }), (e: unknown) => e instanceof KafkaSecurityConfigError && /M: the CA file \/missing\.pem cannot be read \(ENOENT\)/.test((e as Error).message));
    assert.throws(() => kafkaSecurity(parseConnection(prod).kafka!, {}, { connectionName: 'P', read: () => Buffer.from('x') }), /no SASL password is stored for svc/);
  });

  it('classifies failures from their error chains', () => {
    const wrapped = (inner: object) => ({ name: 'KafkaJSNumberOfRetriesExceeded', message: 'retries', originalError: inner });
    assert.equal(classifyKafkaError(wrapped({ name: 'KafkaJSSASLAuthenticationError', message: 'SASL SCRAM SHA512 authentication failed: x' }), 'SASL_SSL'), 'auth');
    assert.equal(classifyKafkaError(wrapped({ name: 'KafkaJSProtocolError', message: 'The broker does not support the requested SASL mechanism', type: 'UNSUPPORTED_SASL_MECHANISM' }), 'SASL_SSL'), 'mechanism');
    assert.equal(classifyKafkaError({ name: 'KafkaJSConnectionError', message: 'Connection error: x', code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'SSL'), 'tls-untrusted');
    assert.equal(classifyKafkaError({ name: 'KafkaJSConnectionError', message: "Hostname/IP does not match certificate's altnames", code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'SSL'), 'tls-hostname');
    assert.equal(classifyKafkaError({ name: 'KafkaJSConnectionError', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' }, 'PLAINTEXT'), 'unreachable');
    assert.equal(classifyKafkaError({ name: 'KafkaJSConnectionError', message: 'Connection error: ssl3_read_bytes:tlsv13 alert certificate required' }, 'SSL'), 'tls-client-cert');
  });
});

describe('connections: the Add/Edit form and what a connection allows', () => {
  // imported here to keep the suite's top imports about the settings format
  const { EMPTY_FORM, formToProfile, profileToForm, isConnectionForm } = require('../../src/services/connections/form') as typeof import('../../src/services/connections/form');
  const { activeFrom, writeDecision, ReadOnlyConnectionError, LOCAL_CONNECTION } = require('../../src/services/connections/guard') as typeof import('../../src/services/connections/guard');

  it('a form round-trips a profile, and typed secrets come out apart from it', () => {
    const p = parseConnection(prod);
    const form = { ...profileToForm(p), kafkaSecret: 'pw', airflowSecret: 'tok' };
    const out = formToProfile(form, [], p.id);
    assert.deepEqual(out.profile, p);
    assert.deepEqual(out.secrets, { kafka: 'pw', airflow: 'tok' });
    assert.ok(isConnectionForm(form));
    assert.ok(!isConnectionForm({ ...form, name: 42 }));
    assert.ok(!isConnectionForm({ ...form, readOnly: 'maybe' }));
  });

  it('the id comes from the host, never from the form: a page naming another connection\'s id gets an id of its own', () => {
    const hostile = { ...EMPTY_FORM, id: 'team-prod', name: 'Attacker', bootstrapServers: '127.0.0.1:19092' };
    assert.equal(formToProfile(hostile, ['team-prod']).profile.id, 'attacker', 'a new connection: from its name');
    assert.equal(formToProfile(hostile, ['team-prod', 'mine'], 'mine').profile.id, 'mine', 'an edited connection: the one the panel was opened for');
  });

  it('a new connection gets an id from its name; parts left off are not saved; errors name the field', () => {
    const out = formToProfile({ ...EMPTY_FORM, name: 'Staging', bootstrapServers: '127.0.0.1:19092' }, ['staging']);
    assert.equal(out.profile.id, 'staging-2');
    assert.deepEqual(Object.keys(out.profile).sort(), ['id', 'kafka', 'name']);
    assert.throws(() => formToProfile({ ...EMPTY_FORM, name: '' }, []), /Give the connection a name/);
    assert.throws(() => formToProfile({ ...EMPTY_FORM, name: 'X', bootstrapServers: 'x' }, []), /"x" is not host:port/);
    assert.throws(() => formToProfile({ ...EMPTY_FORM, name: 'X', kafkaEnabled: false, sparkEnabled: true, sparkMasterUrl: 'spark://h:7077', sparkUiUrl: 'http://h:8080', sparkSubmitArgs: '--conf "a' }, []), /Spark submit arguments: Unclosed " quote/);
  });

  it('refuses changes on a read-only connection, confirms once on a writable remote one, never asks on this machine', () => {
    const ro = activeFrom(parseConnection(prod));
    const rw = activeFrom(parseConnection({ ...prod, readOnly: false }));
    const loopback = activeFrom(parseConnection({ id: 'l', name: 'L', kafka: { bootstrapServers: '127.0.0.1:19092' } }));
    assert.equal(writeDecision(ro, new Set()), 'refuse');
    assert.equal(writeDecision(rw, new Set()), 'confirm');
    assert.equal(writeDecision(rw, new Set(['team-prod'])), 'go');
    assert.equal(writeDecision(loopback, new Set()), 'go');
    assert.equal(writeDecision(LOCAL_CONNECTION, new Set()), 'go');
    assert.match(new ReadOnlyConnectionError('Team prod', 'Produce to "orders"').message, /^"Team prod" is a read-only connection: Produce to "orders" was refused and nothing was sent\. To allow changes, set "readOnly": false/);
  });
});

describe('connections: the Local stack pointed off this machine by a workspace', () => {
  const { localStackConnection, writeDecision, ReadOnlyConnectionError } = require('../../src/services/connections/guard') as typeof import('../../src/services/connections/guard');
  const stack = { kafkaBootstrap: '127.0.0.1:9092', airflowUrl: 'http://127.0.0.1:8085', sparkUiUrl: 'http://127.0.0.1:8080', sparkMasterUrl: 'spark://127.0.0.1:7077' };

  it('on this machine it is writable with no question', () => {
    const c = localStackConnection(stack);
    assert.equal(c.local, true);
    assert.equal(writeDecision(c, new Set()), 'go');
    assert.equal(writeDecision(localStackConnection({ ...stack, kafkaBootstrap: 'localhost:19092,[::1]:19093' }), new Set()), 'go');
  });

  it('an address setting that is not this machine makes it read-only, and the refusal names the hosts and the user setting that allows it', () => {
    for (const moved of [{ kafkaBootstrap: '127.0.0.1:9092,kafka.shared.invalid:9092' }, { airflowUrl: 'https://airflow.shared.invalid' }, { sparkUiUrl: 'http://spark.shared.invalid:8080' }, { sparkMasterUrl: 'spark://spark.shared.invalid:7077' }]) {
      const c = localStackConnection({ ...stack, ...moved });
      assert.equal(writeDecision(c, new Set()), 'refuse', JSON.stringify(moved));
      assert.equal(c.localOnly, false);
    }
    const c = localStackConnection({ ...stack, airflowUrl: 'https://airflow.shared.invalid' });
    assert.match(new ReadOnlyConnectionError(c.name, 'Trigger "etl"', c.remoteHosts).message, /points at airflow\.shared\.invalid, which is not this machine.*Trigger "etl" was refused and nothing was sent.*"datapipeline\.localStack\.readOnly": false in your user settings/);
  });

  it('the user setting readOnly false allows changes there, asked once per session; true makes even this machine read-only', () => {
    const c = localStackConnection({ ...stack, kafkaBootstrap: 'kafka.shared.invalid:9092' }, false);
    assert.equal(writeDecision(c, new Set()), 'confirm');
    assert.equal(writeDecision(c, new Set(['local'])), 'go');
    assert.equal(writeDecision(localStackConnection(stack, true), new Set()), 'refuse');
  });
});

describe('connections: secrets belong to the connection saved with them', () => {
  const { ConnectionSecrets, SECRET_IDS_KEY } = require('../../src/services/connections/secrets') as typeof import('../../src/services/connections/secrets');
  /** An in-memory SecretStorage and globalState, as VS Code's behave for these calls. */
  const stores = () => {
    const secrets = new Map<string, string>();
    const state = new Map<string, unknown>();
    const listeners = new Set<(e: { key: string }) => unknown>();
    return {
      secrets,
      store: {
        get: async (k: string) => secrets.get(k),
        store: async (k: string, v: string) => void (secrets.set(k, v), listeners.forEach((l) => l({ key: k }))),
        delete: async (k: string) => void (secrets.delete(k), listeners.forEach((l) => l({ key: k }))),
        onDidChange: (l: (e: { key: string }) => unknown) => (listeners.add(l), { dispose: () => listeners.delete(l) }),
      },
      index: { get: <T>(k: string, d: T) => (state.has(k) ? (state.get(k) as T) : d), update: async (k: string, v: unknown) => void state.set(k, v) },
    };
  };

  it('a connection deleted by hand from settings.json loses its secrets at the next start; an import under its id finds none', async () => {
    const s = stores();
    const before = new ConnectionSecrets(s.store, s.index, () => undefined);
    await before.set('team-prod', 'airflow', 'the-prod-password');
    await before.set('staging', 'kafka', 'staging-secret');
    assert.deepEqual(before.ids(), ['team-prod', 'staging']);
    before.dispose();
    // next start: the settings hold only "staging" (team-prod was deleted by hand)
    const after = new ConnectionSecrets(s.store, s.index, () => undefined);
    assert.deepEqual(await after.forgetAllBut(['staging']), ['team-prod']);
    // an imported connection that happens to reuse the id
    assert.equal(await after.get('team-prod', 'airflow'), undefined);
    assert.equal(await after.get('staging', 'kafka'), 'staging-secret', 'the other connection keeps its secret');
    assert.deepEqual(s.index.get(SECRET_IDS_KEY, []), ['staging']);
  });

  it('deleting one connection\'s secrets removes every kind and its index entry; a changed secret is read anew', async () => {
    const s = stores();
    const changed: string[] = [];
    const sec = new ConnectionSecrets(s.store, s.index, (id) => changed.push(id));
    await sec.set('a', 'kafka', 'k1');
    await sec.set('a', 'kafkaKeyPassphrase', 'p1');
    assert.equal(await sec.get('a', 'kafka'), 'k1');
    await sec.set('a', 'kafka', 'k2');
    assert.equal(await sec.get('a', 'kafka'), 'k2');
    await sec.deleteAll('a');
    assert.equal(s.secrets.size, 0);
    assert.deepEqual(sec.ids(), []);
    assert.ok(changed.includes('a'));
  });
});
