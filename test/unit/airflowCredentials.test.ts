/** Airflow passwords per server: the bundled admin password never goes to a server that is not the stack's own. */
import { strict as assert } from 'node:assert';
import {
  AirflowCredentials,
  LEGACY_PASSWORD_KEY,
  normalizeServerUrl,
  passwordKey,
  oauthPlainHttpWarning,
  plainHttpWarning,
  type SecretStore,
} from '../../src/services/airflow/credentials';

function memorySecrets(initial: Record<string, string> = {}): SecretStore & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    get: async (k) => data.get(k),
    store: async (k, v) => void data.set(k, v),
    delete: async (k) => void data.delete(k),
  };
}

describe('Airflow credentials per server', () => {
  const stack = 'http://127.0.0.1:8085';

  it('the bundled admin password applies to the stack’s own URL only; any other server, or another user, has none until entered', async () => {
    const creds = new AirflowCredentials(memorySecrets(), () => stack);
    assert.equal(await creds.password('http://127.0.0.1:8085/', 'admin'), 'admin');
    assert.equal(await creds.password('http://LOCALHOST:8085', 'admin'), undefined, 'another spelling of a host is another server');
    assert.equal(await creds.password('http://127.0.0.1:9999', 'admin'), undefined, 'a workspace-set URL on another port');
    assert.equal(await creds.password('https://airflow.example.com', 'admin'), undefined);
    assert.equal(await creds.password(stack, 'alice'), undefined, 'the default is the bundled admin’s, not any user’s');
  });

  it('follows the stack’s own port when it moves, and keeps what the user entered per URL and user', async () => {
    let own = stack;
    const secrets = memorySecrets();
    const creds = new AirflowCredentials(secrets, () => own);
    own = 'http://127.0.0.1:18085';
    assert.equal(await creds.password('http://127.0.0.1:18085', 'admin'), 'admin');
    assert.equal(await creds.password(stack, 'admin'), undefined);
    await creds.save('https://airflow.example.com/team/', 'alice', 's3cret');
    assert.equal(await creds.password('https://airflow.example.com/team', 'alice'), 's3cret');
    assert.equal(await creds.password('https://airflow.example.com/team', 'bob'), undefined);
    assert.equal(await creds.password('https://other.example.com/team', 'alice'), undefined);
    assert.deepEqual([...secrets.data.keys()], [passwordKey('https://airflow.example.com/team', 'alice')]);
  });

  it('the one global password of earlier versions moves to the stack’s own URL and is never sent elsewhere', async () => {
    const secrets = memorySecrets({ [LEGACY_PASSWORD_KEY]: 'old' });
    const creds = new AirflowCredentials(secrets, () => stack);
    assert.equal(await creds.password('https://airflow.example.com', 'admin'), undefined);
    assert.equal(await creds.password(stack, 'admin'), 'old');
    assert.equal(secrets.data.has(LEGACY_PASSWORD_KEY), false);
  });

  it('warns about Basic auth over plain http to a host that is not this machine', () => {
    assert.match(plainHttpWarning('http://airflow.internal:8080') ?? '', /plain http: the password is sent unencrypted/);
    assert.equal(plainHttpWarning('https://airflow.internal'), undefined);
    assert.equal(plainHttpWarning('http://127.0.0.1:8085'), undefined);
    assert.equal(plainHttpWarning('http://[::1]:8085'), undefined);
    assert.equal(plainHttpWarning('http://localhost:8085'), undefined);
    assert.equal(normalizeServerUrl('HTTP://Host:80/x/?q=1'), 'http://host/x');
  });

  it('warns the same way about an OAuth token endpoint over plain http to a host that is not this machine', () => {
    assert.match(oauthPlainHttpWarning('http://idp.internal/oauth/token') ?? '', /token endpoint http:\/\/idp\.internal\/oauth\/token is reached over plain http: the client secret is sent unencrypted/);
    assert.equal(oauthPlainHttpWarning('https://idp.internal/oauth/token'), undefined);
    assert.equal(oauthPlainHttpWarning('http://127.0.0.1:18080/token'), undefined);
  });
});

describe('the local stack\'s Airflow password', () => {
  const pw = require('../../src/services/stack/airflowPassword') as typeof import('../../src/services/stack/airflowPassword');
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');

  it('is admin until the user sets one; kept 0600; a password with a line break is refused and changes nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-pw-'));
    try {
      assert.equal(pw.stackAirflowPassword(dir), 'admin');
      pw.setStackAirflowPassword(dir, 'Lo cal "pässwörd" 1');
      assert.equal(pw.stackAirflowPassword(dir), 'Lo cal "pässwörd" 1');
      assert.equal(fs.statSync(path.join(dir, 'airflow-admin-password')).mode & 0o777, 0o600);
      assert.throws(() => pw.setStackAirflowPassword(dir, 'a\nb'), /line break.*Nothing was changed/);
      assert.throws(() => pw.setStackAirflowPassword(dir, ''), /empty/);
      assert.equal(pw.stackAirflowPassword(dir), 'Lo cal "pässwörd" 1');
      assert.notEqual(pw.passwordDigest('a'), pw.passwordDigest('b'));
      assert.ok(!pw.passwordDigest('secret').includes('secret'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the extension sends the stack\'s password to the stack\'s own URL only, and a password typed for it earlier can be forgotten', async () => {
    const secrets = memorySecrets();
    const stack = 'http://127.0.0.1:8085';
    let current = 'admin';
    const creds = new AirflowCredentials(secrets, () => stack, () => current);
    current = 'n3w';
    assert.equal(await creds.password(stack, 'admin'), 'n3w');
    assert.equal(await creds.password('http://127.0.0.1:9999', 'admin'), undefined, 'another server on this machine');
    assert.equal(await creds.password('https://airflow.example.com', 'admin'), undefined);
    await creds.save(stack, 'admin', 'typed');
    assert.equal(await creds.password(stack, 'admin'), 'typed');
    await creds.forget(stack, 'admin');
    assert.equal(await creds.password(stack, 'admin'), 'n3w');
  });
});
