/** Tiny DOM helpers for webviews: every piece of data goes in as text (textContent / text nodes). */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { cls?: string; text?: string; title?: string; id?: string; attrs?: Record<string, string> } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.cls) e.className = props.cls;
  if (props.id) e.id = props.id;
  if (props.title !== undefined) e.title = props.title;
  if (props.text !== undefined) e.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, v);
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** Fills `target` with `text`, wrapping the given [start, end) ranges in <mark> (text nodes only). */
export function setHighlighted(target: HTMLElement, text: string, ranges: Array<[number, number]>): void {
  if (ranges.length === 0) {
    target.textContent = text;
    return;
  }
  const parts: Node[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    if (s < at || s >= text.length) continue;
    if (s > at) parts.push(document.createTextNode(text.slice(at, s)));
    const m = document.createElement('mark');
    m.textContent = text.slice(s, Math.min(e, text.length));
    parts.push(m);
    at = Math.min(e, text.length);
  }
  if (at < text.length) parts.push(document.createTextNode(text.slice(at)));
  target.replaceChildren(...parts);
}

export function formatTime(ts: number): string {
  if (!Number.isFinite(ts) || ts < 0) return '—';
  const d = new Date(ts);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** "2024-05-01T10:00" (datetime-local input) → epoch ms in local time; undefined when empty/invalid. */
export function parseLocalDateTime(v: string): number | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t : undefined;
}

export function toLocalInput(ts: number): string {
  const d = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
