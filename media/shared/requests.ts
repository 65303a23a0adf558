// Requests a page sends to its host, each with a request id the host's reply names
// (src/webviews/requests.ts). A failed request is shown the same way in every panel: one alert line at
// the top of the page naming what failed, until dismissed or the next success of the same kind.
import { isRequestReply } from '../../src/webviews/requests';

/** Most requests remembered while unanswered (a host that went away answers none). */
const MAX_PENDING = 1000;

export class Requests<M extends { type: string }> {
  private next = 0;
  private readonly pending = new Map<number, M>();

  constructor(
    private readonly post: (m: M & { reqId: number }) => void,
    private readonly onFailure: (error: string, m: M) => void,
    private readonly onSuccess: (m: M) => void = () => undefined,
  ) {}

  /** Sends `m` with a new request id; returns the id. */
  send(m: M): number {
    const reqId = ++this.next;
    this.pending.set(reqId, m);
    if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.post({ ...m, reqId });
    return reqId;
  }

  /** Takes a message from the host: true when it was a reply (handled here), false for anything else. */
  reply(v: unknown): boolean {
    if (!isRequestReply(v)) return false;
    const m = this.pending.get(v.reqId);
    this.pending.delete(v.reqId);
    if (m && v.ok) this.onSuccess(m);
    if (m && !v.ok) this.onFailure(v.error ?? 'failed', m);
    return true;
  }

  /** Requests not answered yet. */
  get waiting(): number {
    return this.pending.size;
  }
}

/** The one alert line every panel shows a failed request in (text only; a Dismiss button). */
export function showFailure(error: string, what: string): void {
  let bar = document.getElementById('request-failure');
  if (!bar) {
    bar = document.createElement('div');
    bar.id = 'request-failure';
    bar.className = 'request-failure';
    bar.setAttribute('role', 'alert');
    document.body.prepend(bar);
  }
  bar.replaceChildren();
  const text = document.createElement('span');
  text.textContent = `${what} failed: ${error}`;
  const dismiss = document.createElement('button');
  dismiss.textContent = 'Dismiss';
  dismiss.addEventListener('click', () => bar!.remove());
  bar.append(text, dismiss);
}

/** Removes the alert line (a request of the same kind succeeded). */
export function clearFailure(): void {
  document.getElementById('request-failure')?.remove();
}
