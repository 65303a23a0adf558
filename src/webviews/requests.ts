/**
 * Every request a panel's page sends gets one reply by its request id: `{ type: 'reply', reqId, ok }`
 * once the host's handler has finished, or `ok: false` with the error when it failed. A failure is
 * reported once through the panel's `failed` (logged, and shown the same way in every panel) and the
 * page shows it beside what it asked for (media/shared/requests.ts). No `vscode` import (unit-tested).
 */

export interface RequestReply {
  type: 'reply';
  reqId: number;
  ok: boolean;
  error?: string;
}

export interface AnswerIO<M> {
  post(reply: RequestReply): void;
  /** the handler failed on `m` (not called for a success) */
  failed(message: string, m: M): void;
}

/** Wraps a panel's handler: it runs, then the page hears back by request id. Never rejects. */
export function answerRequests<M extends { type: string; reqId?: number }>(handle: (m: M) => unknown, io: AnswerIO<M>): (m: M) => Promise<void> {
  return async (m) => {
    let error: string | undefined;
    try {
      await handle(m);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      io.failed(error, m);
    }
    if (typeof m.reqId === 'number') io.post(error === undefined ? { type: 'reply', reqId: m.reqId, ok: true } : { type: 'reply', reqId: m.reqId, ok: false, error });
  };
}

/** True for a reply the host sent (the pages' guard). */
export function isRequestReply(v: unknown): v is RequestReply {
  const r = v as Partial<RequestReply> | null;
  return !!r && typeof r === 'object' && r.type === 'reply' && Number.isSafeInteger(r.reqId) && typeof r.ok === 'boolean' && (r.error === undefined || typeof r.error === 'string');
}
