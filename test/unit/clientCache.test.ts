import { strict as assert } from 'node:assert';
import { ClientCache } from '../../src/services/util/clientCache';
import { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';

describe('connections: one client per address', () => {
  it('the same address gets the same client; a new address a new one, and the old one is disposed', () => {
    const disposed: string[] = [];
    const cache = new ClientCache((url) => new SparkMasterClient(url), (c) => disposed.push(c.uiUrl));
    const a = cache.get('http://127.0.0.1:8080');
    assert.equal(cache.get('http://127.0.0.1:8080'), a, 'one client while the address stays');
    const b = cache.get('http://127.0.0.1:18080');
    assert.notEqual(b, a);
    assert.equal(b.uiUrl, 'http://127.0.0.1:18080');
    assert.deepEqual(disposed, ['http://127.0.0.1:8080'], 'the client of the old address is disposed once');
    cache.dispose();
    assert.deepEqual(disposed, ['http://127.0.0.1:8080', 'http://127.0.0.1:18080']);
    assert.equal(cache.last, undefined);
    assert.notEqual(cache.get('http://127.0.0.1:18080'), b, 'after dispose, a fresh client');
  });
});
