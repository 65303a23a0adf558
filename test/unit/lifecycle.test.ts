import * as assert from 'node:assert/strict';
import { Disposable, type IDisposable } from '../../src/services/util/lifecycle';

class Owner extends Disposable {
  add<T extends IDisposable>(d: T): T {
    return this.register(d);
  }
  get gone(): boolean {
    return this.disposed;
  }
}

describe('Disposable: what a class registers is let go once, in order', () => {
  it('disposes each registered thing once, in registration order, however often dispose is called', () => {
    const seen: string[] = [];
    const o = new Owner();
    for (const name of ['emitter', 'listener', 'client']) o.add({ dispose: () => seen.push(name) });
    assert.equal(o.gone, false);
    o.dispose();
    o.dispose();
    assert.deepEqual(seen, ['emitter', 'listener', 'client']);
    assert.equal(o.gone, true);
  });

  it('a thing registered after dispose (a late callback) is disposed at once, not leaked', () => {
    const o = new Owner();
    o.dispose();
    let disposed = 0;
    o.add({ dispose: () => disposed++ });
    assert.equal(disposed, 1);
  });

  it('one that throws does not keep the others: all are disposed, then its error is thrown', () => {
    const seen: string[] = [];
    const o = new Owner();
    o.add({ dispose: () => seen.push('a') });
    o.add({
      dispose: () => {
        throw new Error('socket already closed');
      },
    });
    o.add({ dispose: () => seen.push('c') });
    assert.throws(() => o.dispose(), /socket already closed/);
    assert.deepEqual(seen, ['a', 'c']);
  });
});
