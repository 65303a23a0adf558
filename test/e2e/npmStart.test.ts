/**
 * The second half of `npm start` (scripts/start-vscode.ts, without the stack: DP_NO_STACK=1): a
 * ready code-server with the packaged extension, behind a password printed with its URL (code-server
 * is a shell for whoever opens it: any local user of the machine could otherwise), and Ctrl+C stops it.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort, repoRoot, sleep } from './lib/codeServer';
import { until } from '../lib/until';

describe('npm start: VS Code (code-server) behind a password', function () {
  this.timeout(240_000);

  it('prints the URL and a password; the URL asks for it, the wrong one is refused, the right one logs in; Ctrl+C stops it', async function () {
    const port = await freePort();
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['scripts/start-vscode.ts'], {
      cwd: repoRoot,
      env: { ...process.env, DP_NO_STACK: '1', DATAPIPELINE_VSCODE_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until('npm start to print the password', () => /password: \S+/.test(out), { timeoutMs: 180_000, detail: () => `output:\n${out}` });
      const url = /DataPipeline is ready: open (\S+)/.exec(out)?.[1];
      const password = /password: (\S+)/.exec(out)?.[1];
      assert.ok(url && password, `output:\n${out}`);
      assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/`));
      assert.ok(password.length >= 16, 'a generated password');
      assert.doesNotMatch(out, /--auth none/);

      const base = `http://127.0.0.1:${port}`;
      const first = await fetch(url, { redirect: 'manual' });
      assert.equal(first.status, 302, 'the workbench is not served without the password');
      assert.match(first.headers.get('location') ?? '', /login/);
      const login = (pw: string) =>
        fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `password=${encodeURIComponent(pw)}` });
      const wrong = await login('not-the-password');
      assert.ok(!(wrong.headers.get('set-cookie') ?? '').includes('code-server-session'), 'a wrong password gets no session');
      const right = await login(password);
      const cookie = (right.headers.get('set-cookie') ?? '').split(';')[0];
      assert.match(cookie, /^code-server-session=/, 'the printed password logs in');
      const workbench = await fetch(url, { headers: { cookie }, redirect: 'manual' });
      assert.equal(workbench.status, 200);
    } finally {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(30_000)]);
      child.kill('SIGKILL');
    }
    assert.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'up', () => 'down'), 'down', 'Ctrl+C stopped code-server');
  });
});
