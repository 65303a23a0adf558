// Lineage graph front end: draws the graph the host laid out (SVG, every label as text). A node is a
// button: click, or Enter/Space on the focused one, opens it; the arrow keys move between nodes (one tab
// stop for the whole graph). The run picker highlights one run's path.
import type { FromLineageGraph, LineageGraphData, ToLineageGraph } from '../../src/protocol/lineageGraph';
import { runPath, type GraphNode, type LineageGraph } from '../../src/services/lineage/graph';
import { el } from '../shared/dom';
import { clearFailure, Requests, showFailure } from '../shared/requests';

declare function acquireVsCodeApi(): { postMessage(m: FromLineageGraph): void };
const vscode = acquireVsCodeApi();
const ACTIONS: Partial<Record<FromLineageGraph['type'], string>> = { open: 'Open', refresh: 'Refresh' };
const requests = new Requests<FromLineageGraph>((m) => vscode.postMessage(m), (error, m) => showFailure(error, ACTIONS[m.type] ?? m.type), (m) => ACTIONS[m.type] && clearFailure());
const send = (m: FromLineageGraph) => void requests.send(m);

const SVG = 'http://www.w3.org/2000/svg';
const COL = 250;
const ROW = 62;
const NODE_W = 190;
const NODE_H = 44;
const PAD = 16;
const KIND_TEXT: Record<string, string> = { kafka: 'topic', table: 'table', file: 'file', other: 'dataset', task: 'Airflow task', spark: 'Spark job' };

const root = document.getElementById('root')!;
let current: LineageGraphData | undefined;
let nodeEls = new Map<string, SVGGElement>();
let edgeEls: Array<{ key: string; path: SVGPathElement }> = [];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A label cut to what fits a node (the whole one is its accessible name and tooltip). */
function fit(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}\u2026`;
}

function accessibleName(n: GraphNode): string {
  return `${KIND_TEXT[n.kind] ?? n.kind} ${n.label}${n.detail ? `, ${n.detail}` : ''}`;
}

function draw(g: LineageGraph): SVGSVGElement {
  const width = Math.max(1, g.width) * COL + PAD * 2 - (COL - NODE_W);
  const height = Math.max(1, g.height) * ROW + PAD * 2 - (ROW - NODE_H);
  const s = svg('svg', { id: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `Lineage: ${g.nodes.length} nodes, ${g.edges.length} edges` });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  s.append(defs);
  const pos = new Map(g.nodes.map((n) => [n.id, { x: PAD + n.x * COL, y: PAD + n.y * ROW }]));
  const edges = svg('g', { class: 'edges', 'aria-hidden': 'true' });
  edgeEls = [];
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const dx = Math.max(30, (x2 - x1) / 2);
    const path = svg('path', { d: `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`, class: 'edge', 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to });
    edges.append(path);
    edgeEls.push({ key: `${e.from}\u0000${e.to}`, path });
  }
  s.append(edges);
  const nodes = svg('g', { class: 'nodes' });
  nodeEls = new Map();
  g.nodes.forEach((n, i) => {
    const p = pos.get(n.id)!;
    const node = svg('g', { class: `node kind-${n.kind}`, transform: `translate(${p.x} ${p.y})`, role: 'button', tabindex: i === 0 ? 0 : -1, 'aria-label': accessibleName(n), 'data-id': n.id, 'data-kind': n.kind, 'data-label': n.label });
    const title = svg('title');
    title.textContent = accessibleName(n);
    const box = svg('rect', { width: NODE_W, height: NODE_H, rx: n.kind === 'kafka' || n.kind === 'table' || n.kind === 'file' ? 14 : 3 });
    const name = svg('text', { x: 10, y: 18, class: 'name' });
    name.textContent = fit(n.label, 26);
    const detail = svg('text', { x: 10, y: 35, class: 'detail' });
    detail.textContent = fit(`${KIND_TEXT[n.kind] ?? n.kind}${n.detail && n.kind !== 'kafka' ? ` \u00b7 ${n.detail}` : ''}`, 32);
    node.append(title, box, name, detail);
    node.addEventListener('click', () => open(n));
    node.addEventListener('keydown', (ev) => onKey(ev, n));
    nodes.append(node);
    nodeEls.set(n.id, node);
  });
  s.append(nodes);
  return s;
}

function open(n: GraphNode): void {
  send({ type: 'open', id: n.id });
}

/** Arrow keys: Up/Down within a column, Left/Right to the nearest row of the next column; Home/End. */
function onKey(ev: KeyboardEvent, n: GraphNode): void {
  const g = current?.graph;
  if (!g) return;
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    open(n);
    return;
  }
  let next: GraphNode | undefined;
  const col = (x: number) => g.nodes.filter((m) => m.x === x).sort((a, b) => a.y - b.y);
  if (ev.key === 'ArrowDown') next = col(n.x).find((m) => m.y > n.y);
  else if (ev.key === 'ArrowUp') next = col(n.x).reverse().find((m) => m.y < n.y);
  else if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
    const xs = [...new Set(g.nodes.map((m) => m.x))].sort((a, b) => a - b);
    const x = ev.key === 'ArrowRight' ? xs.find((v) => v > n.x) : [...xs].reverse().find((v) => v < n.x);
    if (x !== undefined) next = col(x).sort((a, b) => Math.abs(a.y - n.y) - Math.abs(b.y - n.y))[0];
  } else if (ev.key === 'Home') next = g.nodes[0];
  else if (ev.key === 'End') next = g.nodes[g.nodes.length - 1];
  else return;
  ev.preventDefault();
  if (next) focusNode(next.id);
}

function focusNode(id: string): void {
  for (const [k, e] of nodeEls) e.setAttribute('tabindex', k === id ? '0' : '-1');
  const e = nodeEls.get(id);
  e?.focus();
  e?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function applyHighlight(run: string | undefined): void {
  const g = current?.graph;
  if (!g) return;
  const { nodes, edges } = run ? runPath(g, run) : { nodes: new Set<string>(), edges: new Set<string>() };
  root.classList.toggle('highlighting', !!run);
  for (const [id, e] of nodeEls) e.classList.toggle('on-path', nodes.has(id));
  for (const { key, path } of edgeEls) path.classList.toggle('on-path', edges.has(key));
  const picker = document.getElementById('run-picker') as HTMLSelectElement | null;
  if (picker) picker.value = run ?? '';
}

function render(d: LineageGraphData): void {
  const t0 = performance.now();
  current = d;
  const g = d.graph;
  const header = el('header', { cls: 'bar' });
  header.append(el('h1', { text: 'Lineage' }, ...(d.connection ? [el('span', { cls: 'connection', text: d.connection })] : [])));
  const picker = el('select', { id: 'run-picker', attrs: { 'aria-label': 'Highlight the path of one run' } });
  picker.append(el('option', { text: `All runs (${g.runs.length})`, attrs: { value: '' } }));
  for (const r of g.runs) picker.append(el('option', { text: `${r.dagId} \u00b7 ${r.runId}`, attrs: { value: r.key } }));
  picker.addEventListener('change', () => applyHighlight(picker.value || undefined));
  const refresh = el('button', { text: 'Refresh' });
  refresh.addEventListener('click', () => send({ type: 'refresh' }));
  header.append(el('label', { text: 'Run ', attrs: { for: 'run-picker' } }), picker, refresh);
  const parts: Node[] = [header];
  if (d.note) parts.push(el('p', { cls: 'note', text: d.note }));
  if (g.nodes.length) {
    parts.push(el('p', { cls: 'note', text: `${g.nodes.length} nodes from the last runs of ${new Set(g.runs.map((r) => r.dagId)).size} DAGs. Arrow keys move between nodes; Enter opens one.` }));
    const wrap = el('div', { cls: 'canvas' });
    wrap.append(draw(g));
    parts.push(wrap);
  } else if (!d.note) parts.push(el('p', { cls: 'note', text: 'No lineage yet: run a DAG on the stack, then Refresh.' }));
  root.replaceChildren(...parts);
  applyHighlight(d.highlight);
  // the benchmark reads it: from the data's arrival to the next frame
  requestAnimationFrame(() => root.setAttribute('data-render-ms', (performance.now() - t0).toFixed(1)));
}

window.addEventListener('message', (e: MessageEvent<ToLineageGraph>) => {
  if (requests.reply(e.data)) return;
  const m = e.data;
  if (m.type === 'loading') {
    if (!current) root.replaceChildren(el('p', { cls: 'note', text: 'Loading the lineage\u2026' }));
  } else if (m.type === 'error') {
    current = undefined;
    const retry = el('button', { text: 'Retry' });
    retry.addEventListener('click', () => send({ type: 'refresh' }));
    root.replaceChildren(el('p', { cls: 'error', text: m.message }), retry);
  } else if (m.type === 'data') render(m.data);
  else if (m.type === 'highlight') applyHighlight(m.run);
});
send({ type: 'ready' });
