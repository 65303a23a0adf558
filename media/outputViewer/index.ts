// Output viewer front end: renders what the host sends, as text only (no innerHTML with data).
import type { FromOutputViewer, OutputViewerData, ToOutputViewer } from '../../src/protocol/outputViewer';

declare function acquireVsCodeApi(): { postMessage(m: FromOutputViewer): void };
const vscode = acquireVsCodeApi();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function button(label: string, msg: FromOutputViewer, cls = 'link'): HTMLButtonElement {
  const b = el('button', label, cls);
  b.addEventListener('click', () => vscode.postMessage(msg));
  return b;
}

const root = document.getElementById('root')!;

function show(...children: Node[]): void {
  root.replaceChildren(...children);
}

function fieldText(v: unknown): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function render(d: OutputViewerData): void {
  const header = el('header');
  header.append(el('h1', `${d.dagId} · ${d.runId}`));
  const status = el('p', `Run ${d.runState}${d.runDuration ? ` in ${d.runDuration}` : ''}`, `state state-${d.runState}`);
  status.id = 'run-state';
  header.append(status);
  const actions = el('div', undefined, 'actions');
  actions.append(button('Refresh', { type: 'refresh' }, 'primary'), button('Open in Airflow UI', { type: 'openInAirflow' }));
  if (d.sparkAppId) actions.append(button(`Spark application ${d.sparkAppId}`, { type: 'openSparkApp' }));
  header.append(actions);

  const out = el('section');
  out.append(el('h2', `Messages this run wrote to ${d.topic} (${d.records.length})`));
  if (d.note) out.append(el('p', d.note, 'note'));
  if (d.records.length) {
    const cols = new Set<string>();
    for (const r of d.records) for (const k of Object.keys(r.fields ?? {})) cols.add(k);
    const columns = [...cols];
    const table = el('table');
    table.id = 'messages';
    const head = el('tr');
    for (const c of ['partition', 'offset', ...(columns.length ? columns : ['value'])]) head.append(el('th', c));
    table.append(el('thead'));
    table.tHead!.append(head);
    const body = el('tbody');
    for (const r of d.records) {
      const tr = el('tr');
      tr.append(el('td', String(r.partition), 'num'), el('td', r.offset, 'num'));
      if (columns.length) for (const c of columns) tr.append(el('td', fieldText(r.fields?.[c])));
      else tr.append(el('td', r.value));
      body.append(tr);
    }
    table.append(body);
    out.append(table);
  }

  const tasks = el('section');
  tasks.append(el('h2', 'Tasks'));
  const tt = el('table');
  tt.id = 'tasks';
  const th = el('tr');
  for (const c of ['task', 'state', 'try', 'duration', 'log']) th.append(el('th', c));
  tt.append(el('thead'));
  tt.tHead!.append(th);
  const tb = el('tbody');
  for (const t of d.tasks) {
    const tr = el('tr');
    tr.append(el('td', t.taskId), el('td', t.state ?? 'no status', `state state-${t.state ?? 'none'}`), el('td', String(t.tryNumber), 'num'), el('td', t.duration, 'num'));
    const logCell = el('td');
    if (t.tryNumber > 0) logCell.append(button('Show Log', { type: 'openTaskLog', taskId: t.taskId, tryNumber: t.tryNumber }));
    tr.append(logCell);
    tb.append(tr);
  }
  tt.append(tb);
  tasks.append(tt);
  show(header, out, tasks);
}

window.addEventListener('message', (e: MessageEvent<ToOutputViewer>) => {
  const m = e.data;
  if (m.type === 'loading') show(el('p', `Loading run ${m.runId}…`, 'note'));
  else if (m.type === 'error') show(el('p', m.message, 'error'), button('Retry', { type: 'refresh' }, 'primary'));
  else if (m.type === 'data') render(m.data);
});
vscode.postMessage({ type: 'ready' });
