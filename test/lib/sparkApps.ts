import { isFinalAppState } from '../../src/services/spark/models';
import type { SparkMasterClient } from '../../src/services/spark/sparkMasterClient';
import { until } from './until';

/**
 * The state the master gives `appId` once it is done with it (FINISHED, FAILED, KILLED). Spark's
 * master lists a killed application among the completed ones a moment before it marks it KILLED, so
 * "listed as completed" alone can still read RUNNING (a CI failure of the e2e Kill test).
 */
export function finalAppState(master: SparkMasterClient, appId: string, timeoutMs = 60_000): Promise<string> {
  return until(
    `${appId} to be completed with its final state`,
    async () => {
      const app = (await master.status()).completedApps.find((a) => a.id === appId);
      return app && isFinalAppState(app.state) ? app.state : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}
