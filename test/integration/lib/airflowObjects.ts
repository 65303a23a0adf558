/**
 * Connections, variables and pools through the REST API against a real Airflow (2.8.1 of the
 * native stack, and 3.x): shared by both Airflows' suites. The stored password is read back with
 * Airflow's own CLI (the REST API never returns it in Airflow 2, and masks it in Airflow 3).
 */
import { strict as assert } from 'node:assert';
import type { AirflowClient } from '../../../src/services/airflow/client';
import { AirflowError } from '../../../src/services/airflow/errors';
import {
  connectionBody, connectionUri, deleteAirflowObject, editedExtra, getConnection, listAirflowObjects, parseConnectionUri, shownVariableValue, MASK, updateAirflowObject, updateConnection, upsertAirflowObject,
} from '../../../src/services/airflow/airflowObjects';

type Cli = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }> | { code: number; stdout: string; stderr: string };

/** What Airflow itself has for the connection (`airflow connections get -o json`). */
async function stored(cli: Cli, id: string): Promise<Record<string, unknown>> {
  const r = await cli(['connections', 'get', id, '--output', 'json']);
  assert.equal(r.code, 0, `airflow connections get ${id}: ${r.stderr.slice(-800)}`);
  const rows = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<Record<string, unknown>>;
  return rows[0];
}

export async function exerciseAirflowObjects(client: AirflowClient, cli: Cli, suffix: string): Promise<void> {
  const conn = `dp_orders_db_${suffix}`;
  const variable = `dp_orders_api_token_${suffix}`;
  const pool = `dp_spark_${suffix}`;
  try {
    // created from a URI with a password with an '@' in it, an extra with a secret
    const created = parseConnectionUri(conn, 'postgres://orders:s3cr%40t@127.0.0.1:5432/orders?sslmode=disable&api_key=k-123');
    assert.equal(await upsertAirflowObject(client, 'connection', conn, connectionBody(created)), true);
    assert.equal(await upsertAirflowObject(client, 'variable', variable, { key: variable, value: 'hunter2' }), true);
    assert.equal(await upsertAirflowObject(client, 'pool', pool, { name: pool, slots: 3 }), true);
    let all = await listAirflowObjects(client);
    const listed = all.connections.find((c) => c.id === conn);
    assert.ok(listed, `${conn} is listed`);
    assert.deepEqual([listed.type, listed.login, listed.host, listed.port, listed.schema], ['postgres', 'orders', '127.0.0.1', 5432, 'orders']);
    const one = await getConnection(client, conn);
    assert.equal(connectionUri(one), 'postgres://orders@127.0.0.1:5432/orders?sslmode=disable', 'the edit starts from the URI without the password or the secret extra');
    assert.equal(shownVariableValue(all.variables.find((v) => v.key === variable)!), MASK);
    assert.equal(all.pools.find((p) => p.name === pool)?.slots, 3);
    assert.ok(all.pools.some((p) => p.name === 'default_pool'), 'Airflow\u2019s default pool is listed');
    assert.equal((await stored(cli, conn)).password, 's3cr@t');

    // edited from the URI it showed, with the host changed: the password and the secret extra stay
    const edited = parseConnectionUri(conn, connectionUri(one).replace('127.0.0.1', 'localhost'));
    edited.extra = editedExtra(one.extra, edited.extra);
    await updateConnection(client, edited);
    const after = await stored(cli, conn);
    assert.equal(after.host, 'localhost');
    assert.equal(after.password, 's3cr@t', 'a URI without a password keeps the stored one');
    assert.deepEqual(after.extra_dejson, { sslmode: 'disable', api_key: 'k-123' }, 'the extra, with the secret Airflow showed masked, is as it was');
    // another extra field changed: the masked secret is asked for, never written back as '***'
    const more = parseConnectionUri(conn, connectionUri(one).replace('sslmode=disable', 'sslmode=require'));
    assert.throws(() => editedExtra(one.extra, more.extra), /api_key/);
    // a URI without the port clears it; one with a password sets it
    await updateConnection(client, parseConnectionUri(conn, 'postgres://orders:n3w@localhost/orders'));
    const cleared = await stored(cli, conn);
    assert.equal(cleared.port ?? null, null);
    assert.equal(cleared.password, 'n3w');

    await updateAirflowObject(client, 'variable', variable, { key: variable, value: 'rotated' });
    await updateAirflowObject(client, 'pool', pool, { name: pool, slots: 5 });
    all = await listAirflowObjects(client);
    assert.equal(all.pools.find((p) => p.name === pool)?.slots, 5);
    const v = (await client.request('GET', `/variables/${variable}`)) as { value: string };
    assert.ok(v.value === 'rotated' || v.value === '***', `the variable changed (Airflow answered ${v.value})`);

    for (const [kind, id] of [['connection', conn], ['variable', variable], ['pool', pool]] as const) await deleteAirflowObject(client, kind, id);
    all = await listAirflowObjects(client);
    assert.equal(all.connections.some((c) => c.id === conn) || all.variables.some((x) => x.key === variable) || all.pools.some((p) => p.name === pool), false, 'all three are gone');
    await assert.rejects(deleteAirflowObject(client, 'variable', variable), (e: unknown) => e instanceof AirflowError && e.status === 404);
  } finally {
    for (const [kind, id] of [['connection', conn], ['variable', variable], ['pool', pool]] as const) await deleteAirflowObject(client, kind, id).catch(() => undefined);
  }
}
