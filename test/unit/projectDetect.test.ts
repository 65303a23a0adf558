import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeProject, detectProject } from '../../src/services/project/detect';
import { requirementsKey } from '../../src/services/project/requirements';
import { projectImagePlan, projectSparkImagePlan } from '../../src/services/stack/docker/projectImage';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'projects');
const BUNDLED = path.join(__dirname, '..', '..', 'stack');

describe('project detection: the workspace\u2019s own layout, no edit to its files', () => {
  it('the original stack\u2019s root layout: dags/, scripts/, plugins/, its requirements and its own compose file', () => {
    const root = path.join(FIXTURES, 'root-layout');
    const p = detectProject([root], BUNDLED);
    assert.equal(p.kind, 'root');
    assert.equal(p.root, root);
    assert.equal(p.dagsDir, path.join(root, 'dags'));
    assert.equal(p.scriptsDir, path.join(root, 'scripts'));
    assert.equal(p.pluginsDir, path.join(root, 'plugins'));
    assert.equal(p.requirements, path.join(root, 'requirements.txt'));
    assert.equal(p.composeFile, path.join(root, 'docker-compose.yaml'));
    assert.equal(p.airflowSettings, undefined);
  });

  it('an Astro CLI project: dags/, include/, plugins/, requirements.txt, packages.txt and airflow_settings.yaml; no compose file', () => {
    const root = path.join(FIXTURES, 'astro-project');
    const p = detectProject([root], BUNDLED);
    assert.equal(p.kind, 'astro');
    assert.equal(p.includeDir, path.join(root, 'include'));
    assert.equal(p.requirements, path.join(root, 'requirements.txt'));
    assert.equal(p.packages, path.join(root, 'packages.txt'));
    assert.equal(p.airflowSettings, path.join(root, 'airflow_settings.yaml'));
    assert.equal(p.composeFile, undefined);
    // a Dockerfile FROM astro-runtime is enough (an Astro project without .astro/ committed)
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-astro-'));
    try {
      fs.mkdirSync(path.join(copy, 'dags'));
      fs.writeFileSync(path.join(copy, 'Dockerfile'), '# syntax=docker/dockerfile:1\nFROM quay.io/astronomer/astro-runtime:12.1.0\n');
      assert.equal(detectProject([copy], BUNDLED).kind, 'astro');
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('this extension\u2019s stack in the workspace, a folder of DAG files, and nothing at all (the bundled stack)', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-proj-'));
    try {
      const withStack = path.join(work, 'with stack');
      fs.mkdirSync(path.join(withStack, 'stack', 'dags'), { recursive: true });
      assert.deepEqual([detectProject([withStack], BUNDLED).kind, detectProject([withStack], BUNDLED).root], ['stack', path.join(withStack, 'stack')]);
      const loose = path.join(work, 'mes DAGs — été');
      fs.mkdirSync(loose);
      fs.writeFileSync(path.join(loose, 'etl.py'), 'from airflow import DAG\nwith DAG("etl") as dag:\n    pass\n');
      fs.writeFileSync(path.join(loose, 'util.py'), 'def f():\n    return 1\n');
      const p = detectProject([loose], BUNDLED);
      assert.deepEqual([p.kind, p.dagsDir], ['dags', loose]);
      const empty = path.join(work, 'empty');
      fs.mkdirSync(empty);
      const none = detectProject([empty], BUNDLED);
      assert.deepEqual([none.kind, none.dagsDir], ['bundled', path.join(BUNDLED, 'dags')]);
      assert.equal(detectProject([], BUNDLED).kind, 'bundled', 'an untrusted workspace passes no folders');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('a setting overrides each path, relative to the workspace folder; the Project node says which', () => {
    const root = path.join(FIXTURES, 'root-layout');
    const p = detectProject([root], BUNDLED, { dagsFolder: 'scripts', requirementsFile: '/elsewhere/req.txt', includeFolder: '  ' });
    assert.equal(p.dagsDir, path.join(root, 'scripts'));
    assert.equal(p.requirements, '/elsewhere/req.txt');
    assert.deepEqual(p.overridden, ['dagsFolder', 'requirementsFile']);
    const rows = describeProject(p);
    assert.deepEqual(rows.find((r) => r.label === 'DAGs'), { label: 'DAGs', value: path.join(root, 'scripts'), overridden: true });
    assert.deepEqual(rows.find((r) => r.label === 'Include'), { label: 'Include', value: undefined, overridden: false });
  });
});

describe('what is built from a project\u2019s requirements, and when again', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-req-key-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const project = (requirements: string) => {
    const file = path.join(dir, `requirements-${Math.random().toString(36).slice(2)}.txt`);
    fs.writeFileSync(file, requirements);
    return { dagsDir: dir, requirements: file };
  };

  it('reads a requirements file as pip does: comments, blank lines and spaces do not count; a URL\u2019s #egg= stays', () => {
    assert.equal(requirementsKey('# ours\nkafka-python==2.0.2  # the DAGs\n\n  pycountry==24.6.1\n'), 'kafka-python==2.0.2\npycountry==24.6.1');
    assert.equal(requirementsKey('git+https://example.invalid/x.git#egg=x\r\n'), 'git+https://example.invalid/x.git#egg=x');
  });

  it('a comment saved builds no new image; a package added does; the Spark image leaves Airflow\u2019s own packages out and is none when nothing else is asked for', () => {
    const base = 'datapipeline/airflow:2.8.1';
    const a = projectImagePlan(project('pycountry==24.6.1\n'), base, 'inputs')!;
    const commented = projectImagePlan(project('# country names\npycountry==24.6.1   # the report\n'), base, 'inputs')!;
    const more = projectImagePlan(project('pycountry==24.6.1\ncowsay==6.1\n'), base, 'inputs')!;
    assert.equal(commented.tag, a.tag);
    assert.notEqual(more.tag, a.tag);
    assert.match(a.tag, /^datapipeline\/airflow-project:[0-9a-f]{16}$/);

    const spark = projectSparkImagePlan(project('apache-airflow-providers-postgres==5.10.0\npycountry==24.6.1\n'), 'datapipeline/spark:3.5.0', 'inputs', 'pycountry==24.6.1\n')!;
    assert.match(spark.tag, /^datapipeline\/spark-project:[0-9a-f]{16}$/);
    assert.equal(spark.kind, 'spark');
    assert.equal(projectSparkImagePlan(project('# providers only\napache-airflow-providers-postgres==5.10.0\n'), 'datapipeline/spark:3.5.0', 'inputs', ''), undefined);
    // the constraints of the Airflow the stack runs are part of what it is built from
    assert.notEqual(projectSparkImagePlan(project('pycountry==24.6.1\n'), 'datapipeline/spark:3.5.0', 'inputs', 'other constraints')!.tag, spark.tag);
  });
});
