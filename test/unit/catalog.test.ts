import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadComposeModel } from '../../src/services/docker/composeFile';
import {
  CATALOG,
  catalogEndpoints,
  composePortOf,
  composeProfileOf,
  composeServiceOf,
  instanceLabel,
  portsTable,
  nativePortOf,
  resolveService,
  stackServices,
  startOrder,
  startWaves,
  type CatalogService,
} from '../../src/services/stack/catalog';
import { DEFAULT_PORTS, endpointValues, SERVICE_GROUP, SERVICE_LABEL, SERVICE_ORDER, servicePorts, servicesFor } from '../../src/services/stack/native/config';
import { stackRows } from '../../src/services/stack/native/statusRows';
import { AIRFLOW_PROFILE, scaleVariables } from '../../src/services/stack/docker/dockerBackend';

const STACK = path.join(__dirname, '..', '..', 'stack');

describe('the stack catalog: one entry per service, everything else derived from it', () => {
  it('derives the native start order, groups, labels and ports the stack had before the catalog', () => {
    // what native/config.ts listed by hand before the catalog (the same order, names and ports)
    assert.deepEqual(SERVICE_ORDER, [
      'kafka', 'kafka-2', 'kafka-3', 'spark-master', 'spark-worker', 'spark-worker-2', 'spark-worker-3', 'lineage', 'postgres',
      'airflow-webserver', 'airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer',
    ]);
    assert.deepEqual(DEFAULT_PORTS, { kafka: 9092, kafkaController: 9093, sparkMaster: 7077, sparkMasterUi: 8080, sparkWorkerUi: 8081, airflow: 8085, postgres: 5432, lineage: 5055 });
    assert.equal(SERVICE_GROUP.postgres, 'airflow');
    assert.equal(SERVICE_GROUP['kafka-3'], 'kafka');
    assert.equal(SERVICE_LABEL['kafka-2'], 'Kafka broker 2 (KRaft)');
    assert.equal(SERVICE_LABEL['spark-worker-3'], 'Spark worker 3');
    assert.deepEqual(servicesFor(['kafka', 'spark', 'airflow']), ['kafka', 'spark-master', 'spark-worker', 'lineage', 'postgres', 'airflow-webserver', 'airflow-scheduler']);
    assert.deepEqual(servicesFor(['airflow'], { kafkaBrokers: 3, sparkWorkers: 2 }, 3), ['lineage', 'postgres', 'airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer']);
    assert.deepEqual(servicePorts('kafka-2', DEFAULT_PORTS), [{ name: 'Kafka bootstrap', port: 9094 }, { name: 'Kafka controller', port: 9095 }]);
    assert.deepEqual(servicePorts('spark-worker-2', DEFAULT_PORTS), [{ name: 'Spark worker UI', port: 8082, url: 'http://127.0.0.1:8082' }]);
    assert.deepEqual(servicePorts('airflow-api-server', { ...DEFAULT_PORTS, airflow: 18085 }), [{ name: 'Airflow UI', port: 18085, url: 'http://127.0.0.1:18085' }]);
    assert.deepEqual(servicePorts('airflow-scheduler', DEFAULT_PORTS), []);
    assert.deepEqual(endpointValues(DEFAULT_PORTS, { kafkaBrokers: 3, sparkWorkers: 1 }), {
      kafkaBootstrap: '127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096',
      sparkMasterUrl: 'spark://127.0.0.1:7077',
      sparkUiUrl: 'http://127.0.0.1:8080',
      airflowUrl: 'http://127.0.0.1:8085',
      lineageUrl: 'http://127.0.0.1:5055',
    });
  });

  it('derives the start waves: a cluster\u2019s brokers together, Airflow\u2019s processes together once PostgreSQL is up, the rest one by one', () => {
    const waves = startWaves(stackServices({ backend: 'native', scale: { kafkaBrokers: 3, sparkWorkers: 2 }, airflow: 3 })).map((w) => w.map((s) => s.id));
    assert.deepEqual(waves, [
      ['kafka', 'kafka-2', 'kafka-3'],
      ['spark-master'],
      ['spark-worker', 'spark-worker-2'],
      ['lineage'],
      ['postgres'],
      ['airflow-api-server', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer'],
    ]);
  });

  it('derives the Stack view rows of the native stack (ids, labels, ports with their URLs)', () => {
    const rows = stackRows({ scale: { kafkaBrokers: 1, sparkWorkers: 2 }, airflow: 2 }, nativePortOf({ ...DEFAULT_PORTS }));
    assert.deepEqual(rows.map((r) => `${r.id} | ${r.label} | ${r.ports.map((p) => `${p.name}=${p.port}${p.url ? ' ' + p.url : ''}`).join(', ')}`), [
      'kafka | Kafka broker (KRaft) | Kafka bootstrap=9092, Kafka controller=9093',
      'spark-master | Spark master | Spark master=7077, Spark master UI=8080 http://127.0.0.1:8080',
      'spark-worker | Spark worker | Spark worker UI=8081 http://127.0.0.1:8081',
      'spark-worker-2 | Spark worker 2 | Spark worker UI=8082 http://127.0.0.1:8082',
      'lineage | OpenLineage receiver | OpenLineage=5055 http://127.0.0.1:5055',
      'postgres | PostgreSQL (Airflow metadata DB) | PostgreSQL=5432',
      'airflow-webserver | Airflow webserver | Airflow UI=8085 http://127.0.0.1:8085',
      'airflow-scheduler | Airflow scheduler | ',
    ]);
  });

  it('names a service by its id, its compose name or its group; an unknown name is refused with the known ones', () => {
    assert.deepEqual(resolveService('broker', 'native'), ['kafka']);
    assert.deepEqual(resolveService('Spark', 'native'), ['spark-master', 'spark-worker', 'spark-worker-2', 'spark-worker-3']);
    assert.deepEqual(resolveService('airflow3-scheduler', 'docker'), ['airflow-scheduler']);
    assert.throws(() => resolveService('kafka-ui', 'native'), /Unknown service "kafka-ui"\. Known services: kafka, kafka-2/);
    assert.deepEqual(resolveService('kafka-ui', 'docker'), ['kafka-ui']);
  });

  it('agrees with the bundled compose file: every entry\u2019s service, id, label, profile and published ports, and no compose service left out', () => {
    for (const airflow of [2, 3] as const) {
      const model = loadComposeModel(STACK, undefined, { ...process.env, ...scaleVariables({ kafkaBrokers: 3, sparkWorkers: 1 }) });
      const port = composePortOf(model.env);
      const seen = new Set<string>();
      for (const s of stackServices({ backend: 'docker', airflow })) {
        if (s.index > 0 && !s.entry.compose?.instanceServices) continue; // compose's own --scale: one service
        const name = composeServiceOf(s.entry, s.index, airflow)!;
        const svc = model.services.find((x) => x.name === name);
        assert.ok(svc, `${s.id}: compose service ${name} is in the file`);
        seen.add(name);
        assert.equal(svc.labels['datapipeline.id'] ?? svc.name, s.id, `${name}'s id`);
        assert.equal(svc.labels['datapipeline.label'], instanceLabel(s.entry, s.index, airflow), `${name}'s label`);
        assert.deepEqual(svc.profiles, composeProfileOf(s.entry, s.index, airflow) ? [composeProfileOf(s.entry, s.index, airflow)] : [], `${name}'s profile`);
        // the host ports compose publishes are exactly the catalog's (its variables and defaults)
        const published = svc.ports.map((p) => p.port).sort();
        const expected = s.entry.ports.filter((p) => !p.nativeOnly && p.composeVar).map((p) => port(p.key, s.index)).sort();
        assert.deepEqual(published, expected, `${name}'s published ports`);
        for (const p of s.entry.ports.filter((x) => x.composeVar)) {
          const v = s.index === 0 ? p.composeVar! : `${p.composeVar}_${s.index + 1}`;
          assert.match(fs.readFileSync(model.file, 'utf8'), new RegExp(`\\$\\{${v}:-${p.default + (p.step ?? 0) * s.index}\\}`), `${name}: ${v} defaults to the catalog's ${p.key}`);
        }
      }
      const other = AIRFLOW_PROFILE[airflow === 2 ? 3 : 2];
      const leftOut = model.services.filter((x) => !seen.has(x.name) && !x.profiles.includes(other)).map((x) => x.name);
      assert.deepEqual(leftOut, [], `compose services of Airflow ${airflow} with no catalog entry`);
    }
  });

  it('a new entry shows in the Stack view rows, the native start order and the endpoints, with nothing else edited', () => {
    const registry: CatalogService = {
      id: 'schema-registry',
      label: 'Schema Registry',
      group: 'spark',
      dependsOn: ['kafka'],
      ports: [{ name: 'Schema Registry API', key: 'schemaRegistry', default: 8091, http: true }],
      health: 'compose',
      startTimeoutMs: 60_000,
      provides: { schemaRegistryUrl: (p) => `http://127.0.0.1:${p('schemaRegistry')}` },
    };
    // placed first in the list: its dependency still starts before it
    const catalog = [registry, ...CATALOG];
    assert.deepEqual(startOrder(catalog).map((e) => e.id).slice(0, 3), ['kafka', 'schema-registry', 'kafka-ui']);
    const ids = stackServices({ backend: 'native', airflow: 2, scale: { kafkaBrokers: 1, sparkWorkers: 1 } }, catalog).map((s) => s.id);
    assert.deepEqual(ids, ['kafka', 'schema-registry', 'spark-master', 'spark-worker', 'lineage', 'postgres', 'airflow-webserver', 'airflow-scheduler']);
    const ports = { ...DEFAULT_PORTS, schemaRegistry: 18091 };
    const row = stackRows({ airflow: 2 }, nativePortOf(ports, catalog), catalog).find((r) => r.id === 'schema-registry');
    assert.deepEqual(row, { id: 'schema-registry', label: 'Schema Registry', ports: [{ name: 'Schema Registry API', host: '127.0.0.1', port: 18091, url: 'http://127.0.0.1:18091' }] });
    const e = catalogEndpoints(nativePortOf(ports, catalog), { airflow: 2 }, catalog);
    assert.equal(e.schemaRegistryUrl, 'http://127.0.0.1:18091');
    assert.equal(e.kafkaBootstrap, '127.0.0.1:9092');
  });

  it('the nativePorts setting names every native port of the catalog and no other, with its default in the description', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(STACK, '..', 'package.json'), 'utf8'));
    const setting = pkg.contributes.configuration.properties['datapipeline.stack.nativePorts'];
    assert.deepEqual(Object.keys(setting.properties).sort(), Object.keys(DEFAULT_PORTS).sort());
    for (const [key, port] of Object.entries(DEFAULT_PORTS)) {
      assert.ok(setting.markdownDescription.includes(`\`${key}\``), `the description names ${key}`);
      assert.ok(setting.markdownDescription.includes(String(port)), `the description gives ${key}'s default ${port}`);
    }
  });

  it('the README\u2019s ports table is the catalog\u2019s', () => {
    const readme = fs.readFileSync(path.join(STACK, '..', 'README.md'), 'utf8');
    const table = /<!-- ports:begin -->\n([\s\S]*?)\n<!-- ports:end -->/.exec(readme)?.[1];
    assert.equal(table, portsTable(), 'regenerate it: npx tsx -e "import {portsTable} from \'./src/services/stack/catalog\'; console.log(portsTable())"');
    assert.match(table!, /\| Kafka broker — Kafka bootstrap \| 9092 .*\| `kafka` \| `KAFKA_PORT`, `KAFKA_PORT_2`, `KAFKA_PORT_3` \|/);
  });

  it('refuses a catalog with an unknown dependency or a cycle, naming it', () => {
    const a: CatalogService = { ...CATALOG[0], id: 'a', dependsOn: ['b'] };
    const b: CatalogService = { ...CATALOG[0], id: 'b', dependsOn: ['a'] };
    assert.throws(() => startOrder([a]), /"a" depends on "b", which is not in it/);
    assert.throws(() => startOrder([a, b]), /dependency cycle: a → b → a/);
  });
});
