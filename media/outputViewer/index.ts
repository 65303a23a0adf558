// Output viewer front end: renders what the host sends, as text only (no innerHTML with data). The
// run's messages are paged from the host into the shared virtual table, like the message browser's.
import type { FromOutputViewer, OutputViewerData, ToOutputViewer } from '../../src/protocol/outputViewer';
import type { RunTrace } from '../../src/services/airflow/runTrace';
import { el } from '../shared/dom';
import { fieldColumns, MessageTable, ROW_HEIGHT } from '../shared/messageTable';
import { clearFailure, Requests, showFailure } from '../shared/requests';

declare function acquireVsCodeApi(): { postMessage(m: FromOutputViewer): void };
const vscode = acquireVsCodeApi();
// every request is answered by its id; a failed one is shown the same way in every panel
const ACTIONS: Partial<Record<FromOutputViewer['type'], string>> = { openTaskLog: 'Open task log', openSparkApp: 'Open Spark application', openRange: 'Open these messages', openInAirflow: 'Open in Airflow', exportLineage: 'Export lineage', refresh: 'Refresh' };
const requests = new Requests<FromOutputViewer>((m) => vscode.postMessage(m), (error, m) => showFailure(error, ACTIONS[m.type] ?? m.type), (m) => ACTIONS[m.type] && clearFailure());
const send = (m: FromOutputViewer) => void requests.send(m);

/** The table grows with its rows up to this many, then scrolls. */
const VISIBLE_ROWS = 15;

function button(label: string, msg: FromOutputViewer, cls = 'link'): HTMLButtonElement {
  const b = el('button', { cls, text: label });
  b.addEventListener('click', () => send(msg));
  return b;
}

const root = document.getElementById('root')!;
let table: MessageTable | undefined;
let shown: OutputViewerData | undefined;

function show(...children: Node[]): void {
  root.replaceChildren(...children);
}

function render(d: OutputViewerData): void {
  const t0 = performance.now();
  shown = d;
  const header = el('header');
  header.append(el('h1', { text: `${d.dagId} · ${d.runId}` }, ...(d.connection ? [el('span', { id: 'connection', cls: 'connection', text: d.connection, title: `Connection: ${d.connection}` })] : [])));
  header.append(el('p', { id: 'run-state', cls: `state state-${d.runState}`, text: `Run ${d.runState}${d.runDuration ? ` in ${d.runDuration}` : ''}` }));
  const actions = el('div', { cls: 'actions' });
  actions.append(button('Refresh', { type: 'refresh' }, 'primary'), button('Open in Airflow UI', { type: 'openInAirflow' }));
  if (d.sparkAppId && !d.trace?.spark.length) actions.append(button(`Spark application ${d.sparkAppId}`, { type: 'openSparkApp' }));
  if (d.trace?.datasets?.length) actions.append(button('Export lineage (OpenLineage JSON)', { type: 'exportLineage' }));
  header.append(actions);
  const trace = d.trace ? renderTrace(d.trace) : [];

  const out = el('section');
  // a DAG without an output range of its own: its trace (timeline, Spark, Kafka) is the view
  if (!d.topic) out.hidden = true;
  const title = `Messages this run wrote to ${d.topic}`;
  out.append(el('h2', { id: 'messages-title', text: `${title} (${d.total.toLocaleString('en-US')})` }));
  if (d.note) out.append(el('p', { cls: 'note', id: 'messages-note', text: d.note }));
  table = undefined;
  if (d.total) {
    table = new MessageTable({ fetchPage: (start, count) => send({ type: 'page', reqId: 0, start, count }), columns: fieldColumns(d.columns), id: 'messages', label: title });
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
  show(header, ...trace, out, tasks);
  // how long drawing took (the benchmark reads it: bench/runView.ts)
  root.dataset.renderMs = (performance.now() - t0).toFixed(1);
}

/** "+12.3s" from the run's start. */
function offsetText(msFromStart: number): string {
  const s = msFromStart / 1000;
  return s < 60 ? `+${s.toFixed(1)}s` : `+${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/**
 * The run traced: a timeline of its task tries (bars placed by start and end on the run's span), the
 * Spark applications its tasks started (linked by their tags), the Kafka ranges it read and wrote.
 */
function renderTrace(t: RunTrace): HTMLElement[] {
  const span = Math.max(1, t.endMs - t.startMs);
  const timeline = el('section', { id: 'timeline' });
  timeline.append(el('h2', { text: 'Timeline' }));
  const rows = el('div', { cls: 'gantt', attrs: { role: 'list', 'aria-label': 'Task tries on the run\u2019s timeline' } });
  for (const b of t.bars) {
    const name = `${b.taskId}${b.tryNumber > 1 ? ` (try ${b.tryNumber})` : ''}`;
    const track = el('div', { cls: 'track' });
    if (b.startMs !== undefined) {
      const end = b.endMs ?? t.endMs;
      const bar = el('div', { cls: `bar state-bg-${b.state ?? 'none'}`, title: `${name}: ${b.state ?? 'no status'}, ${b.duration} (${offsetText(b.startMs - t.startMs)} → ${offsetText(end - t.startMs)})` });
      // placed through the CSSOM (the CSP allows no inline style attributes)
      bar.style.left = `${((b.startMs - t.startMs) / span) * 100}%`;
      bar.style.width = `${Math.max(0.5, ((end - b.startMs) / span) * 100)}%`;
      track.append(bar);
    }
    const row = el('div', { cls: 'gantt-row', attrs: { role: 'listitem', 'data-task': b.taskId, 'data-try': String(b.tryNumber) } });
    row.append(el('span', { cls: 'gantt-label', text: name }), track, el('span', { cls: `gantt-duration state state-${b.state ?? 'none'}`, text: b.startMs === undefined ? (b.state ?? 'not started') : b.duration }));
    rows.append(row);
  }
  timeline.append(rows, el('p', { cls: 'note', text: `${new Date(t.startMs).toLocaleTimeString()} → ${new Date(t.endMs).toLocaleTimeString()} (${offsetText(span).slice(1)})` }));
  const out: HTMLElement[] = [timeline];

  if (t.spark.length) {
    const sec = el('section', { id: 'spark' });
    sec.append(el('h2', { text: 'Spark applications' }));
    const list = el('ul', { cls: 'links' });
    for (const a of t.spark) {
      const li = el('li', { attrs: { 'data-task': a.taskId } });
      li.append(button(a.appId, { type: 'openSparkApp', appId: a.appId }), el('span', { text: ` ${a.name} · started by ${a.taskId} · ${a.state} in ${a.duration}` }));
      list.append(li);
    }
    sec.append(list);
    out.push(sec);
  }
  if (t.datasets?.length) out.push(renderDatasets(t));
  if (t.kafka.length) {
    const sec = el('section', { id: 'kafka' });
    sec.append(el('h2', { text: 'Kafka' }));
    const table = el('table', { id: 'kafka-ranges' });
    const head = el('tr');
    for (const c of ['topic', 'task', '', 'offsets', 'messages', 'from', '']) head.append(el('th', { text: c }));
    table.append(el('thead', {}, head));
    const body = el('tbody');
    t.kafka.forEach((r, index) => {
      // inclusive offsets, per partition: "0: 13–14, 1: 6"
      const offsets = r.partitions.filter((p) => p.end > p.start).map((p) => `${p.partition}: ${p.end - p.start === 1 ? p.start : `${p.start}–${p.end - 1}`}`).join(', ') || 'none';
      const open = el('td');
      if (r.count) open.append(button('Open these messages', { type: 'openRange', index }));
      body.append(
        el('tr', { attrs: { 'data-topic': r.topic, 'data-role': r.role } }, el('td', { text: r.topic }), el('td', { text: r.taskId }), el('td', { text: r.role === 'write' ? 'wrote' : 'read' }), el('td', { text: offsets }), el('td', { cls: 'num', text: r.count.toLocaleString('en-US') }), el('td', { text: rangeSourceText(r.source ?? 'xcom', r.sourceTask) }), open),
      );
    });
    table.append(body);
    sec.append(table);
    out.push(sec);
  }
  for (const n of t.notes) out.push(el('p', { cls: 'note', text: n }));
  return out;
}

/** Where a Kafka range came from, in words. */
function rangeSourceText(source: string, task?: string): string {
  switch (source) {
    case 'xcom':
      return 'XCom datapipeline_kafka';
    case 'measured':
      return 'the task\u2019s own records';
    case 'end offsets':
      return 'topic growth while it ran';
    case 'upstream':
      return task ? `what ${task} wrote` : 'an earlier task\u2019s write';
    default:
      return source;
  }
}

const VIA: Record<string, string> = { airflow: 'Airflow', spark: 'Spark', listener: 'DataPipeline listener' };

/** What each task read and wrote (OpenLineage; the XCom's ranges in), and which events named it. */
function renderDatasets(t: RunTrace): HTMLElement {
  const sec = el('section', { id: 'datasets' });
  sec.append(el('h2', { text: 'Data read and written' }));
  const table = el('table', { id: 'run-datasets' });
  const head = el('tr');
  for (const c of ['task', '', 'dataset', 'kind', 'records', 'named by']) head.append(el('th', { text: c }));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const d of t.datasets) {
    const via = d.via.map((v) => VIA[v] ?? v).join(', ') || 'XCom';
    const records = d.count === undefined ? '' : `${d.count.toLocaleString('en-US')} (${rangeSourceText(d.rangeSource ?? 'xcom', d.rangeTask)})`;
    body.append(
      el(
        'tr',
        { attrs: { 'data-task': d.taskId, 'data-role': d.role, 'data-kind': d.kind, 'data-name': d.label } },
        el('td', { text: d.taskId }),
        el('td', { text: d.role === 'write' ? 'wrote' : 'read' }),
        el('td', { text: d.label, title: `${d.namespace} ${d.name}` }),
        el('td', { text: d.kind === 'kafka' ? 'topic' : d.kind }),
        el('td', { cls: 'num', text: records }),
        el('td', { text: via }),
      ),
    );
  }
  table.append(body);
  sec.append(table);
  return sec;
}

window.addEventListener('message', (e: MessageEvent<ToOutputViewer>) => {
  if (requests.reply(e.data)) return;
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
