/**
 * A virtualized message table: only the rows in view (plus a small overscan) exist in the DOM,
 * whatever the row count (a million rows render ≤ MAX_DOM_ROWS elements). Rows are pulled from
 * the host in pages through `fetchPage`; the table caches them per data version.
 * Shared by the message browser and the Airflow output viewer.
 */
import type { RowData } from '../../src/protocol/messageBrowser';
import { el, formatBytes, formatTime, setHighlighted } from './dom';

export const ROW_HEIGHT = 24;
export const MAX_DOM_ROWS = 200;
const OVERSCAN = 10;

/** One column: its header, width class (c0…c5 or `field`, plus `num` for numbers) and how a row fills its cell. */
export interface TableColumn {
  header: string;
  title: string;
  cls: string;
  fill(cell: HTMLElement, r: RowData, highlight: (text: string) => Array<[number, number]>): void;
}

const textColumn = (header: string, title: string, cls: string, text: (r: RowData) => string): TableColumn => ({
  header,
  title,
  cls,
  fill: (cell, r) => (cell.textContent = text(r)),
});

const PARTITION = textColumn('P', 'Partition', 'c0 num', (r) => String(r.partition));
const OFFSET = textColumn('Offset', 'Offset', 'c1 num', (r) => String(r.offset));
/** A key or value preview: "null" in italics, hex in the editor font, search matches marked (text only). */
function fillPreview(cell: HTMLElement, text: string | null, binary: boolean, hl: (text: string) => Array<[number, number]>, suffix = ''): void {
  if (text === null) cell.classList.add('null');
  if (binary) cell.classList.add('binary');
  setHighlighted(cell, (text ?? 'null') + suffix, text === null || binary ? [] : hl(text));
}

const KEY: TableColumn = { header: 'Key', title: 'Key', cls: 'c3', fill: (cell, r, hl) => fillPreview(cell, r.key, r.keyBinary, hl) };
const VALUE: TableColumn = {
  header: 'Value',
  title: 'Value',
  cls: 'c4',
  fill(cell, r, hl) {
    if (r.valueTruncated) cell.title = `${formatBytes(r.valueSize)} — select the row to see it all`;
    fillPreview(cell, r.value, r.valueBinary, hl, r.valueTruncated ? ' …' : '');
    // a mark shows as a tag in front of the value, readable without colour
    if (r.mark) cell.prepend(el('span', { cls: 'mt-tag', text: MARK_TAG[r.mark] }));
  },
};

/** The message browser's columns. */
export const MESSAGE_COLUMNS: TableColumn[] = [
  PARTITION,
  OFFSET,
  textColumn('Timestamp', 'Timestamp', 'c2', (r) => formatTime(r.timestamp)),
  KEY,
  VALUE,
  textColumn('Hdrs', 'Header count', 'c5 num', (r) => (r.headerCount ? String(r.headerCount) : '')),
];

/** Partition, offset and one column per named field (the row's `fields`); key and value when none. */
export function fieldColumns(names: string[]): TableColumn[] {
  if (!names.length) return [PARTITION, OFFSET, KEY, VALUE];
  return [PARTITION, OFFSET, ...names.map((n, i) => textColumn(n, n, 'field', (r) => r.fields?.[i] ?? ''))];
}

export interface MessageTableOptions {
  /** ask the host for rows [start, start+count); answer with `setPage` */
  fetchPage(start: number, count: number): void;
  /** default: MESSAGE_COLUMNS */
  columns?: TableColumn[];
  /** the grid element's id (default `message-table`) */
  id?: string;
  /** the grid's accessible name */
  label?: string;
  onSelect?(row: RowData): void;
  /** ranges to highlight in key/value previews */
  highlight?(text: string): Array<[number, number]>;
}

export class MessageTable {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly columns: TableColumn[];
  private total = 0;
  private version = -1;
  private cache = new Map<number, RowData>();
  private requested = new Set<number>();
  private selectedSeq?: number;
  private rafPending = false;
  private drewRows = false;
  /** while live: keep the newest row in view as rows arrive, if the view is at the end */
  stickToEnd = false;

  constructor(private readonly opts: MessageTableOptions) {
    this.columns = opts.columns ?? MESSAGE_COLUMNS;
    const header = el(
      'div',
      { cls: 'mt-row mt-head', attrs: { role: 'row' } },
      ...this.columns.map((c) => el('div', { cls: `mt-cell ${c.cls}`, text: c.header, title: c.title, attrs: { role: 'columnheader' } })),
    );
    this.spacer = el('div', { cls: 'mt-spacer' });
    this.body = el('div', { cls: 'mt-body', attrs: { role: 'rowgroup' } });
    this.viewport = el('div', { cls: 'mt-viewport', attrs: { tabindex: '0' } }, this.spacer, this.body);
    this.element = el('div', { cls: 'mt', id: opts.id ?? 'message-table', attrs: { role: 'grid', ...(opts.label ? { 'aria-label': opts.label } : {}) } }, header, this.viewport);
    this.viewport.addEventListener('scroll', () => this.schedule());
    this.viewport.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
  }

  /** New row count / data version from the host. A new version drops cached rows. */
  setTotal(total: number, version: number): void {
    if (version !== this.version) {
      this.version = version;
      this.cache.clear();
      this.requested.clear();
    }
    // follow new rows only when the user is already at the end (never yank them away from a row)
    const v = this.viewport;
    const atEnd = v.scrollTop + v.clientHeight >= this.total * ROW_HEIGHT - 2 * ROW_HEIGHT;
    this.total = total;
    this.spacer.style.height = `${total * ROW_HEIGHT}px`;
    if (this.stickToEnd && atEnd) v.scrollTop = v.scrollHeight;
    this.schedule();
  }

  setPage(start: number, rows: RowData[], total: number, version: number): void {
    if (version !== this.version) this.setTotal(total, version);
    rows.forEach((r, i) => this.cache.set(start + i, r));
    for (let i = start; i < start + rows.length; i++) this.requested.delete(i);
    this.schedule();
  }

  /** The rows in view plus overscan: what a status pull asks the host to send along. */
  window(): { start: number; count: number } {
    const [first, end] = this.visibleRange(true);
    return { start: first, count: Math.max(0, end - first) };
  }

  /** The data version the cached rows belong to. */
  get dataVersion(): number {
    return this.version;
  }

  /** Re-renders visible rows (e.g. after the highlight changed). */
  redraw(): void {
    this.schedule();
  }

  get renderedRows(): number {
    return this.body.childElementCount;
  }

  private schedule(): void {
    if (this.rafPending) return;
    this.rafPending = true;
    requestAnimationFrame(() => {
      this.rafPending = false;
      this.render();
    });
  }

  /** `unbounded`: not cut at the current total (a pull asks for rows that may arrive meanwhile). */
  private visibleRange(unbounded = false): [number, number] {
    const h = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.min(MAX_DOM_ROWS, Math.ceil(h / ROW_HEIGHT) + 2 * OVERSCAN);
    return [first, unbounded ? first + count : Math.min(this.total, first + count)];
  }

  private render(): void {
    const [first, end] = this.visibleRange();
    let missingFrom = -1;
    let missingTo = -1;
    const rows: HTMLElement[] = [];
    for (let i = first; i < end; i++) {
      const r = this.cache.get(i);
      if (!r) {
        if (!this.requested.has(i)) {
          if (missingFrom < 0) missingFrom = i;
          missingTo = i;
        }
        rows.push(this.placeholder(i));
      } else rows.push(this.rowElement(i, r));
    }
    if (!this.drewRows && rows.length > missingCount(rows)) {
      this.drewRows = true;
      performance.mark('datapipeline:first-rows');
    }
    this.body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    this.body.replaceChildren(...rows);
    if (missingFrom >= 0) {
      // fetch a bit around the gap so small scrolls hit the cache
      const start = Math.max(0, missingFrom - OVERSCAN);
      const count = Math.min(this.total - start, missingTo - start + 1 + 2 * OVERSCAN);
      for (let i = start; i < start + count; i++) this.requested.add(i);
      this.opts.fetchPage(start, count);
    }
    // keep the cache bounded: drop rows far from view
    if (this.cache.size > 2000) for (const k of this.cache.keys()) if (k < first - 500 || k > end + 500) this.cache.delete(k);
  }

  private placeholder(i: number): HTMLElement {
    const e = el('div', { cls: 'mt-row loading', attrs: { role: 'row', 'aria-rowindex': String(i + 1) } }, el('div', { cls: 'mt-cell', text: '…' }));
    return e;
  }

  private rowElement(i: number, r: RowData): HTMLElement {
    const hl = this.opts.highlight ?? (() => []);
    const cells = this.columns.map((c) => {
      const cell = el('div', { cls: `mt-cell ${c.cls}`, attrs: { role: 'gridcell' } });
      c.fill(cell, r, hl);
      return cell;
    });
    const row = el(
      'div',
      {
        cls: `mt-row${r.seq === this.selectedSeq ? ' selected' : ''}${r.mark ? ` mark-${r.mark}` : ''}`,
        title: r.mark ? MARK_TEXT[r.mark] : '',
        attrs: { role: 'row', 'aria-rowindex': String(i + 1), 'data-seq': String(r.seq), ...(r.mark ? { 'data-mark': r.mark } : {}) },
      },
      ...cells,
    );
    row.addEventListener('click', () => this.select(i, r));
    return row;
  }

  private select(i: number, r: RowData): void {
    this.selectedSeq = r.seq;
    this.selectedIndex = i;
    this.opts.onSelect?.(r);
    this.schedule();
  }
  private selectedIndex = -1;

  private onKey(e: KeyboardEvent): void {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const next = Math.max(0, Math.min(this.total - 1, this.selectedIndex + (e.key === 'ArrowDown' ? 1 : -1)));
    const r = this.cache.get(next);
    if (r) this.select(next, r);
    const top = next * ROW_HEIGHT;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight) this.viewport.scrollTop = top + ROW_HEIGHT - this.viewport.clientHeight;
  }
}

const MARK_TAG: Record<NonNullable<RowData['mark']>, string> = { aborted: 'aborted', 'open-transaction': 'open txn', error: 'error' };
const MARK_TEXT: Record<NonNullable<RowData['mark']>, string> = {
  aborted: 'Written in a transaction that was aborted: read committed consumers never see it.',
  'open-transaction': 'Written in a transaction that has not committed or aborted yet.',
  error: 'Not a message: this row stands for data that could not be read.',
};

const missingCount = (rows: HTMLElement[]) => rows.filter((r) => r.classList.contains('loading')).length;
