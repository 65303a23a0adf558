/**
 * The native stack's Airflow 3 (issue #19) for the integration and e2e suites: provisioned into its
 * own venv from the pinned constraints, its own state folder (home, PostgreSQL), its own Airflow and
 * PostgreSQL ports (the shared ones + 20000), on the shared stack's Kafka and Spark. Stopped and its
 * state removed by stop().
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AirflowClient } from '../../../src/services/airflow/client';
import type { NativePorts } from '../../../src/services/stack/native/config';
import { NativeBackend } from '../../../src/services/stack/native/nativeBackend';
import { cacheDir } from '../../../src/services/util/paths';
import { ensureNativeStack, NativeStack, sharedPorts, stackDir } from '../harness';

export interface Airflow3Stack {
  shared: NativeStack;
  backend: NativeBackend;
  state: string;
  ports: NativePorts;
  client: AirflowClient;
  /** seconds: provisioning (0 when the venv was there), start */
  timings: { provisionS: number; startS: number };
  stop(): Promise<void>;
}

export async function startAirflow3Stack(label = 'airflow 3'): Promise<Airflow3Stack> {
  const shared = await ensureNativeStack(['kafka', 'spark']);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-airflow3-state-'));
  const base = sharedPorts();
  const ports = { ...base, airflow: base.airflow + 20_000, postgres: base.postgres + 20_000, lineage: base.lineage + 20_000 };
  const backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: state, groups: ['airflow'], ports, airflow: 3 });
  const log = (p: { step: string }) => process.stderr.write(`[${label}] ${p.step}\n`);
  const stop = async () => {
    // reset stops, then deletes its data, including a PostgreSQL data folder kept outside the state folder when run as root
    await backend.reset().catch(() => backend.stop().catch(() => undefined));
    backend.dispose();
    fs.rmSync(backend.layout.postgresDir, { recursive: true, force: true });
    fs.rmSync(state, { recursive: true, force: true });
  };
  try {
    const t0 = Date.now();
    await backend.provision({ onProgress: log });
    const t1 = Date.now();
    await backend.start({ onProgress: log });
    const t2 = Date.now();
    const timings = { provisionS: Math.round((t1 - t0) / 1000), startS: Math.round((t2 - t1) / 1000) };
    process.stderr.write(`[${label}] provisioned in ${timings.provisionS} s, started (PostgreSQL + 4 Airflow services healthy) in ${timings.startS} s\n`);
    const client = new AirflowClient({ baseUrl: backend.endpoints().airflowUrl, username: 'admin', password: 'admin' });
    return { shared, backend, state, ports, client, timings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
