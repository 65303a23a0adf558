/**
 * "Test Connection": each part of a connection tried once, as the views will use it (the same
 * clients, security options and error messages), with what it found or why it failed. No `vscode` import.
 */
import { AirflowClient } from '../airflow/client';
import { SparkMasterClient } from '../spark/sparkMasterClient';
import type { ConnectionProfile, SecretKind } from './profile';
import { errorMessage } from '../util/errors';

export interface PartCheck {
  part: 'Kafka' | 'Airflow' | 'Spark';
  ok: boolean;
  message: string;
}

export async function checkConnection(p: ConnectionProfile, secrets: Partial<Record<SecretKind, string>>, timeoutMs = 15_000): Promise<PartCheck[]> {
  const checks: Array<Promise<PartCheck>> = [];
  if (p.kafka) {
    const k = p.kafka;
    checks.push(
      (async (): Promise<PartCheck> => {
        const [{ KafkaService }, { kafkaSecurity }] = await Promise.all([import('../kafka/kafkaClient'), import('../kafka/security')]);
        let svc: InstanceType<typeof KafkaService> | undefined;
        try {
          svc = new KafkaService({ bootstrap: k.bootstrapServers, clientId: 'datapipeline-check', security: kafkaSecurity(k, { secret: secrets.kafka, keyPassphrase: secrets.kafkaKeyPassphrase }, { connectionName: p.name }) });
          const [brokers, topics] = await Promise.all([svc.brokerCount(), svc.topicNames()]);
          const n = topics.filter((t) => !t.startsWith('__')).length;
          return { part: 'Kafka', ok: true, message: `${brokers} broker${brokers === 1 ? '' : 's'}, ${n} topic${n === 1 ? '' : 's'} (${k.security}${k.sasl ? ` ${k.sasl.mechanism}` : ''})` };
        } catch (e) {
          return { part: 'Kafka', ok: false, message: errorMessage(e) };
        } finally {
          await svc?.dispose().catch(() => undefined);
        }
      })(),
    );
  }
  if (p.airflow) {
    const a = p.airflow;
    checks.push(
      (async (): Promise<PartCheck> => {
        const secret = secrets.airflow;
        const bearer = a.auth === 'bearer';
        const client = new AirflowClient({ baseUrl: a.url, username: a.username ?? '', password: bearer ? '' : (secret ?? ''), bearerToken: bearer ? secret : undefined, connectionName: p.name, timeoutMs });
        try {
          const v = await client.apiVersion();
          if (secret === undefined) return { part: 'Airflow', ok: false, message: `Airflow ${v === 'v2' ? '3' : '2'} answers at ${a.url}; no ${bearer ? 'API token' : 'password'} is stored yet: enter it and test again.` };
          const dags = await client.listDags();
          return { part: 'Airflow', ok: true, message: `Airflow ${v === 'v2' ? '3 (API v2)' : '2 (API v1)'}, ${dags.length} DAG${dags.length === 1 ? '' : 's'}, signed in ${bearer ? 'with the API token' : `as ${a.username}`}` };
        } catch (e) {
          return { part: 'Airflow', ok: false, message: errorMessage(e) };
        }
      })(),
    );
  }
  if (p.spark) {
    const s = p.spark;
    checks.push(
      (async (): Promise<PartCheck> => {
        try {
          const st = await new SparkMasterClient(s.uiUrl).status(AbortSignal.timeout(timeoutMs));
          return { part: 'Spark', ok: true, message: `master ${st.status} at ${st.url}, ${st.aliveWorkers} worker${st.aliveWorkers === 1 ? '' : 's'}, ${st.cores} cores` };
        } catch (e) {
          return { part: 'Spark', ok: false, message: errorMessage(e) };
        }
      })(),
    );
  }
  return Promise.all(checks);
}
