/** Where the views find the Airflow, Kafka and Spark master of a compose file of the user's own. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadComposeModel } from '../../src/services/docker/composeFile';
import { foreignEndpoints, isDataPipelineCompose } from '../../src/services/stack/docker/foreignEndpoints';

const ROOT_LAYOUT = path.join(__dirname, '..', 'fixtures', 'projects', 'root-layout');
const STACK = path.join(__dirname, '..', '..', 'stack');

function compose(text: string, dotEnv = ''): ReturnType<typeof loadComposeModel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-foreign-'));
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), text);
  if (dotEnv) fs.writeFileSync(path.join(dir, '.env'), dotEnv);
  try {
    return loadComposeModel(dir, undefined, {});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('a compose file of your own: where the views find its Airflow, Kafka and Spark master', () => {
  it('the root-layout fixture: Airflow by the port its .env publishes; Kafka and the Spark master publish none, each named with the setting to set', () => {
    const model = loadComposeModel(ROOT_LAYOUT, undefined, {});
    assert.equal(isDataPipelineCompose(model), false);
    const f = foreignEndpoints(model);
    assert.deepEqual(f.endpoints, { airflowUrl: 'http://127.0.0.1:8080' });
    assert.deepEqual(f.services, { airflow: 'airflow-webserver', kafka: 'kafka', sparkMaster: 'spark-master' });
    assert.equal(f.notes.length, 2, f.notes.join('\n'));
    assert.match(f.notes[0], /^Kafka \(kafka in docker-compose\.yaml\) publishes no port to this machine: publish one \(ports: "127\.0\.0\.1:9092:9092".*\) or set datapipeline\.kafka\.bootstrapServers\.$/);
    assert.match(f.notes[1], /^The Spark master \(spark-master in docker-compose\.yaml\) publishes no port.*datapipeline\.spark\.masterUrl and datapipeline\.spark\.uiUrl\.$/);
  });

  it('reads the usual images and names: Confluent\u2019s Kafka on 29092, bitnami\u2019s Spark master by SPARK_MODE, Airflow 3\u2019s api-server; Kafka UI and the worker are not taken for them', () => {
    const model = compose(`
services:
  kafka-ui:
    image: provectuslabs/kafka-ui:latest
    ports: ["8088:8080"]
  broker:
    image: confluentinc/cp-kafka:7.6.0
    ports: ["127.0.0.1:29092:29092", "9101:9101"]
  spark-worker:
    image: bitnami/spark:3.5.0
    environment: [SPARK_MODE=worker]
    ports: ["8081:8081"]
  spark:
    image: bitnami/spark:3.5.0
    environment:
      - SPARK_MODE=master
    ports:
      - target: 7077
        published: 17077
      - "0.0.0.0:18080:8080"
  airflow-scheduler:
    image: apache/airflow:3.0.2
    command: scheduler
  airflow-apiserver:
    image: apache/airflow:3.0.2
    command: api-server
    ports: ["\${AIRFLOW_PORT:-8080}:8080"]
`, 'AIRFLOW_PORT=18085\n');
    assert.equal(isDataPipelineCompose(model), false);
    const f = foreignEndpoints(model);
    assert.deepEqual(f.endpoints, { airflowUrl: 'http://127.0.0.1:18085', kafkaBootstrap: '127.0.0.1:29092', sparkMasterUrl: 'spark://127.0.0.1:17077', sparkUiUrl: 'http://127.0.0.1:18080' });
    assert.deepEqual(f.services, { kafka: 'broker', sparkMaster: 'spark', airflow: 'airflow-apiserver' });
    assert.deepEqual(f.notes, []);
  });

  it('a Spark master with only its UI published, and no Airflow at all: each said with its setting', () => {
    const f = foreignEndpoints(compose(`
services:
  spark-master:
    image: apache/spark:3.5.0
    command: /opt/spark/bin/spark-class org.apache.spark.deploy.master.Master
    ports: ["8080:8080"]
  kafka:
    image: apache/kafka:3.7.0
    ports: ["9092:9092"]
`));
    assert.deepEqual(f.endpoints, { kafkaBootstrap: '127.0.0.1:9092', sparkUiUrl: 'http://127.0.0.1:8080' });
    assert.deepEqual(f.notes, [
      'docker-compose.yml has no Airflow service that DataPipeline recognises: set datapipeline.airflow.url to reach yours.',
      'The Spark master (spark-master in docker-compose.yml) publishes no master port (7077) to this machine: publish it (ports: "127.0.0.1:7077:7077") or set datapipeline.spark.masterUrl.',
    ]);
  });

  it('DataPipeline\u2019s own compose file (the bundled stack, or a copy of it in the workspace) is not one of the user\u2019s', () => {
    assert.equal(isDataPipelineCompose(loadComposeModel(STACK, undefined, {})), true);
  });
});
