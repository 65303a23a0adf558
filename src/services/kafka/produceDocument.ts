/**
 * The JSON document Produce Message opens: a template to edit, and the parser that turns the
 * edited text into records (one object or an array of them).
 */
import type { ExportRecord } from './messageFormat';
import { parseProduceFile, ValidationError, type ProduceRecord } from './validation';

/** Pretty JSON for a new produce document; prefilled from a message (UTF-8 key/value) when given. */
export function produceTemplate(prefill?: ExportRecord): string {
  if (prefill && prefill.keyEncoding === 'utf8' && prefill.valueEncoding === 'utf8') {
    let value: unknown = prefill.value;
    if (prefill.value !== null) {
      try {
        value = JSON.parse(prefill.value);
      } catch {
        value = prefill.value;
      }
    }
    const headers: Record<string, string> = {};
    // the document's headers are a name → text object: text headers only, the last of a repeated name
    for (const h of prefill.headers) if (h.encoding === 'utf8') headers[h.key] = h.value ?? '';
    return `${JSON.stringify({ key: prefill.key, value, headers, partition: null }, null, 2)}\n`;
  }
  return `${JSON.stringify({ key: 'order-1', value: { id: 1, item: 'book', qty: 2 }, headers: { source: 'vscode' }, partition: null }, null, 2)}\n`;
}

/**
 * Parses a produce document: one record { key?, value, headers?, partition? } or an array of
 * records (or of plain values). Throws a ValidationError that says what to fix; sends nothing.
 */
export function parseProduceDocument(text: string): ProduceRecord[] {
  if (text.trim() === '') throw new ValidationError('The document is empty. Write a message like {"key": "k", "value": {...}} and send again.');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`The document is not valid JSON (${(e as Error).message}). Nothing was sent; fix it and send again.`);
  }
  const isObject = data !== null && typeof data === 'object' && !Array.isArray(data);
  if (isObject && !('value' in (data as Record<string, unknown>)))
    throw new ValidationError('The message has no "value". Write {"key": ..., "value": ..., "headers": {...}} or an array of them.');
  const records = parseProduceFile(JSON.stringify(isObject ? [data] : data));
  if (records.length === 0) throw new ValidationError('The array is empty: nothing to send. Add a message and send again.');
  return records;
}
