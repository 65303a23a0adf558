import { strict as assert } from 'node:assert';
import {
  ConnectionUriError, connectionBody, connectionSummary, connectionUri, editedExtra, isSensitiveName, MASK, maskedExtra, parseConnectionUri, shownVariableValue,
} from '../../src/services/airflow/airflowObjects';
import { dagNodeKey, objectDescription, objectGroupLabel, objectRows } from '../../src/services/airflow/dagsModel';

describe('Airflow connections, variables and pools (pure logic)', () => {
  describe('parseConnectionUri reads Airflow\u2019s URI form', () => {
    it('type, login, password, host, port, schema and the query as extra', () => {
      assert.deepEqual(parseConnectionUri('orders_db', 'postgres://orders:s3cr%40t@db.local:5432/orders?sslmode=disable&connect_timeout=5'), {
        id: 'orders_db',
        type: 'postgres',
        login: 'orders',
        password: 's3cr@t',
        host: 'db.local',
        port: 5432,
        schema: 'orders',
        extra: '{"sslmode":"disable","connect_timeout":"5"}',
      });
    });
    it('a host with its own protocol (Spark\u2019s spark://spark://master:7077), the type\u2019s dashes as underscores', () => {
      assert.deepEqual(parseConnectionUri('spark_cluster', 'spark://spark://127.0.0.1:7077'), { id: 'spark_cluster', type: 'spark', host: 'spark://127.0.0.1', port: 7077 });
      assert.equal(parseConnectionUri('x', 'google-cloud-platform://').type, 'google_cloud_platform');
    });
    it('__extra__ holds the extra JSON whole; a login without a password sets no password (an edit keeps the stored one)', () => {
      const c = parseConnectionUri('k', 'kafka://broker:9092?__extra__=%7B%22bootstrap.servers%22%3A%22broker%3A9092%22%7D');
      assert.equal(c.extra, '{"bootstrap.servers":"broker:9092"}');
      const noPassword = parseConnectionUri('p', 'postgres://orders@localhost/db');
      assert.equal(noPassword.login, 'orders');
      assert.equal('password' in noPassword, false);
    });
    it('bad input is refused with the reason', () => {
      assert.throws(() => parseConnectionUri('x', 'localhost:5432'), (e: Error) => e instanceof ConnectionUriError && /starts with the connection type/.test(e.message));
      assert.throws(() => parseConnectionUri('x', 'postgres://h:99999'), /not 1-65535/);
      assert.throws(() => parseConnectionUri('x', 'postgres://u:100%@h'), /write % as %25/);
      assert.throws(() => parseConnectionUri('x', 'http://h?__extra__={oops'), /__extra__ .* is not JSON/);
    });
  });

  describe('shown without secrets', () => {
    it('the URI an edit starts from has no password, and round-trips', () => {
      const c = parseConnectionUri('orders_db', 'postgres://orders:pw@db.local:5432/orders?sslmode=disable&api_key=abc');
      const uri = connectionUri(c);
      assert.equal(uri, 'postgres://orders@db.local:5432/orders?sslmode=disable');
      const again = parseConnectionUri('orders_db', uri);
      const { password, extra, ...rest } = c;
      assert.equal(password, 'pw');
      assert.match(extra ?? '', /api_key/);
      assert.deepEqual(again, { ...rest, extra: '{"sslmode":"disable"}' }, 'the same connection, less its password and its secret extra');
      assert.equal(connectionUri(parseConnectionUri('s', 'spark://spark://127.0.0.1:7077')), 'spark://spark://127.0.0.1:7077');
      assert.equal(connectionSummary(c), 'postgres://orders@db.local:5432/orders');
    });
    it('variables named like secrets (Airflow\u2019s sensitive names) are masked; others show their first line', () => {
      assert.equal(isSensitiveName('ORDERS_API_KEY'), true);
      assert.equal(isSensitiveName('db_password'), true);
      assert.equal(isSensitiveName('orders_country'), false);
      assert.equal(shownVariableValue({ key: 'stripe_secret', value: 'sk_live_123' }), MASK);
      assert.equal(shownVariableValue({ key: 'country', value: 'DE' }), 'DE');
      assert.equal(shownVariableValue({ key: 'sql', value: 'select 1\nfrom t' }), 'select 1 …');
      assert.equal(shownVariableValue({ key: 'long', value: 'x'.repeat(200) }).length, 80);
    });
    it('an extra\u2019s sensitive values are masked at any depth; text that is not JSON is masked whole', () => {
      assert.equal(maskedExtra('{"region":"eu","auth":{"access_token":"t0k","user":"me"},"keys":[{"private_key":"-----BEGIN"}]}'), `{"region":"eu","auth":{"access_token":"${MASK}","user":"me"},"keys":[{"private_key":"${MASK}"}]}`);
      assert.equal(maskedExtra('password=x'), MASK);
      assert.equal(maskedExtra(undefined), undefined);
    });
  });

  it('an edit never writes a masked secret back: unchanged extra fields send no extra; changed ones keep the secret or ask for it', () => {
    const masked = '{"sslmode":"disable","connect_timeout":5,"api_key":"***"}';
    assert.equal(editedExtra(masked, '{"sslmode":"disable","connect_timeout":"5"}'), undefined, 'the same fields (5 as text): the stored extra stays');
    assert.throws(() => editedExtra(masked, '{"sslmode":"require"}'), /holds api_key, which Airflow does not show: .* write api_key=… in the URI too/);
    assert.equal(editedExtra(masked, '{"sslmode":"require","api_key":"new"}'), '{"sslmode":"require","api_key":"new"}');
    assert.equal(editedExtra('{"sslmode":"disable","api_key":"abc"}', '{"sslmode":"require"}'), '{"sslmode":"require","api_key":"abc"}', 'a secret Airflow showed is kept');
    assert.equal(editedExtra(masked, undefined), undefined, 'a URI without extras keeps the stored extra');
    assert.equal(editedExtra(undefined, '{"a":"1"}'), '{"a":"1"}');
  });

  it('the body Airflow\u2019s REST API takes has only the fields given', () => {
    assert.deepEqual(connectionBody({ id: 'a', type: 'http', host: 'h' }), { connection_id: 'a', conn_type: 'http', host: 'h' });
  });

  it('the DAGs view\u2019s groups count their rows, and rows say what they hold without secrets', () => {
    const objects = {
      connections: [parseConnectionUri('orders_db', 'postgres://orders:pw@localhost:5432/orders')],
      variables: [{ key: 'orders_api_token', value: 'abc' }, { key: 'country', value: 'DE' }],
      pools: [{ name: 'spark', slots: 2, occupied: 1 }, { name: 'one', slots: 1 }],
    };
    assert.equal(objectGroupLabel({ group: 'variable', objects }), 'Variables (2)');
    assert.equal(objectGroupLabel({ group: 'connection', objects }), 'Connections (1)');
    const rows = objectRows({ group: 'connection', objects });
    assert.equal(objectDescription(rows[0]), 'postgres://orders@localhost:5432/orders');
    assert.deepEqual(objectRows({ group: 'variable', objects }).map(objectDescription), [MASK, 'DE']);
    assert.deepEqual(objectRows({ group: 'pool', objects }).map(objectDescription), ['2 slots · 1 in use', '1 slot']);
    assert.deepEqual(objectRows({ group: 'pool', objects }).map(dagNodeKey), ['pool:spark', 'pool:one']);
  });
});
