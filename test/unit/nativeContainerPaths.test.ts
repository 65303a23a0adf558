import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { containerPathMap, layout } from '../../src/services/stack/native/layout';

const SITE = path.join(__dirname, '..', '..', 'stack', 'native', 'python');

/** Runs `code` in a real Python with the native stack's sitecustomize and this path map. */
function python(code: string, map: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: SITE, DATAPIPELINE_PATH_MAP: JSON.stringify(map) } });
}

describe('container paths on the native stack (stack/native/python/sitecustomize.py)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-paths é "q" '));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('maps /opt/airflow/{dags,scripts,plugins,include} and Astro\u2019s /usr/local/airflow/... to the project\u2019s folders', () => {
    const l = layout('/stack', '/cache', '/state', 2, { dagsDir: '/p/dags', scriptsDir: '/p/jobs', includeDir: '/p/include' });
    assert.deepEqual(containerPathMap(l), {
      '/opt/airflow/dags': '/p/dags',
      '/usr/local/airflow/dags': '/p/dags',
      '/opt/airflow/scripts': '/p/jobs',
      '/usr/local/airflow/scripts': '/p/jobs',
      '/opt/airflow/plugins': path.resolve('/p/dags', '..', 'plugins'),
      '/usr/local/airflow/plugins': path.resolve('/p/dags', '..', 'plugins'),
      '/opt/airflow/include': '/p/include',
      '/usr/local/airflow/include': '/p/include',
    });
  });

  it('a DAG\u2019s sys.path.insert(0, "/opt/airflow/scripts") imports the project\u2019s module, in a folder with spaces, quotes and accents', () => {
    const scripts = path.join(dir, 'scripts');
    fs.mkdirSync(path.join(scripts, 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(scripts, 'transforms.py'), 'ANSWER = 42\n');
    fs.writeFileSync(path.join(scripts, 'pkg', '__init__.py'), 'NAME = "pkg"\n');
    const r = python('import sys\nsys.path.insert(0, "/opt/airflow/scripts")\nimport transforms, pkg\nprint(transforms.ANSWER, pkg.NAME, transforms.__file__)', { '/opt/airflow/scripts': scripts });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `42 pkg ${path.join(scripts, 'transforms.py')}`);
  });

  it('a container path with no folder here is an import error naming it and the setting; other imports are untouched', () => {
    const r = python('import sys, json\nsys.path.insert(0, "/opt/airflow/lib")\ntry:\n    import helpers\nexcept ModuleNotFoundError as e:\n    print(e)\nimport csv\nprint(csv.__name__)', { '/opt/airflow/scripts': dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^No module named 'helpers': sys\.path names \/opt\/airflow\/lib, a container path with no folder on this machine .* Set datapipeline\.project\.scriptsFolder/m);
    assert.match(r.stdout, /^csv$/m);
  });

  it('without a path map (the Docker stack) nothing changes', () => {
    const r = spawnSync('python3', ['-c', 'import sys\nprint(len(sys.path_hooks), any("UnmappedContainerPath" in repr(f) for f in sys.meta_path))'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: SITE, DATAPIPELINE_PATH_MAP: '' } });
    const plain = spawnSync('python3', ['-c', 'import sys\nprint(len(sys.path_hooks), False)'], { encoding: 'utf8' });
    assert.equal(r.stdout, plain.stdout);
  });
});
