import type { SparkJob, SparkJobResult } from '../../../src/services/spark/sparkJob';

/**
 * Starts `job`: `run` settles when spark-submit ends, `appId` once the driver announces its
 * application (rejected if the job ends first). Callers cancel the job and await `run` when done.
 */
export function startJob(job: SparkJob): { run: Promise<SparkJobResult>; appId: Promise<string> } {
  let onApp!: (id: string) => void;
  const announced = new Promise<string>((resolve) => (onApp = resolve));
  const run = job.run({ onAppId: (id) => onApp(id) });
  const appId = Promise.race([announced, run.then(() => Promise.reject(new Error('the job ended before announcing its application')))]);
  appId.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return { run, appId };
}
