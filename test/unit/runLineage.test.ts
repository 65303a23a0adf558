/**
 * runLineage: a run's datasets and Spark applications from OpenLineage events, in the shapes the real
 * producers send (recorded from the native stack: Airflow's provider 1.4.0, the Spark listener 1.37.0,
 * the stack's listener), trimmed to the fields that matter.
 */
import * as assert from 'node:assert/strict';
import { mergeRanges } from '../../src/services/airflow/runTrace';
import { compactEvent, type OLEvent } from '../../src/services/lineage/openlineage';
import { describeDataset, runEvents as eventsOfRun, runLineage } from '../../src/services/lineage/runLineage';
import { lineageGraph, runPath } from '../../src/services/lineage/graph';

const K = 'kafka://127.0.0.1:9092';
const DAG = 'orders_enrichment';
const RUN1 = 'manual__2026-12-06T23:13:21.212972+00:00';
const RUN2 = 'manual__2026-12-06T23:14:02.604240+00:00';

function ev(runId: string, job: string, extra: Partial<OLEvent> & { facets?: Record<string, unknown> } = {}): OLEvent {
  const { facets, ...rest } = extra;
  return { eventType: 'START', eventTime: '2026-12-06T23:13:22Z', producer: 'p', run: { runId, facets }, job: { namespace: 'datapipeline', name: job }, ...rest };
}
const parent = (runId: string, root?: string) => ({ parent: { run: { runId }, job: { namespace: 'datapipeline', name: 'x' }, ...(root ? { root: { run: { runId: root }, job: { namespace: 'datapipeline', name: 'y' } } } : {}) } });
const dp = (taskId: string, run: string, f: Record<string, unknown> = {}) => ({ datapipeline_kafka: { dagId: DAG, taskId, runId: run, tryNumber: 1, state: 'success', measured: [], endOffsets: {}, ...f } });

/** One run of the fixture DAG as its events arrive: publish (kafka-python), enrich (Spark), count (kafka-python). */
function runEvents(run: string, ids: { publish: string; enrich: string; count: string; app: string }, base: number): OLEvent[] {
  const range = (n: number) => ({ start: { '0': base, '1': base }, end: { '0': base + n, '1': base + 100 - n } });
  const at = `2026-12-06T23:${String(13 + base / 100).padStart(2, '0')}:22Z`;
  return ([
    ev(ids.publish, `${DAG}.publish_raw_orders`, { facets: parent('dagrun') }),
    ev(ids.publish, `${DAG}.publish_raw_orders`, { eventType: 'COMPLETE', facets: parent('dagrun') }),
    ev(ids.publish, `${DAG}.publish_raw_orders`, {
      eventType: 'OTHER',
      outputs: [{ namespace: K, name: 'orders_raw' }],
      facets: dp('publish_raw_orders', run, { measured: [{ servers: '127.0.0.1:9092', topic: 'orders_raw', role: 'write', ...range(40) }] }),
    }),
    ev(ids.enrich, `${DAG}.enrich_orders`, { facets: parent('dagrun') }),
    // the application, then an action under it (parent: the application, root: the task)
    ev(ids.app, 'enrich_orders', { facets: { ...parent(ids.enrich), spark_applicationDetails: { applicationId: `app-${base}`, appName: 'enrich_orders', uiWebUrl: 'http://127.0.0.1:4040' } } }),
    ev(`${ids.app}-a1`, 'enrich_orders.execute_save_into_data_source_command', {
      inputs: [{ namespace: K, name: 'orders_raw' }],
      outputs: [{ namespace: K, name: 'orders_enriched' }],
      facets: parent(ids.app, ids.enrich),
    }),
    ev(`${ids.app}-a2`, 'enrich_orders.execute_save_into_data_source_command.orders_enriched', {
      inputs: [{ namespace: K, name: 'orders_raw' }],
      outputs: [{ namespace: 'postgres://127.0.0.1:5432', name: 'airflow.orders_enriched' }],
      facets: parent(ids.app, ids.enrich),
    }),
    ev(ids.enrich, `${DAG}.enrich_orders`, {
      eventType: 'OTHER',
      facets: dp('enrich_orders', run, { endOffsets: { orders_enriched: { start: { '0': base, '1': base, '2': base }, end: { '0': base + 30, '1': base + 70, '2': base } } } }),
    }),
    ev(ids.count, `${DAG}.count_enriched_orders`, {
      eventType: 'OTHER',
      inputs: [{ namespace: K, name: 'orders_enriched' }],
      facets: dp('count_enriched_orders', run, { measured: [{ servers: '127.0.0.1:9092', topic: 'orders_enriched', role: 'read', start: { '0': base, '1': base }, end: { '0': base + 30, '1': base + 70 } }] }),
    }),
  ] as OLEvent[]).map((e) => ({ ...e, eventTime: at }));
}

const ORDER = ['publish_raw_orders', 'enrich_orders', 'count_enriched_orders'];
const events = [
  ...runEvents(RUN1, { publish: 'p1', enrich: 'e1', count: 'c1', app: 'a1' }, 0),
  ...runEvents(RUN2, { publish: 'p2', enrich: 'e2', count: 'c2', app: 'a2' }, 100),
];
const rows = (ds: ReturnType<typeof runLineage>['datasets']) => ds.map((d) => [d.taskId, d.role, d.kind, d.label, d.count ?? null, d.rangeSource ?? null, d.via.join('+')]);

describe('runLineage: what one run read and wrote, from OpenLineage events', () => {
  it('lists each task\u2019s datasets with their ranges and where each came from', () => {
    const l = runLineage(events, DAG, RUN1, ORDER);
    assert.deepEqual(rows(l.datasets), [
      ['publish_raw_orders', 'write', 'kafka', 'orders_raw', 100, 'measured', 'listener'],
      ['enrich_orders', 'read', 'kafka', 'orders_raw', 100, 'upstream', 'spark'],
      ['enrich_orders', 'write', 'kafka', 'orders_enriched', 100, 'end offsets', 'spark'],
      ['enrich_orders', 'write', 'table', 'orders_enriched', null, null, 'spark'],
      ['count_enriched_orders', 'read', 'kafka', 'orders_enriched', 100, 'measured', 'listener'],
    ]);
    const read = l.datasets.find((d) => d.taskId === 'enrich_orders' && d.role === 'read')!;
    assert.equal(read.rangeTask, 'publish_raw_orders');
    // a partition that did not grow is listed with an empty range (end exclusive)
    assert.deepEqual(l.datasets.find((d) => d.taskId === 'enrich_orders' && d.kind === 'kafka' && d.role === 'write')!.partitions, [
      { partition: 0, start: 0, end: 30 },
      { partition: 1, start: 0, end: 70 },
      { partition: 2, start: 0, end: 0 },
    ]);
  });

  it('links the Spark application to the task its parent run names, with its id from the application facet', () => {
    const l = runLineage(events, DAG, RUN1, ORDER);
    assert.deepEqual(l.spark, [{ taskId: 'enrich_orders', olRunId: 'a1', appId: 'app-0', appName: 'enrich_orders', uiUrl: 'http://127.0.0.1:4040' }]);
    assert.deepEqual(l.tasks.map((t) => [t.taskId, t.olRunId]), [['publish_raw_orders', 'p1'], ['enrich_orders', 'e1'], ['count_enriched_orders', 'c1']]);
  });

  it('keeps each run\u2019s ranges its own', () => {
    const l = runLineage(events, DAG, RUN2, ORDER);
    assert.deepEqual(l.datasets.find((d) => d.taskId === 'publish_raw_orders')!.partitions, [
      { partition: 0, start: 100, end: 140 },
      { partition: 1, start: 100, end: 160 },
    ]);
    assert.deepEqual(l.spark.map((s) => s.appId), ['app-100']);
    assert.deepEqual(runLineage(events, DAG, 'manual__other', ORDER), { tasks: [], datasets: [], spark: [] });
  });

  it('takes the latest try of a retried task', () => {
    const retry = ev('p1-try2', `${DAG}.publish_raw_orders`, {
      eventType: 'OTHER',
      facets: dp('publish_raw_orders', RUN1, { tryNumber: 2, measured: [{ servers: 's:1', topic: 'orders_raw', role: 'write', start: { '0': 7 }, end: { '0': 9 } }] }),
    });
    const l = runLineage([...events, retry], DAG, RUN1, ORDER);
    assert.equal(l.tasks.find((t) => t.taskId === 'publish_raw_orders')!.olRunId, 'p1-try2');
    assert.equal(l.datasets.find((d) => d.taskId === 'publish_raw_orders')!.count, 2);
  });

  it('leaves out malformed facets and ranges instead of failing', () => {
    const bad = [
      ev('x1', `${DAG}.t`, { facets: { datapipeline_kafka: { dagId: DAG, runId: RUN1, taskId: 't', measured: [{ topic: 'a', role: 'write', start: { '0': 5 }, end: { '0': 2 } }, { topic: 7, role: 'write' }, { topic: 'b', role: 'sideways' }], endOffsets: 'nonsense' } } }),
      ev('x2', 'y', { facets: { parent: 'not an object' } }),
      ev('x3', 'z', { inputs: [{ namespace: 5, name: null } as never] }),
    ];
    const l = runLineage(bad, DAG, RUN1);
    assert.deepEqual(rows(l.datasets), [['t', 'write', 'kafka', 'a', null, null, 'listener']]);
  });

  it('names datasets as a person would', () => {
    assert.deepEqual(describeDataset({ namespace: K, name: 'orders' }), { kind: 'kafka', label: 'orders' });
    assert.deepEqual(describeDataset({ namespace: 'postgres://db:5432', name: 'warehouse.public.orders' }), { kind: 'table', label: 'public.orders' });
    assert.deepEqual(describeDataset({ namespace: 'file', name: '/data/out.parquet' }), { kind: 'file', label: '/data/out.parquet' });
    assert.deepEqual(describeDataset({ namespace: 's3a://bucket', name: 'out/x' }), { kind: 'file', label: 's3a://bucket/out/x' });
  });
});

describe('mergeRanges: an XCom range overrides what lineage measured for the same task, topic and role', () => {
  it('replaces the range, keeps lineage-only ones, adds XCom-only ones', () => {
    const l = runLineage(events, DAG, RUN1, ORDER);
    const xcom = [
      { topic: 'orders_raw', role: 'write' as const, taskId: 'publish_raw_orders', partitions: [{ partition: 0, start: 0, end: 5 }], count: 5 },
      { topic: 'audit', role: 'write' as const, taskId: 'count_enriched_orders', partitions: [{ partition: 0, start: 3, end: 4 }], count: 1 },
    ];
    const m = mergeRanges(l.datasets, xcom);
    assert.deepEqual(
      m.kafka.map((k) => [k.taskId, k.role, k.topic, k.count, k.source]),
      [
        ['publish_raw_orders', 'write', 'orders_raw', 5, 'xcom'],
        ['count_enriched_orders', 'write', 'audit', 1, 'xcom'],
        ['enrich_orders', 'read', 'orders_raw', 100, 'upstream'],
        ['enrich_orders', 'write', 'orders_enriched', 100, 'end offsets'],
        ['count_enriched_orders', 'read', 'orders_enriched', 100, 'measured'],
      ],
    );
    const raw = m.datasets.find((d) => d.taskId === 'publish_raw_orders')!;
    assert.deepEqual([raw.count, raw.rangeSource, raw.via], [5, 'xcom', ['listener']]);
    assert.equal(l.datasets.find((d) => d.taskId === 'publish_raw_orders')!.count, 100, 'the lineage model is not changed');
  });
});

describe('lineageGraph: topics, jobs and tables of the last runs, laid out left to right', () => {
  it('draws topic -> task, task -> Spark job -> topic and table, with each edge\u2019s runs; a run\u2019s path', () => {
    const g = lineageGraph(events);
    const label = (id: string) => g.nodes.find((n) => n.id === id)!;
    assert.deepEqual(
      g.edges.map((e) => `${label(e.from).label} -> ${label(e.to).label} (${e.runs.length})`).sort(),
      [
        'enrich_orders -> enrich_orders (2)',
        'enrich_orders -> orders_enriched (2)',
        'enrich_orders -> orders_enriched (2)',
        'orders_enriched -> count_enriched_orders (2)',
        'orders_raw -> enrich_orders (2)',
        'publish_raw_orders -> orders_raw (2)',
      ].sort(),
    );
    // layers: publish | orders_raw | enrich task ... each node right of what feeds it
    for (const e of g.edges) assert.ok(label(e.to).x > label(e.from).x, `${e.from} left of ${e.to}`);
    const spark = g.nodes.find((n) => n.kind === 'spark')!;
    assert.deepEqual([spark.label, spark.appId, spark.lastRunId], ['enrich_orders', 'app-100', RUN2], 'the newest run\u2019s application');
    assert.equal(g.nodes.find((n) => n.kind === 'kafka' && n.label === 'orders_raw')!.topic, 'orders_raw');
    assert.deepEqual(g.runs.map((r) => r.runId), [RUN2, RUN1]);
    const path = runPath(g, `${DAG}\u0000${RUN1}`);
    assert.equal(path.edges.size, g.edges.length, 'both runs took the same path');
    assert.equal(runPath(g, `${DAG}\u0000nope`).nodes.size, 0);
  });

  it('keeps the last N runs of each DAG', () => {
    const g = lineageGraph(events, { runsPerDag: 1 });
    assert.deepEqual(g.runs.map((r) => r.runId), [RUN2]);
    assert.ok(g.edges.every((e) => e.runs.length === 1));
  });

  it('cuts a cycle (a task reading and writing one topic) instead of recursing for ever', () => {
    const loop = [ev('l1', 'd.t', { eventType: 'OTHER', facets: { datapipeline_kafka: { dagId: 'd', taskId: 't', runId: 'r', measured: [{ servers: 's', topic: 'loop', role: 'read', start: { '0': 0 }, end: { '0': 1 } }, { servers: 's', topic: 'loop', role: 'write', start: { '0': 1 }, end: { '0': 2 } }] } } })];
    const g = lineageGraph(loop);
    assert.equal(g.nodes.length, 2);
    assert.equal(g.edges.length, 2);
  });
});

describe('runEvents: what Export Lineage writes for one run', () => {
  it('every event of the run\u2019s tasks, their Spark runs and the DAG run, oldest first; none of another run', () => {
    const dagRun = ev('dagrun', DAG, { eventTime: '2026-12-06T23:13:00Z' });
    const other = ev('stranger', 'x.y', { eventTime: '2026-12-06T23:13:30Z' });
    const out = eventsOfRun([...events, dagRun, other], DAG, RUN1);
    const ids = new Set(out.map((e) => e.run.runId));
    assert.deepEqual([...ids].sort(), ['a1', 'a1-a1', 'a1-a2', 'c1', 'dagrun', 'e1', 'p1']);
    assert.equal(out[0].run.runId, 'dagrun', 'oldest first');
    assert.equal(out.length, eventsOfRun(events, DAG, RUN1).length + 1);
    assert.deepEqual(eventsOfRun(events, DAG, 'manual__none'), []);
  });
});

describe('compactEvent: what the window keeps of an event', () => {
  it('drops what no view reads (a Spark event\u2019s schema, properties, environment) and changes no trace or graph', () => {
    const heavy = events.map((e) => ({
      ...e,
      run: { ...e.run, facets: { ...e.run.facets, spark_properties: { properties: { 'spark.master': 'x'.repeat(2000) } }, 'environment-properties': { env: 'y'.repeat(2000) } } },
      outputs: e.outputs?.map((o) => ({ ...o, facets: { schema: { fields: Array.from({ length: 50 }, (_, i) => ({ name: `c${i}`, type: 'string' })) } } })),
    }));
    const small = heavy.map(compactEvent);
    assert.ok(JSON.stringify(small).length * 5 < JSON.stringify(heavy).length, 'a fifth or less of the size');
    for (const run of [RUN1, RUN2]) assert.deepEqual(runLineage(small, DAG, run, ORDER), runLineage(heavy, DAG, run, ORDER));
    assert.deepEqual(lineageGraph(small), lineageGraph(heavy));
  });
});
