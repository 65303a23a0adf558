/** Small checks the protocols' guards share (a webview's messages are untrusted input). */
export const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
export const optional = (v: unknown, check: (x: unknown) => boolean) => v === undefined || check(v);

/** The most rows one page request may ask for (the virtual table asks for what is in view). */
export const MAX_PAGE_REQUEST = 10_000;

/** The most rows a host sends in one page answer (whatever a request asked for). */
export const MAX_PAGE_ROWS = 500;

/** `{ reqId, start, count }` of a page the shared virtual table asks for. */
export function isPageRequest(v: Record<string, unknown>): boolean {
  return isInt(v.reqId) && isInt(v.start) && v.start >= 0 && isInt(v.count) && v.count >= 0 && v.count <= MAX_PAGE_REQUEST;
}
