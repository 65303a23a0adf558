import type { AirflowClient } from '../../src/services/airflow/client';
import { collectRunOutput, kafkaRangeReader, type RunOutput } from '../../src/services/airflow/runOutput';
import { KafkaService } from '../../src/services/kafka/kafkaClient';

/** What one run of the streaming DAG writes to output-topic: the adults of its five people. */
export const ADULTS = [
  { name: 'Alice', age: 25, message: 'Alice from NYC is an adult' },
  { name: 'Charlie', age: 30, message: 'Charlie from Chicago is an adult' },
  { name: 'Eve', age: 22, message: 'Eve from Seattle is an adult' },
];

/**
 * The people a run of the streaming DAG wrote to output-topic, read as the output viewer reads them
 * (the run's own offset range, through the broker at `bootstrap`), sorted by name.
 */
export async function runOutputPeople(client: AirflowClient, bootstrap: string, dagId: string, runId: string): Promise<{ people: Array<{ name: unknown; age: unknown; message: unknown }>; data: RunOutput['data'] }> {
  const kafka = new KafkaService({ bootstrap });
  const { data, messages } = await collectRunOutput(client, kafkaRangeReader(kafka), dagId, runId).finally(() => kafka.dispose());
  const people = messages.records().map((r) => r.fields ?? {}).map((f) => ({ name: f.name, age: f.age, message: f.message }));
  people.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return { people, data };
}
