/** The inner loop's pure parts: which saved file is which server file, the runner's XCom lines and paths, task definitions in a DAG file, the stack's parse-at-once settings on both backends. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { isDagFile, mightContainDag } from '../../src/services/airflow/parseWatch';
import { mapPaths, parseXcomLine, runnerArgv } from '../../src/services/airflow/taskRun';
import { LineSplitter } from '../../src/services/spark/driverOutput';
import { findTaskDefinitions } from '../../src/services/airflow/dagFile';
import { PARSE_AT_ONCE_AIRFLOW2, PARSE_AT_ONCE_AIRFLOW3 } from '../../src/services/stack/native/airflowConfig';

describe('inner loop: save → seen, run one task', () => {
  it('matches a saved file to the server path of the same file, native or in a container, and nothing else', () => {
    assert.ok(isDagFile('/home/me/proj/dags/etl/orders.py', 'etl/orders.py'));
    assert.ok(isDagFile('/opt/airflow/dags/etl/orders.py', 'etl/orders.py'));
    assert.ok(isDagFile('C:\\proj\\dags\\orders.py', 'orders.py'));
    assert.ok(!isDagFile('/opt/airflow/dags/etl/my_orders.py', 'orders.py'), 'a longer name that ends the same is another file');
    assert.ok(!isDagFile('/opt/airflow/dags/other/orders.py', 'etl/orders.py'));
  });

  it('skips files Airflow itself skips (no "airflow" and "dag" in them)', () => {
    assert.ok(mightContainDag('from airflow import DAG'));
    assert.ok(mightContainDag('import Airflow\n# my dag'));
    assert.ok(!mightContainDag('def helper():\n    return 1\n'));
  });

  it('builds the CLI arguments of a task run and a DAG test', () => {
    assert.deepEqual(runnerArgv({ kind: 'task', dagId: 'd', taskId: 't' }), ['tasks', 'test', 'd', 't']);
    assert.deepEqual(runnerArgv({ kind: 'task', dagId: 'd', taskId: 't', logicalDate: '2024-01-01' }), ['tasks', 'test', 'd', 't', '2024-01-01']);
    assert.deepEqual(runnerArgv({ kind: 'dag', dagId: 'd' }), ['dags', 'test', 'd']);
  });

  it('reads the runner\u2019s XCom lines, and leaves any other line (a task printing the mark without JSON) alone', () => {
    assert.deepEqual(parseXcomLine('DATAPIPELINE_XCOM {"task": "produce", "key": "return_value", "value": {"n": 3}}'), { task: 'produce', key: 'return_value', value: { n: 3 } });
    assert.deepEqual(parseXcomLine('[2026-12-07 03:10:00] INFO - DATAPIPELINE_XCOM {"task": "t", "key": "k", "value": "a } \\" {"} chan="stdout" source="task"'), { task: 't', key: 'k', value: 'a } " {' }, 'inside a log line');
    assert.equal(parseXcomLine('[2024-01-01] INFO - Done. Returned value was: 3'), undefined);
    assert.equal(parseXcomLine('DATAPIPELINE_XCOM not json'), undefined);
    assert.equal(parseXcomLine('DATAPIPELINE_XCOM {"value": 1}'), undefined, 'no key: not an XCom line');
  });

  it('maps container paths to the workspace, the longest mount first, whole folder names only', () => {
    const map = [
      { remote: '/opt/airflow', local: '/home/me/stack' },
      { remote: '/opt/airflow/dags', local: '/home/me/My Project/dags' },
    ];
    assert.equal(mapPaths('  File "/opt/airflow/dags/x.py", line 3', map), '  File "/home/me/My Project/dags/x.py", line 3');
    assert.equal(mapPaths('/opt/airflow/logs/a.log', map), '/home/me/stack/logs/a.log');
    assert.equal(mapPaths('/opt/airflowx/y', map), '/opt/airflowx/y');
  });

  it('splits streamed chunks into whole lines, a line cut across chunks kept whole', () => {
    const lines: string[] = [];
    const s = new LineSplitter();
    lines.push(...s.push('one\r\ntw'));
    lines.push(...s.push('o\nthr'));
    assert.deepEqual(lines, ['one', 'two']);
    lines.push(...s.flush());
    assert.deepEqual(lines, ['one', 'two', 'thr']);
  });

  it('finds the tasks of a DAG file, each with its DAG (operators by task_id, @task functions by name)', () => {
    const text = [
      'from airflow import DAG',
      'from airflow.decorators import task',
      'with DAG(dag_id="first", schedule=None):',
      '    a = BashOperator(task_id="extract", bash_command="true")',
      '    @task',
      '    def transform():',
      '        return 1',
      'with DAG("second"):',
      '    @task(task_id="load_it")',
      '    def load():',
      '        pass',
      '    EmptyOperator(task_id = "done")',
    ].join('\n');
    assert.deepEqual(
      findTaskDefinitions(text).map((t) => [t.dagId, t.taskId, t.line]),
      [['first', 'extract', 3], ['first', 'transform', 4], ['second', 'load_it', 8], ['second', 'done', 11]],
    );
    assert.deepEqual(findTaskDefinitions('x = Operator(task_id="a")'), [], 'no DAG in the file: no task lens');
  });

  it('the Docker stack parses at once with the same settings as the native stack, for both Airflows', () => {
    const compose = parse(fs.readFileSync(path.join(__dirname, '..', '..', 'stack', 'docker-compose.yaml'), 'utf8'), { merge: true }) as Record<string, { environment: Record<string, string> }>;
    for (const [anchor, expected] of [['x-airflow-common', PARSE_AT_ONCE_AIRFLOW2], ['x-airflow3-common', PARSE_AT_ONCE_AIRFLOW3]] as const) {
      const env = compose[anchor].environment;
      for (const [k, v] of Object.entries(expected)) assert.equal(String(env[k]), v, `${anchor} ${k}`);
    }
  });
});
