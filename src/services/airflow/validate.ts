/**
 * Small decoders for what crosses the REST boundary: every field the extension uses is checked,
 * so a changed or unexpected server answer becomes one clear error instead of `undefined` later.
 */

export class DecodeError extends Error {
  constructor(readonly path: string, expected: string, got: unknown) {
    super(`${path}: expected ${expected}, got ${describe(got)}`);
    this.name = 'DecodeError';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v;
}

export type Obj = Record<string, unknown>;

export function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DecodeError(path, 'object', v);
  return v as Obj;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new DecodeError(path, 'array', v);
  return v;
}

export function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new DecodeError(`${path}.${key}`, 'string', v);
  return v;
}

export function optStr(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new DecodeError(`${path}.${key}`, 'string or null', v);
  return v;
}

export function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new DecodeError(`${path}.${key}`, 'boolean or null', v);
  return v;
}

export function optNum(o: Obj, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DecodeError(`${path}.${key}`, 'number or null', v);
  return v;
}

export function num(o: Obj, key: string, path: string): number {
  const v = optNum(o, key, path);
  if (v === undefined) throw new DecodeError(`${path}.${key}`, 'number', o[key]);
  return v;
}
