import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSparkPackages, sparkPackagesIn } from '../../src/services/project/sparkPackages';

describe('the Spark packages a project\u2019s DAGs name', () => {
  it('reads a SparkSubmitOperator\u2019s packages= and an argv\u2019s "--packages", each coordinate once; anything else is left alone', () => {
    const dag = [
      'load = SparkSubmitOperator(task_id="load", packages="org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.0,org.postgresql:postgresql:42.5.0")',
      "cmd = ['spark-submit', '--packages', 'io.delta:delta-spark_2.12:3.2.0', 'job.py']",
      "other = dict(packages='not a coordinate')",
      'x = packages  # not a string',
    ].join('\n');
    assert.deepEqual(sparkPackagesIn(dag), ['org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.0', 'org.postgresql:postgresql:42.5.0', 'io.delta:delta-spark_2.12:3.2.0']);
  });

  it('walks the DAGs folder (sorted, unique), skipping hidden folders; the root-layout fixture names the Kafka connector and the JDBC driver', () => {
    const fixture = path.join(__dirname, '..', 'fixtures', 'projects', 'root-layout', 'dags');
    assert.deepEqual(findSparkPackages(fixture), ['org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.0', 'org.postgresql:postgresql:42.5.0']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-pkgs-'));
    try {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.mkdirSync(path.join(dir, '.venv'));
      fs.writeFileSync(path.join(dir, 'sub', 'a.py'), 'packages="b:b:1,a:a:1"');
      fs.writeFileSync(path.join(dir, '.venv', 'x.py'), 'packages="hidden:h:1"');
      fs.writeFileSync(path.join(dir, 'b.py'), 'packages="a:a:1"');
      assert.deepEqual(findSparkPackages(dir), ['a:a:1', 'b:b:1']);
      assert.deepEqual(findSparkPackages(path.join(dir, 'missing')), []);
      assert.deepEqual(findSparkPackages(undefined), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
