/**
 * Which Airflow the local stack runs (both backends): 2 (2.8.1, as the original stack: webserver + scheduler) or 3 (the
 * newest 3.x: api-server, scheduler, dag-processor, triggerer). Each keeps its own venv, home and
 * metadata database, so switching never migrates or deletes the other's data.
 */
export type AirflowMajor = 2 | 3;

/** The Airflow the stack does not run when it runs `airflow`. */
export function otherAirflow(airflow: AirflowMajor): AirflowMajor {
  return airflow === 3 ? 2 : 3;
}

/** "Airflow 2.8.1" or "Airflow 3", as the Stack view and its messages name them. */
export function airflowName(airflow: AirflowMajor): string {
  return airflow === 3 ? 'Airflow 3' : 'Airflow 2.8.1';
}

export function parseAirflowMajor(v: unknown): AirflowMajor | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v).trim();
  if (s === '2' || s.startsWith('2.')) return 2;
  if (s === '3' || s.startsWith('3.')) return 3;
  throw new Error(`Airflow version "${s}" is not one the stack runs: use 2 (2.8.1) or 3 (the newest 3.x).`);
}
