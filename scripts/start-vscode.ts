/**
 * Second half of `npm start` (scripts/start.mjs did the installs and packaging): starts the stack
 * through the stack CLI, then code-server with the packaged extension, and waits for Ctrl+C.
 * Env: DATAPIPELINE_BACKEND=auto|docker|native (default auto), DATAPIPELINE_VSCODE_PORT (default 8100),
 * DP_KEEP_STACK=1 (leave the stack running on exit), DP_NO_STACK=1 (VS Code only).
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  createProfile,
  datapipelineVsix,
  ensureCodeServer,
  freePort,
  installExtensions,
  repoRoot,
  startCodeServer,
} from '../test/e2e/lib/codeServer';
import { cacheDir, stateDir } from '../src/services/util/paths';

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const stackCli = path.join(repoRoot, 'src', 'cli', 'stack.ts');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Runs the stack CLI with inherited output; returns its exit code. */
function stack(args: string[]): number {
  const r = spawnSync(tsx, [stackCli, ...args], { stdio: 'inherit', cwd: repoRoot });
  return r.status ?? 1;
}

async function main(): Promise<void> {
  const backend = process.env.DATAPIPELINE_BACKEND ?? 'auto';
  const withStack = process.env.DP_NO_STACK !== '1';
  let startedStack: string | undefined; // the backend that runs it
  if (withStack) {
    console.log(`\n=== starting the stack (backend: ${backend}); the first start takes a few minutes`);
    if (stack(['up', '--backend', backend]) === 0) startedStack = backend;
    else if (backend === 'auto') {
      // Docker answered but its stack did not come up (e.g. images that cannot be pulled): local processes need neither.
      console.log('\n=== the Docker stack did not start; starting the native stack (local processes) instead');
      if (stack(['up', '--backend', 'native']) === 0) startedStack = 'native';
    }
    if (!startedStack) console.error('\nThe stack did not start (see above). VS Code opens anyway: fix the cause and run "DataPipeline: Start Stack".');
  }

  const codeServer = ensureCodeServer();
  const home = path.join(cacheDir(), 'npm-start');
  const profile = createProfile(home, { 'datapipeline.stack.backend': startedStack ?? backend });
  installExtensions(codeServer, profile, [datapipelineVsix]);
  // code-server is a shell for whoever opens it: password auth, a fresh password each start
  const password = crypto.randomBytes(12).toString('base64url');
  const wanted = Number(process.env.DATAPIPELINE_VSCODE_PORT ?? '8100');
  const port = (await portFree(wanted)) ? wanted : await freePort();
  const workspace = path.join(repoRoot, 'stack');
  const server = await startCodeServer({
    codeServer,
    profile,
    workspace,
    port,
    // The extension's native backend shares the CLI's state: it sees (and can stop) the same stack.
    env: { DATAPIPELINE_CACHE: cacheDir(), DATAPIPELINE_STATE: stateDir() },
    logFile: path.join(home, 'code-server.log'),
    password,
  });
  const url = `${server.url}?folder=${encodeURIComponent(workspace)}`;
  console.log(`\nDataPipeline is ready: open ${url}`);
  console.log(`password: ${password}   (a new one each start; also in ${path.join(home, 'password')})`);
  fs.writeFileSync(path.join(home, 'password'), `${password}\n`, { mode: 0o600 });
  console.log(`(VS Code: code-server on 127.0.0.1:${port}; log ${server.logFile}. Ctrl+C stops VS Code${startedStack && process.env.DP_KEEP_STACK !== '1' ? ' and the stack' : ''}.)`);
  fs.writeFileSync(path.join(home, 'url'), url + '\n');

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping VS Code ...');
    await server.stop();
    if (startedStack && process.env.DP_KEEP_STACK !== '1') {
      console.log('stopping the stack ...');
      stack(['down', '--backend', startedStack]);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  server.proc.on('exit', (code) => {
    if (!stopping) {
      console.error(`code-server exited (${code}); see ${server.logFile}`);
      void shutdown();
    }
  });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
