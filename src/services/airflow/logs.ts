import * as zlib from 'node:zlib';

/**
 * Task-log payloads differ by version: Airflow 2.x returns `content` as the Python repr of a list of
 * (host, text) tuples; Airflow 3.x returns a list of structured messages. Both return a signed
 * continuation token whose payload says whether the log ended.
 */

/** Text of a 2.x log `content` string: "[('host', '...text...')]" → the texts joined. */
export function textFromV1Content(content: string): string {
  const trimmed = content.trim();
  if (!trimmed.startsWith('[(')) return content;
  try {
    const tuples = parsePythonTupleList(trimmed);
    return tuples.map((t) => t[t.length - 1] ?? '').join('');
  } catch {
    return content;
  }
}

/** Parses a Python literal list of tuples of strings (the only shape 2.x emits here). */
export function parsePythonTupleList(src: string): string[][] {
  let i = 0;
  const ws = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const expect = (c: string) => {
    ws();
    if (src[i] !== c) throw new Error(`expected ${c} at ${i}`);
    i++;
  };
  const pyString = (): string => {
    ws();
    const q = src[i];
    if (q !== "'" && q !== '"') throw new Error(`expected string at ${i}`);
    i++;
    let out = '';
    while (i < src.length && src[i] !== q) {
      const c = src[i]!;
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const n = src[i + 1];
      i += 2;
      switch (n) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case "'": out += "'"; break;
        case '"': out += '"'; break;
        case 'x': out += String.fromCharCode(parseInt(src.slice(i, i + 2), 16)); i += 2; break;
        case 'u': out += String.fromCharCode(parseInt(src.slice(i, i + 4), 16)); i += 4; break;
        case 'U': out += String.fromCodePoint(parseInt(src.slice(i, i + 8), 16)); i += 8; break;
        default: out += '\\' + (n ?? '');
      }
    }
    if (src[i] !== q) throw new Error('unterminated string');
    i++;
    return out;
  };
  const result: string[][] = [];
  expect('[');
  ws();
  while (src[i] !== ']') {
    expect('(');
    const tuple: string[] = [];
    ws();
    while (src[i] !== ')') {
      tuple.push(pyString());
      ws();
      if (src[i] === ',') i++;
      ws();
    }
    i++;
    result.push(tuple);
    ws();
    if (src[i] === ',') i++;
    ws();
    if (i >= src.length) throw new Error('unterminated list');
  }
  return result;
}

/** Text of a 3.x log `content` list: structured messages rendered as "[ts] LEVEL - event" lines. */
export function textFromV2Content(content: unknown[]): string {
  const lines: string[] = [];
  for (const item of content) {
    if (typeof item === 'string') {
      lines.push(item);
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    const m = item as Record<string, unknown>;
    const event = typeof m.event === 'string' ? m.event : JSON.stringify(m.event ?? '');
    if (Array.isArray(m.sources)) {
      lines.push(`${event}`);
      for (const s of m.sources) lines.push(`  ${String(s)}`);
      continue;
    }
    const parts: string[] = [];
    if (typeof m.timestamp === 'string') parts.push(`[${m.timestamp}]`);
    if (typeof m.level === 'string') parts.push(`${m.level.toUpperCase()} -`);
    parts.push(event);
    lines.push(parts.join(' '));
    if (typeof m.error_detail === 'object' && m.error_detail !== null) lines.push(JSON.stringify(m.error_detail));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Payload of an itsdangerous URLSafeSerializer token (unsigned read; the server verifies it). */
export function decodeContinuationToken(token: string): Record<string, unknown> | undefined {
  try {
    let payload = token;
    let compressed = false;
    if (payload.startsWith('.')) {
      compressed = true;
      payload = payload.slice(1);
    }
    payload = payload.split('.')[0]!;
    let buf = Buffer.from(payload, 'base64url');
    if (compressed) buf = zlib.inflateSync(buf);
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
