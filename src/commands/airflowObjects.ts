/**
 * Add, edit and delete Airflow connections, variables and pools from the DAGs view's "Connections &
 * Variables" node (the active connection's Airflow; a read-only or remote one is guarded as every
 * other write). A connection is typed as Airflow's URI; an edit starts from its URI without the
 * password, and a URI without one keeps the stored password.
 */
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import {
  ConnectionUriError, connectionBody, connectionUri, deleteAirflowObject, editedExtra, getConnection, isSensitiveName, parseConnectionUri, updateAirflowObject, updateConnection, upsertAirflowObject, type AirflowObjectKind,
} from '../services/airflow/airflowObjects';
import type { DagNode, DagsTreeProvider } from '../views/dagsView';

const NAME = /^[A-Za-z0-9_.\-~]+$/;
const nameCheck = (what: string) => (v: string) => (!v.trim() ? `Enter the ${what}.` : NAME.test(v.trim()) ? undefined : `A ${what} is letters, digits and _ . - ~ only.`);
const uriCheck = (id: string) => (v: string) => {
  try {
    parseConnectionUri(id, v);
    return undefined;
  } catch (e) {
    return e instanceof ConnectionUriError ? e.message : String(e);
  }
};
const slotsCheck = (v: string) => (/^-?\d+$/.test(v.trim()) && Number(v) >= -1 ? undefined : 'Enter a whole number of slots (-1: unlimited).');

type ObjectRow = Extract<DagNode, { kind: 'connection' | 'variable' | 'pool' }>;
const isObjectRow = (n: unknown): n is ObjectRow => !!n && typeof n === 'object' && ['connection', 'variable', 'pool'].includes((n as DagNode).kind);

export function registerAirflowObjectCommands(ctx: FeatureContext, provider: DagsTreeProvider): vscode.Disposable[] {
  const conn = ctx.connections.airflow;
  const guard = (action: string) => ctx.connections.guardWrite(action);
  const pickRow = (): void => void vscode.window.showInformationMessage('Pick a connection, variable or pool under "Connections & Variables" in the DAGs view and run this on it.');

  return [
    ctx.registerCommand('datapipeline.dags.addAirflowObject', async (node?: unknown) => {
      // on a group, or on a row of one: that kind; else asked
      let kind: AirflowObjectKind | undefined = (node as DagNode | undefined)?.kind === 'objectGroup' ? (node as Extract<DagNode, { kind: 'objectGroup' }>).group : isObjectRow(node) ? node.kind : undefined;
      kind ??= (
        await vscode.window.showQuickPick(
          [
            { label: 'Connection', object: 'connection' as const, detail: 'an id and a URI, e.g. postgres://user:password@localhost:5432/db' },
            { label: 'Variable', object: 'variable' as const, detail: 'a key and a value' },
            { label: 'Pool', object: 'pool' as const, detail: 'a name and a number of slots' },
          ],
          { title: 'Add to Airflow' },
        )
      )?.object;
      if (!kind) return;
      const id = (await vscode.window.showInputBox({ title: `New ${kind}`, prompt: kind === 'connection' ? 'Connection id (conn_id)' : kind === 'variable' ? 'Variable key' : 'Pool name', validateInput: nameCheck(kind === 'variable' ? 'key' : kind === 'pool' ? 'name' : 'connection id') }))?.trim();
      if (!id) return;
      let body: Record<string, unknown>;
      if (kind === 'connection') {
        const uri = await vscode.window.showInputBox({ title: `Connection ${id}`, prompt: 'Its URI, as Airflow reads it: type://login:password@host:port/schema?extra_key=value', placeHolder: 'postgres://user:password@localhost:5432/db', validateInput: uriCheck(id) });
        if (uri === undefined) return;
        body = connectionBody(parseConnectionUri(id, uri));
      } else if (kind === 'variable') {
        const value = await vscode.window.showInputBox({ title: `Variable ${id}`, prompt: 'Its value', password: isSensitiveName(id) });
        if (value === undefined) return;
        body = { key: id, value };
      } else {
        const slots = await vscode.window.showInputBox({ title: `Pool ${id}`, prompt: 'Slots', value: '1', validateInput: slotsCheck });
        if (slots === undefined) return;
        body = { name: id, slots: Number(slots) };
      }
      await guard(`Add ${kind} "${id}"`);
      const created = await conn.withClient((c) => upsertAirflowObject(c, kind, id, body));
      void vscode.window.showInformationMessage(`DataPipeline: ${created ? 'added' : 'updated'} ${kind} ${id}.`);
      provider.refresh(0);
      return { kind, id, created };
    }),

    ctx.registerCommand('datapipeline.dags.editAirflowObject', async (node?: unknown) => {
      if (!isObjectRow(node)) return pickRow();
      if (node.kind === 'connection') {
        // read again: the listing may lack the extra (Airflow 2), and it may have changed since
        const c = await conn.withClient((cl) => getConnection(cl, node.connection.id));
        const uri = await vscode.window.showInputBox({
          title: `Edit connection ${c.id}`,
          prompt: 'Its URI. Without a password, the stored password stays; write login:password@ to change it.',
          value: connectionUri(c),
          validateInput: uriCheck(c.id),
        });
        if (uri === undefined) return;
        const next = parseConnectionUri(c.id, uri);
        // the extra's secrets are not shown in the URI: kept
        next.extra = editedExtra(c.extra, next.extra);
        await guard(`Edit connection "${c.id}"`);
        await conn.withClient((cl) => updateConnection(cl, next));
      } else if (node.kind === 'variable') {
        const v = node.variable;
        const secret = isSensitiveName(v.key);
        const value = await vscode.window.showInputBox({ title: `Edit variable ${v.key}`, prompt: secret ? 'A new value (the current one is a secret and not shown)' : 'Its value', value: secret ? '' : v.value, password: secret });
        if (value === undefined) return;
        await guard(`Edit variable "${v.key}"`);
        await conn.withClient((c) => updateAirflowObject(c, 'variable', v.key, { key: v.key, value }));
      } else {
        const p = node.pool;
        const slots = await vscode.window.showInputBox({ title: `Edit pool ${p.name}`, prompt: 'Slots', value: String(p.slots), validateInput: slotsCheck });
        if (slots === undefined) return;
        await guard(`Edit pool "${p.name}"`);
        await conn.withClient((c) => updateAirflowObject(c, 'pool', p.name, { name: p.name, slots: Number(slots) }));
      }
      provider.refresh(0);
    }),

    ctx.registerCommand('datapipeline.dags.deleteAirflowObject', async (node?: unknown, opts?: { confirm?: boolean }) => {
      if (!isObjectRow(node)) return pickRow();
      const id = node.kind === 'connection' ? node.connection.id : node.kind === 'variable' ? node.variable.key : node.pool.name;
      if (opts?.confirm !== false) {
        const ok = await vscode.window.showWarningMessage(`Delete ${node.kind} "${id}" from Airflow?`, { modal: true, detail: 'DAGs that use it fail until it is added again.' }, 'Delete');
        if (ok !== 'Delete') return;
      }
      await guard(`Delete ${node.kind} "${id}"`);
      await conn.withClient((c) => deleteAirflowObject(c, node.kind, id));
      provider.refresh(0);
    }),
  ];
}
