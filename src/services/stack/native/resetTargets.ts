/** What Reset Data deletes of the native stack, each with what it is (the confirmation lists exactly these). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeLayout } from './layout';

export interface ResetTarget {
  what: string;
  path: string;
}

export function resetTargets(l: NativeLayout): ResetTarget[] {
  return [
    { what: 'Kafka topics and messages', path: l.kafkaData },
    { what: 'Kafka topics and messages of the 3-broker cluster', path: path.join(l.kafkaDir, 'cluster-3') },
    { what: 'the Airflow database (PostgreSQL: DAG runs, connections, users)', path: path.join(l.postgresDir, 'data') },
    // both Airflows' homes (Airflow 3 keeps its own; its PostgreSQL database is in the data above)
    ...[path.join(l.stateDir, 'airflow'), path.join(l.stateDir, 'airflow3')].flatMap((home) => [
      { what: `the Airflow database (SQLite${home.endsWith('3') ? ', Airflow 3' : ''})`, path: path.join(home, 'airflow.db') },
      { what: `Airflow task logs${home.endsWith('3') ? ' (Airflow 3)' : ''}`, path: path.join(home, 'logs') },
    ]),
    { what: 'Spark streaming checkpoints', path: path.join(l.sparkDir, 'checkpoints') },
    { what: 'Spark work folders', path: path.join(l.sparkDir, 'work') },
  ];
}

/** "Kafka topics and messages: /…/kafka/data", for each target that exists. */
export function describeResetTargets(l: NativeLayout): string[] {
  return resetTargets(l)
    .filter((t) => fs.existsSync(t.path))
    .map((t) => `${t.what}: ${t.path}`);
}
