// Message browser front end. Everything from the broker is rendered as text (see media/shared/dom.ts).
import type { FilterForm, StartForm, StartMode, StatusData, ToHost, ToWebview } from '../../src/protocol/messageBrowser';
import { matchRanges } from '../../src/services/kafka/messageSearch';
import { el, formatBytes, parseLocalDateTime, toLocalInput } from '../shared/dom';
import { TimeHistogram } from '../shared/histogram';
import { MessageDetail } from '../shared/messageDetail';
import { MessageTable } from '../shared/messageTable';
import { clearFailure, Requests, showFailure } from '../shared/requests';

declare function acquireVsCodeApi(): { postMessage(m: ToHost): void };
const vscode = acquireVsCodeApi();
// every request is answered by its id; a failed one is shown the same way in every panel
const ACTIONS: Partial<Record<ToHost['type'], string>> = { start: 'Start', stop: 'Stop', export: 'Export', copy: 'Copy', produceAgain: 'Produce again', filter: 'Filter', detail: 'Show message' };
const requests = new Requests<ToHost>((m) => vscode.postMessage(m), (error, m) => showFailure(error, ACTIONS[m.type] ?? m.type), (m) => ACTIONS[m.type] && clearFailure());
const send = (m: ToHost) => void requests.send(m);
let filter: FilterForm = { query: '', regex: false, caseSensitive: false, fields: { key: true, value: true, headers: true } };
let histFrom: number | undefined;
let histTo: number | undefined;
let partitions: number[] = [];

// Plain-text searches are highlighted here (indexOf: safe). A regular expression is never run in
// the webview: the host sends the ranges its search worker computed with each page and detail.
const hostRanges = new Map<string, Array<[number, number]>>();
const highlight = (text: string): Array<[number, number]> => {
  if (!filter.query) return [];
  if (filter.regex) return hostRanges.get(text) ?? [];
  return matchRanges(text, { query: filter.query, regex: false, caseSensitive: filter.caseSensitive });
};
function keepHighlights(h: Array<[string, Array<[number, number]>]> | undefined): void {
  if (!h) return;
  if (hostRanges.size > 5000) hostRanges.clear();
  for (const [text, ranges] of h) hostRanges.set(text, ranges);
}

const table = new MessageTable({
  fetchPage: (start, count) => send({ type: 'page', reqId: 0, start, count }),
  onSelect: (r) => send({ type: 'detail', seq: r.seq }),
  highlight,
});
const detail = new MessageDetail({ copy: (seq) => send({ type: 'copy', seq }), produceAgain: (seq) => send({ type: 'produceAgain', seq }) }, highlight);
const histogram = new TimeHistogram((from, to) => {
  histFrom = from;
  histTo = to;
  applyFilter();
});

// --- start controls
const modeSel = el('select', { id: 'start-mode', title: 'Where to start reading' });
for (const [v, label] of [
  ['earliest', 'Earliest'],
  ['latest', 'Latest (live tail)'],
  ['offset', 'Offset'],
  ['timestamp', 'Timestamp'],
  ['window', 'Time window'],
  ['group', 'Consumer group offsets'],
  ['range', 'Offset range'],
] as Array<[StartMode, string]>)
  modeSel.append(el('option', { text: label, attrs: { value: v } }));
const offsetsIn = el('input', { id: 'start-offsets', attrs: { type: 'text', placeholder: '42 or 0:42, 1:17', size: '14' } });
// range mode: where each partition stops (exclusive), e.g. what one pipeline run wrote
const toOffsetsIn = el('input', { id: 'start-to-offsets', attrs: { type: 'text', placeholder: 'to 0:45, 1:19', size: '14', title: 'Where each partition stops (exclusive)' } });
const fromIn = el('input', { id: 'start-from', attrs: { type: 'datetime-local', step: '1' } });
const toIn = el('input', { id: 'start-to', attrs: { type: 'datetime-local', step: '1' } });
const groupSel = el('select', { id: 'start-group' });
const partitionsBox = el('span', { cls: 'partitions', id: 'partitions' });
const followIn = el('input', { id: 'start-follow', attrs: { type: 'checkbox' } });
const isolationSel = el('select', { id: 'start-isolation', title: 'Transactions: read committed hides records of aborted transactions (what consumers see by default)' });
isolationSel.append(el('option', { text: 'Read committed', attrs: { value: 'read_committed' } }), el('option', { text: 'Read uncommitted (mark aborted)', attrs: { value: 'read_uncommitted' } }));
const startBtn = el('button', { text: 'Start', id: 'start', cls: 'primary' });
const stopBtn = el('button', { text: 'Stop', id: 'stop' });
const statusText = el('span', { cls: 'status', id: 'status', attrs: { role: 'status' } });

let previousMode: StartMode | undefined;
function updateModeFields(): void {
  const m = modeSel.value as StartMode;
  // Latest always follows; leaving it restores a plain read
  if (previousMode === 'latest' && m !== 'latest') followIn.checked = false;
  previousMode = m;
  offsetsIn.hidden = m !== 'offset' && m !== 'range';
  toOffsetsIn.hidden = m !== 'range';
  fromIn.hidden = m !== 'timestamp' && m !== 'window';
  toIn.hidden = m !== 'window';
  groupSel.hidden = m !== 'group';
  followIn.disabled = m === 'latest' || m === 'range';
  if (m === 'range') followIn.checked = false;
  if (m === 'latest') followIn.checked = true;
}
modeSel.addEventListener('change', updateModeFields);

function selectedPartitions(): number[] | undefined {
  const boxes = [...partitionsBox.querySelectorAll<HTMLInputElement>('input[type=checkbox]')];
  const on = boxes.filter((b) => b.checked).map((b) => Number(b.dataset.partition));
  return on.length === boxes.length ? undefined : on;
}

function form(): StartForm {
  return {
    mode: modeSel.value as StartMode,
    offsets: offsetsIn.value,
    toOffsets: toOffsetsIn.value || undefined,
    from: parseLocalDateTime(fromIn.value),
    to: parseLocalDateTime(toIn.value),
    groupId: groupSel.value || undefined,
    partitions: selectedPartitions(),
    follow: followIn.checked,
    isolation: isolationSel.value === 'read_uncommitted' ? 'read_uncommitted' : 'read_committed',
  };
}

startBtn.addEventListener('click', () => {
  detail.clear();
  send({ type: 'start', form: form() });
});
stopBtn.addEventListener('click', () => send({ type: 'stop' }));

// --- search controls
const queryIn = el('input', { id: 'search', attrs: { type: 'search', placeholder: 'Search key, value, headers', size: '30' } });
const regexIn = el('input', { id: 'search-regex', attrs: { type: 'checkbox' } });
const caseIn = el('input', { id: 'search-case', attrs: { type: 'checkbox' } });
const fKey = el('input', { id: 'search-key', attrs: { type: 'checkbox' } });
const fValue = el('input', { id: 'search-value', attrs: { type: 'checkbox' } });
const fHeaders = el('input', { id: 'search-headers', attrs: { type: 'checkbox' } });
for (const b of [fKey, fValue, fHeaders]) b.checked = true;
const matchText = el('span', { cls: 'matches', id: 'match-count' });
const newestIn = el('input', { id: 'newest-first', attrs: { type: 'checkbox' } });
const exportJson = el('button', { text: 'Export JSON…', id: 'export-json' });
const exportCsv = el('button', { text: 'Export CSV…', id: 'export-csv' });
exportJson.addEventListener('click', () => send({ type: 'export', format: 'json' }));
exportCsv.addEventListener('click', () => send({ type: 'export', format: 'csv' }));
newestIn.addEventListener('change', () => send({ type: 'order', newestFirst: newestIn.checked }));

let awaitingFilter = false;
function applyFilter(): void {
  filter = {
    query: queryIn.value,
    regex: regexIn.checked,
    caseSensitive: caseIn.checked,
    fields: { key: fKey.checked, value: fValue.checked, headers: fHeaders.checked },
    timeFrom: histFrom,
    timeTo: histTo,
  };
  hostRanges.clear();
  // until its result comes, the count shown is the old filter's: say "Searching…" instead
  awaitingFilter = true;
  if (lastStatus) onStatus(lastStatus);
  send({ type: 'filter', filter });
}
// No debounce: every keystroke searches, and a newer search stops the one still running in the
// host's workers (a 50-80 ms pause saved no search at typing speed and added its length to each).
queryIn.addEventListener('input', applyFilter);
for (const b of [regexIn, caseIn, fKey, fValue, fHeaders]) b.addEventListener('change', applyFilter);

const label = (input: HTMLInputElement, text: string) => el('label', {}, input, ` ${text}`);

const errorBox = el('div', { cls: 'error', id: 'error', attrs: { role: 'alert' } });
errorBox.hidden = true;
function showError(message: string, retry: boolean): void {
  const children: Node[] = [el('span', { text: message })];
  if (retry) {
    const b = el('button', { text: 'Retry', id: 'retry' });
    b.addEventListener('click', () => {
      errorBox.hidden = true;
      send({ type: 'retry' });
    });
    children.push(b);
  }
  const close = el('button', { text: '×', title: 'Dismiss', cls: 'dismiss' });
  close.addEventListener('click', () => (errorBox.hidden = true));
  children.push(close);
  errorBox.replaceChildren(...children);
  errorBox.hidden = false;
}

const titleText = el('span', { text: '' });
const connectionBadge = el('span', { id: 'connection', cls: 'connection', text: '' });
const title = el('h1', { id: 'title' }, titleText, connectionBadge);
const startBar = el(
  'div',
  { cls: 'bar' },
  modeSel,
  offsetsIn,
  toOffsetsIn,
  fromIn,
  toIn,
  groupSel,
  partitionsBox,
  label(followIn, 'Follow'),
  isolationSel,
  startBtn,
  stopBtn,
  statusText,
);
const searchBar = el(
  'div',
  { cls: 'bar' },
  queryIn,
  label(regexIn, 'Regex'),
  label(caseIn, 'Match case'),
  el('span', { cls: 'sep', text: 'in' }),
  label(fKey, 'key'),
  label(fValue, 'value'),
  label(fHeaders, 'headers'),
  matchText,
  el('span', { cls: 'grow' }),
  label(newestIn, 'Newest first'),
  exportJson,
  exportCsv,
);
const main = el('div', { cls: 'main' }, table.element, detail.element);
document.getElementById('app')!.replaceChildren(title, startBar, searchBar, errorBox, histogram.element, main);
updateModeFields();

// --- status
let lastStatus: StatusData | undefined;
let histTimer: number | undefined;
const STATE_TEXT: Record<StatusData['state'], string> = {
  idle: 'Idle',
  planning: 'Starting…',
  reading: 'Reading…',
  live: 'Live — waiting for new messages',
  done: 'Done',
  reconnecting: 'Reconnecting…',
  stopped: 'Stopped',
  error: 'Error',
};
/** "1,234 oldest dropped (buffer full: 512 MiB; up to p0 @ 4,566, p1 @ 789)" */
function droppedText(s: StatusData): string {
  const limit = s.evictedBy === 'bytes' ? formatBytes(s.maxBytes) : `${s.capacity.toLocaleString('en-US')} messages`;
  const upTo = (s.droppedUpTo ?? []).map(([p, o]) => `p${p} @ ${o.toLocaleString('en-US')}`);
  const where = upTo.length ? `; up to ${upTo.slice(0, 4).join(', ')}${upTo.length > 4 ? ` and ${upTo.length - 4} more partitions` : ''}` : '';
  return `${s.evicted.toLocaleString('en-US')} oldest dropped (buffer full: ${limit}${where})`;
}

function onStatus(s: StatusData): void {
  // performance marks (datapipeline:reading, :done, …) time a read in the benchmark
  if (s.state !== lastStatus?.state) performance.mark(`datapipeline:${s.state}`);
  lastStatus = s;
  const full = s.evicted > 0 ? ` · ${droppedText(s)}` : '';
  statusText.textContent = `${STATE_TEXT[s.state]} · ${s.buffered.toLocaleString('en-US')} buffered${full}${s.message ? ` · ${s.message}` : ''}`;
  statusText.className = `status state-${s.state}`;
  matchText.textContent = s.searching || awaitingFilter
    ? 'Searching…'
    : filter.query || histFrom !== undefined
      ? `${s.count.toLocaleString('en-US')} match${s.count === 1 ? '' : 'es'}`
      : `${s.count.toLocaleString('en-US')} messages`;
  table.stickToEnd = s.state === 'live' && !newestIn.checked;
  table.setTotal(s.count, s.version);
  // the histogram is recomputed at most every 2 s while messages stream in, soon after they stop
  if (histTimer === undefined) {
    const streaming = s.state === 'reading' || s.state === 'live' || s.state === 'planning';
    histTimer = window.setTimeout(
      () => {
        histTimer = undefined;
        send({ type: 'histogram' });
      },
      streaming ? 2000 : 300,
    );
  }
}

window.addEventListener('message', (ev: MessageEvent<ToWebview>) => {
  if (requests.reply(ev.data)) return;
  const m = ev.data;
  switch (m.type) {
    case 'init': {
      titleText.textContent = m.title;
      connectionBadge.textContent = m.connection;
      connectionBadge.title = `Connection: ${m.connection}`;
      document.title = m.title;
      partitions = m.partitions;
      partitionsBox.replaceChildren(
        el('span', { text: 'Partitions:' }),
        ...partitions.map((p) => {
          const b = el('input', { attrs: { type: 'checkbox', 'data-partition': String(p) } });
          b.checked = m.form.partitions ? m.form.partitions.includes(p) : true;
          return label(b, String(p));
        }),
      );
      groupSel.replaceChildren(...m.groups.map((g) => el('option', { text: g, attrs: { value: g } })));
      if (m.groups.length === 0) groupSel.append(el('option', { text: '(no consumer groups)', attrs: { value: '' } }));
      modeSel.value = m.form.mode;
      followIn.checked = m.form.follow;
      isolationSel.value = m.form.isolation ?? 'read_committed';
      if (m.form.offsets) offsetsIn.value = m.form.offsets;
      if (m.form.toOffsets) toOffsetsIn.value = m.form.toOffsets;
      fromIn.value = toLocalInput(m.form.from ?? Date.now() - 3600_000);
      toIn.value = toLocalInput(m.form.to ?? Date.now());
      if (m.form.groupId) groupSel.value = m.form.groupId;
      updateModeFields();
      return;
    }
    case 'status':
      onStatus(m.status);
      if (m.page) {
        keepHighlights(m.page.highlights);
        table.setPage(m.page.start, m.page.rows, m.page.total, m.page.version);
      }
      pullNext();
      return;
    case 'page':
      keepHighlights(m.highlights);
      table.setPage(m.start, m.rows, m.total, m.version);
      return;
    case 'detail':
      keepHighlights(m.detail.highlights);
      detail.show(m.detail);
      return;
    case 'filterResult':
      awaitingFilter = false;
      if (m.error) showError(m.error, false);
      else {
        errorBox.hidden = true;
        matchText.title = `search took ${m.ms} ms`;
      }
      table.redraw();
      if (lastStatus) onStatus({ ...lastStatus, count: m.count });
      return;
    case 'histogram':
      histogram.set(m.histogram);
      return;
    case 'error':
      showError(m.message, m.retry);
      return;
  }
});

// Status is pulled: one pull in flight, sent after the last status was drawn, so the host never
// sends faster than this page renders (the host holds the pull until something changes).
let pullQueued = false;
function pullNext(): void {
  if (pullQueued) return;
  pullQueued = true;
  requestAnimationFrame(() => {
    pullQueued = false;
    send({ type: 'pull', ...table.window(), version: table.dataVersion });
  });
}

performance.mark('datapipeline:ready');
send({ type: 'ready', ...table.window() });
