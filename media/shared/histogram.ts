/** Timestamp histogram: bars per time bin; dragging across bars selects a time range. */
import type { HistogramData } from '../../src/protocol/messageBrowser';
import { el, formatTime } from './dom';

export class TimeHistogram {
  readonly element: HTMLElement;
  private readonly bars: HTMLElement;
  private readonly label: HTMLElement;
  private data?: HistogramData;
  private dragFrom = -1;
  private dragTo = -1;

  constructor(private readonly onSelect: (from: number | undefined, to: number | undefined) => void) {
    this.bars = el('div', { cls: 'hg-bars', attrs: { role: 'img', 'aria-label': 'Message timestamps' } });
    this.label = el('div', { cls: 'hg-label', text: '' });
    this.element = el('div', { cls: 'hg', id: 'histogram' }, this.bars, this.label);
    this.bars.addEventListener('mousedown', (e) => {
      this.dragFrom = this.dragTo = this.binAt(e.clientX);
      this.paint();
    });
    this.bars.addEventListener('mousemove', (e) => {
      if (this.dragFrom < 0 || e.buttons !== 1) return;
      this.dragTo = this.binAt(e.clientX);
      this.paint();
    });
    window.addEventListener('mouseup', () => {
      if (this.dragFrom < 0 || !this.data) return;
      const a = Math.min(this.dragFrom, this.dragTo);
      const b = Math.max(this.dragFrom, this.dragTo);
      const d = this.data;
      this.onSelect(d.from + a * d.binMs, d.from + (b + 1) * d.binMs - 1);
      this.label.textContent = `Selected ${formatTime(d.from + a * d.binMs)} – ${formatTime(d.from + (b + 1) * d.binMs - 1)} (double-click to clear)`;
      this.dragFrom = -1;
    });
    this.bars.addEventListener('dblclick', () => {
      this.dragFrom = this.dragTo = -1;
      this.selected = undefined;
      this.onSelect(undefined, undefined);
      this.paint();
    });
  }
  private selected?: [number, number];

  private binAt(x: number): number {
    const r = this.bars.getBoundingClientRect();
    const n = this.data?.counts.length ?? 1;
    return Math.max(0, Math.min(n - 1, Math.floor(((x - r.left) / Math.max(1, r.width)) * n)));
  }

  set(d: HistogramData | null): void {
    this.data = d ?? undefined;
    this.paint();
  }

  private paint(): void {
    const d = this.data;
    if (!d) {
      this.bars.replaceChildren();
      this.label.textContent = 'No messages';
      return;
    }
    const max = Math.max(1, ...d.counts);
    const a = this.dragFrom >= 0 ? Math.min(this.dragFrom, this.dragTo) : -1;
    const b = this.dragFrom >= 0 ? Math.max(this.dragFrom, this.dragTo) : -1;
    this.bars.replaceChildren(
      ...d.counts.map((c, i) => {
        const bar = el('div', { cls: `hg-bar${i >= a && i <= b ? ' sel' : ''}`, title: `${formatTime(d.from + i * d.binMs)}: ${c}` });
        bar.style.height = `${Math.round((c / max) * 100)}%`;
        return bar;
      }),
    );
    if (this.dragFrom < 0 && !this.label.textContent?.startsWith('Selected'))
      this.label.textContent = `${formatTime(d.from)} – ${formatTime(d.from + d.counts.length * d.binMs)} · drag to select a time range`;
  }
}
