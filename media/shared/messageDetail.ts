/** The detail pane of one message: pretty JSON, raw text, hex for binary, headers. Text only. */
import type { DetailData } from '../../src/protocol/messageBrowser';
import { el, formatBytes, formatTime, setHighlighted } from './dom';

export interface DetailActions {
  copy?(seq: number): void;
  produceAgain?(seq: number): void;
}

type Tab = 'pretty' | 'raw' | 'hex' | 'headers';

export class MessageDetail {
  readonly element: HTMLElement;
  private detail?: DetailData;
  private tab: Tab = 'pretty';

  constructor(
    private readonly actions: DetailActions = {},
    private readonly highlight: (text: string) => Array<[number, number]> = () => [],
  ) {
    this.element = el('section', { cls: 'md', id: 'message-detail', attrs: { 'aria-label': 'Message detail' } }, el('p', { cls: 'md-empty', text: 'Select a message to see it in full.' }));
  }

  show(d: DetailData): void {
    this.detail = d;
    if (this.tab === 'hex' && !d.valueHex) this.tab = 'pretty';
    this.render();
  }

  clear(): void {
    this.detail = undefined;
    this.element.replaceChildren(el('p', { cls: 'md-empty', text: 'Select a message to see it in full.' }));
  }

  private render(): void {
    const d = this.detail;
    if (!d) return;
    const markText = d.mark === 'aborted' ? ' · aborted transaction' : d.mark === 'open-transaction' ? ' · transaction still open' : d.mark === 'error' ? ' · not a message (read error)' : '';
    const meta = el('div', { cls: 'md-meta', text: `partition ${d.partition} · offset ${d.offset} · ${formatTime(d.timestamp)} · ${formatBytes(d.valueSize)}${markText}` });
    const actions = el('div', { cls: 'md-actions' });
    if (this.actions.copy) {
      const b = el('button', { text: 'Copy', id: 'detail-copy' });
      b.addEventListener('click', () => this.actions.copy!(d.seq));
      actions.append(b);
    }
    if (this.actions.produceAgain) {
      const b = el('button', { text: 'Produce again…', id: 'detail-produce' });
      b.addEventListener('click', () => this.actions.produceAgain!(d.seq));
      actions.append(b);
    }
    const tabs: Array<[Tab, string, boolean]> = [
      ['pretty', 'Pretty', d.valuePretty !== null],
      ['raw', 'Raw', d.valueText !== null],
      ['hex', 'Hex', d.valueHex !== null],
      ['headers', `Headers (${d.headers.length})`, true],
    ];
    const tabBar = el('div', { cls: 'md-tabs', attrs: { role: 'tablist' } });
    let current = this.tab;
    if (!tabs.find(([t, , ok]) => t === current && ok)) current = d.valueHex !== null ? 'hex' : d.valuePretty !== null ? 'pretty' : 'raw';
    for (const [t, label, ok] of tabs) {
      if (!ok) continue;
      const b = el('button', { text: label, cls: t === current ? 'active' : '', attrs: { role: 'tab', 'data-tab': t } });
      b.addEventListener('click', () => {
        this.tab = t;
        this.render();
      });
      tabBar.append(b);
    }
    const key = el('div', { cls: 'md-key' }, el('span', { cls: 'label', text: 'Key ' }));
    const keyText = el('code');
    setHighlighted(keyText, d.key ?? 'null', d.key && !d.keyBinary ? this.highlight(d.key) : []);
    key.append(keyText);
    const body = el('pre', { cls: 'md-body', id: 'detail-body' });
    if (current === 'headers') {
      const table = el('table', { cls: 'md-headers' });
      for (const h of d.headers) table.append(el('tr', {}, el('td', { text: h.key }), el('td', { text: h.value === null ? 'null' : h.binary ? `0x${h.value}` : h.value })));
      if (!d.headers.length) table.append(el('tr', {}, el('td', { text: 'No headers' })));
      this.element.replaceChildren(meta, actions, key, tabBar, table);
      return;
    }
    const text =
      current === 'hex' ? (d.valueHex ?? '') + (d.valueHexTruncated ? '\n… (hex shows the first 256 KiB; export to get all bytes)' : '') : current === 'pretty' ? (d.valuePretty ?? '') : (d.valueText ?? 'null');
    // highlighting a 10 MB text would freeze the pane: highlight only reasonable sizes
    setHighlighted(body, text, current !== 'hex' && text.length < 1_000_000 ? this.highlight(text) : []);
    this.element.replaceChildren(meta, actions, key, tabBar, body);
  }
}
