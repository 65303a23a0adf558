/**
 * A run's Kafka ranges as the run view gets them from its XCom "datapipeline_kafka" alone, and from
 * OpenLineage alone (issue #28: the bundled DAG's two traces must be equal).
 */
import type { AirflowClient } from '../../../src/services/airflow/client';
import { collectRunTrace, type RunTrace } from '../../../src/services/airflow/runTrace';
import { LineageFeed } from '../../../src/services/lineage/openlineage';
import { applyAirflowSettings, parseAirflowSettings } from '../../../src/services/project/airflowSettings';
import { until } from '../../lib/until';

/** "task role topic p:start-end …" per range, partitions that hold records only, sorted. */
export function rangeLines(t: RunTrace): string[] {
  return t.kafka
    .map((r) => `${r.taskId} ${r.role} ${r.topic} ${r.partitions.filter((p) => p.end > p.start).map((p) => `${p.partition}:${p.start}-${p.end}`).join(' ')} (${r.count})`)
    .sort();
}

export async function xcomAndLineageRanges(client: AirflowClient, dagId: string, runId: string, lineageUrl: string, tasks: number): Promise<{ xcom: string[]; lineage: string[]; trace: RunTrace }> {
  const xcom = rangeLines((await collectRunTrace(client, dagId, runId)).trace);
  const feed = new LineageFeed(lineageUrl);
  let trace!: RunTrace;
  // each task's listener event is sent as it ends: wait until every task's is in
  await until(`the lineage of ${tasks} tasks`, async () => {
    trace = (await collectRunTrace(client, dagId, runId, { lineage: () => feed.read(), xcom: false })).trace;
    return new Set(trace.datasets.map((d) => d.taskId)).size >= tasks - 1 && rangeLines(trace).length >= xcom.length;
  }, { timeoutMs: 60_000, intervalMs: 1000, detail: () => JSON.stringify(trace?.datasets.map((d) => [d.taskId, d.role, d.label, d.count])) });
  return { xcom, lineage: rangeLines(trace), trace };
}

/** The Airflow connection "warehouse" the fixture's orders_enrichment writes to: a PostgreSQL, as a user adds it. */
export async function addWarehouse(client: AirflowClient, db: { host: string; port: number; password: string }): Promise<void> {
  await applyAirflowSettings(
    client,
    parseAirflowSettings(
      `airflow:\n  connections:\n    - conn_id: warehouse\n      conn_type: postgres\n      conn_host: ${db.host}\n      conn_port: ${db.port}\n      conn_schema: airflow\n      conn_login: airflow\n      conn_password: ${JSON.stringify(db.password)}\n`,
    ),
  );
}
