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
    if (d.key === null) {
      // no key at all, unlike a key that is the text "null"
      key.append(el('span', { cls: 'md-none', id: 'detail-key-none', text: '(no key)' }));
    } else {
      const keyText = el('code', { id: 'detail-key' });
      setHighlighted(keyText, d.key, !d.keyBinary ? this.highlight(d.key) : []);
      key.append(keyText);
    }
    const body = el('pre', { cls: 'md-body', id: 'detail-body' });
    if (current === 'headers') {
      const table = el('table', { cls: 'md-headers' });
      for (const h of d.headers) {
        const value = h.value === null ? el('span', { cls: 'md-none', text: '(no value)' }) : h.value === '' ? el('span', { cls: 'md-none', text: '(empty)' }) : document.createTextNode(h.binary ? `0x${h.value}` : h.value);
        table.append(el('tr', {}, el('td', { text: h.key }), el('td', {}, value)));
      }
      if (!d.headers.length) table.append(el('tr', {}, el('td', { text: 'No headers' })));
      this.element.replaceChildren(meta, actions, key, tabBar, table);
      return;
    }
    if (d.valueText === null && d.valueHex === null) {
      // a null value (a tombstone: in a compacted topic it deletes the key) is not an empty one
      body.append(el('span', { cls: 'md-none', id: 'detail-value-none', text: '(null value: a tombstone, it deletes the key in a compacted topic)' }));
      this.element.replaceChildren(meta, actions, key, tabBar, body);
      return;
    }
    const text =
      current === 'hex' ? (d.valueHex ?? '') + (d.valueHexTruncated ? '\n… (hex shows the first 256 KiB; export to get all bytes)' : '') : current === 'pretty' ? (d.valuePretty ?? '') : (d.valueText ?? '');
    if (text === '' && current !== 'hex') {
      body.append(el('span', { cls: 'md-none', id: 'detail-value-empty', text: '(empty value, 0 bytes)' }));
      this.element.replaceChildren(meta, actions, key, tabBar, body);
      return;
    }
    // every match of a big value is found, the first thousand marked (more marks would freeze the pane)
    const ranges = current !== 'hex' ? this.highlight(text).slice(0, 1000) : [];
    setHighlighted(body, text, ranges);
    this.element.replaceChildren(meta, actions, key, tabBar, body);
    // bring the first match into view: in a 5 MB value it is far below the top
    body.querySelector('mark')?.scrollIntoView({ block: 'center' });
  }
}
