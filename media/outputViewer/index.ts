// Output viewer front end: renders what the host sends, as text only (no innerHTML with data). The
// run's messages are paged from the host into the shared virtual table, like the message browser's.
import type { FromOutputViewer, OutputViewerData, ToOutputViewer } from '../../src/protocol/outputViewer';
import { el } from '../shared/dom';
import { fieldColumns, MessageTable, ROW_HEIGHT } from '../shared/messageTable';

declare function acquireVsCodeApi(): { postMessage(m: FromOutputViewer): void };
const vscode = acquireVsCodeApi();
const send = (m: FromOutputViewer) => vscode.postMessage(m);

/** The table grows with its rows up to this many, then scrolls. */
const VISIBLE_ROWS = 15;

function button(label: string, msg: FromOutputViewer, cls = 'link'): HTMLButtonElement {
  const b = el('button', { cls, text: label });
  b.addEventListener('click', () => send(msg));
  return b;
}

const root = document.getElementById('root')!;
let reqId = 0;
let table: MessageTable | undefined;
let shown: OutputViewerData | undefined;

function show(...children: Node[]): void {
  root.replaceChildren(...children);
}

function render(d: OutputViewerData): void {
  shown = d;
  const header = el('header');
  header.append(el('h1', { text: `${d.dagId} · ${d.runId}` }, ...(d.connection ? [el('span', { id: 'connection', cls: 'connection', text: d.connection, title: `Connection: ${d.connection}` })] : [])));
  header.append(el('p', { id: 'run-state', cls: `state state-${d.runState}`, text: `Run ${d.runState}${d.runDuration ? ` in ${d.runDuration}` : ''}` }));
  const actions = el('div', { cls: 'actions' });
  actions.append(button('Refresh', { type: 'refresh' }, 'primary'), button('Open in Airflow UI', { type: 'openInAirflow' }));
  if (d.sparkAppId) actions.append(button(`Spark application ${d.sparkAppId}`, { type: 'openSparkApp' }));
  header.append(actions);

  const out = el('section');
  const title = `Messages this run wrote to ${d.topic}`;
  out.append(el('h2', { id: 'messages-title', text: `${title} (${d.total.toLocaleString('en-US')})` }));
  if (d.note) out.append(el('p', { cls: 'note', id: 'messages-note', text: d.note }));
  table = undefined;
  if (d.total) {
    table = new MessageTable({ fetchPage: (start, count) => send({ type: 'page', reqId: ++reqId, start, count }), columns: fieldColumns(d.columns), id: 'messages', label: title });
    // header row + the rows (up to VISIBLE_ROWS) + borders
    table.element.style.height = `${(Math.min(d.total, VISIBLE_ROWS) + 1) * ROW_HEIGHT + 4}px`;
    table.setTotal(d.total, d.version);
    out.append(table.element);
  }

  const tasks = el('section');
  tasks.append(el('h2', { text: 'Tasks' }));
  const tt = el('table', { id: 'tasks' });
  const head = el('tr');
  for (const c of ['task', 'state', 'try', 'duration', 'log']) head.append(el('th', { text: c }));
  tt.append(el('thead', {}, head));
  const tb = el('tbody');
  for (const t of d.tasks) {
    const logCell = el('td');
    if (t.tryNumber > 0) logCell.append(button('Show Log', { type: 'openTaskLog', taskId: t.taskId, tryNumber: t.tryNumber }));
    tb.append(
      el(
        'tr',
        {},
        el('td', { text: t.taskId }),
        el('td', { cls: `state state-${t.state ?? 'none'}`, text: t.state ?? 'no status' }),
        el('td', { cls: 'num', text: String(t.tryNumber) }),
        el('td', { cls: 'num', text: t.duration }),
        logCell,
      ),
    );
  }
  tt.append(tb);
  tasks.append(tt);
  show(header, out, tasks);
}

window.addEventListener('message', (e: MessageEvent<ToOutputViewer>) => {
  const m = e.data;
  if (m.type === 'loading') {
    // keep what is shown while it reloads (Refresh): only a first load shows "Loading…"
    if (!shown) show(el('p', { cls: 'note', text: `Loading run ${m.runId}…` }));
  } else if (m.type === 'error') {
    shown = undefined;
    table = undefined;
    show(el('p', { cls: 'error', text: m.message }), button('Retry', { type: 'refresh' }, 'primary'));
  } else if (m.type === 'data') render(m.data);
  else if (m.type === 'page' && table && m.version === shown?.version) table.setPage(m.start, m.rows, m.total, m.version);
});
send({ type: 'ready' });
