/**
 * `npm run stack -- ...` (src/cli/stack.ts) as a user runs it, against the shared native stack.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureNativeStack, repoRoot } from './harness';

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), [path.join(repoRoot, 'src', 'cli', 'stack.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, DATAPIPELINE_BACKEND: '', DATAPIPELINE_TEST_SERVICES: '', ...env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run stack (native CLI)', function () {
  this.timeout(300_000);

  before(async function () {
    this.timeout(900_000);
    await ensureNativeStack(['kafka', 'spark', 'airflow']);
  });

  it('status lists every service running and healthy with pid and ports', function () {
    const r = cli(['status']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0], /^service\s+state\s+health\s+pid\s+ports\s+detail$/);
    assert.match(r.stdout, /^kafka\s+running\s+healthy\s+\d+\s+9092,9093\s/m);
    assert.match(r.stdout, /^spark-worker\s+running\s+healthy\s+\d+\s+8081\s/m);
    assert.match(r.stdout, /^airflow-webserver\s+running\s+healthy\s+\d+\s+8085\s/m);
  });

  it('provision is quiet when everything is installed', function () {
    const r = cli(['provision']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
  });

  it('logs prints the last lines of a service log', function () {
    const r = cli(['logs', 'spark-master', '--tail', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 5);
  });

  it('up from another state folder uses the healthy stack on the default ports instead of failing on them', function () {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cli-state-'));
    try {
      const r = cli(['up', '--services', 'kafka'], { DATAPIPELINE_STATE: state });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /kafka is already running and healthy \(started outside/);
      assert.match(r.stdout, /^kafka\s+running\s+healthy\s+-\s+9092,9093\s+running, but not started from/m);
      assert.deepEqual(fs.existsSync(path.join(state, 'run')) ? fs.readdirSync(path.join(state, 'run')).filter((f) => f.endsWith('.json')) : [], []);
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });

  it('up --ports moves a service to a free port; later commands on the same state folder remember it', function () {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cli-ports-'));
    try {
      const up = cli(['up', '--services', 'kafka', '--ports', 'kafka=24192,kafkaController=24193'], { DATAPIPELINE_STATE: state });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /Kafka 127\.0\.0\.1:24192/);
      const status = cli(['status', '--services', 'kafka'], { DATAPIPELINE_STATE: state });
      assert.match(status.stdout, /^kafka\s+running\s+healthy\s+\d+\s+24192,24193\s/m);
    } finally {
      cli(['down', '--services', 'kafka'], { DATAPIPELINE_STATE: state });
      fs.rmSync(state, { recursive: true, force: true });
    }
  });

  it('reset lists exactly what it deletes and asks; without a terminal it needs --yes; with --yes it deletes that', function () {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cli-reset-'));
    try {
      const kafkaData = path.join(state, 'kafka', 'data');
      fs.mkdirSync(kafkaData, { recursive: true });
      fs.writeFileSync(path.join(kafkaData, 'meta.properties'), 'cluster.id=x\n');
      const asked = cli(['reset', '--services', 'kafka'], { DATAPIPELINE_STATE: state });
      assert.equal(asked.code, 2);
      assert.match(asked.stderr, new RegExp(`Reset stops the stack and deletes:\\n  Kafka topics and messages: ${kafkaData.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
      assert.match(asked.stderr, /reset asks before deleting: run it in a terminal, or add --yes/);
      assert.ok(fs.existsSync(kafkaData), 'nothing deleted without an answer');
      const yes = cli(['reset', '--services', 'kafka', '--yes'], { DATAPIPELINE_STATE: state });
      assert.equal(yes.code, 0, yes.stderr);
      assert.ok(!fs.existsSync(kafkaData), 'deleted with --yes');
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });

  it('fails with exit code 1, what happened and the next step', function () {
    const r = cli(['restart', 'hive']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: Unknown service "hive"\. Known services: kafka, kafka-2, kafka-3, spark-master/m);
    assert.match(r.stderr, /^Next step: Use one of: kafka, spark-master, spark-worker, lineage, postgres, airflow-webserver, airflow-scheduler\.$/m);
  });

  it('--project names your own project\u2019s layout and parts (as the Stack view\u2019s Project node), and refuses a folder that is not there', function () {
    const astro = path.join(repoRoot, 'test', 'fixtures', 'projects', 'astro-project');
    const r = cli(['status', '--project', astro]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Project astro-project: Astro CLI project$/m);
    assert.ok(r.stderr.includes(`  Requirements: ${path.join(astro, 'requirements.txt')}\n`), r.stderr);
    assert.ok(r.stderr.includes(`  Airflow settings: ${path.join(astro, 'airflow_settings.yaml')}\n`), r.stderr);
    const missing = cli(['status', '--project', path.join(os.tmpdir(), 'no such project \u00e9')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--project .*no such project \u00e9: no such folder\./);
  });

  it('explains its usage on a wrong option (exit code 2)', function () {
    const r = cli(['up', '--services', 'kafka,hive']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown service group "hive"/);
    assert.match(r.stderr, /usage: npm run stack -- <command>/);
  });
});
