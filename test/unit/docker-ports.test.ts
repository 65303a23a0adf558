import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { parseProcNetTcp } from '../../src/services/util/procfs';
import { checkPort, describePortInUse, findPortsInUse } from '../../src/services/util/ports';

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, host, () => resolve(srv));
  });
}

describe('ports util (port-in-use check naming the owner)', () => {
  it('parses listening sockets from /proc/net/tcp and tcp6 text', () => {
    const v4 = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:4684 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1',
      '   1: 0100007F:4684 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 999 1',
    ].join('\n');
    assert.deepEqual(parseProcNetTcp(v4), [{ port: 18052, localAddress: '127.0.0.1', inode: 12345 }]);
    const v6 = [
      'header',
      '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1',
    ].join('\n');
    assert.deepEqual(parseProcNetTcp(v6), [{ port: 8080, localAddress: '::', inode: 777 }]);
  });

  it('reports a free port as free', async () => {
    const c = await checkPort(18999);
    assert.equal(c.inUse, false);
  });

  it('names the pid and program holding a port on 127.0.0.1', async () => {
    const srv = await listen(18998, '127.0.0.1');
    try {
      const c = await checkPort(18998);
      assert.equal(c.inUse, true);
      assert.equal(c.owner?.pid, process.pid);
      assert.match(c.owner!.program, /node|MainThread/);
      assert.equal(describePortInUse(c), `Port 18998 is in use by pid ${process.pid} (${c.owner!.program}).`);
      const busy = await findPortsInUse([18998, 18999, 18998]);
      assert.deepEqual(busy.map((b) => b.port), [18998]);
    } finally {
      srv.close();
    }
  });
});
