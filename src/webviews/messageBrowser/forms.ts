/** The message browser's forms as requests and filters, and the notes its status line shows. Pure (unit-tested). */
import type { BrowseStatus } from '../../services/kafka/browseSession';
import type { MessageFilter } from '../../services/kafka/messageSearch';
import type { BrowseRequest, StartSpec } from '../../services/kafka/offsets';
import { ValidationError } from '../../services/kafka/validation';
import type { FilterForm, RowData, StartForm } from '../../protocol/messageBrowser';

/** "12" → one offset; "0:12, 1:40" → per partition. Throws ValidationError. */
export function parseOffsets(raw: string | undefined): { offset?: number; perPartition?: Record<number, number> } {
  const s = (raw ?? '').trim();
  if (/^\d+$/.test(s)) return { offset: Number(s) };
  const per: Record<number, number> = {};
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*:\s*(\d+)$/.exec(part);
    if (!m) throw new ValidationError(`"${part}" is not an offset. Enter one offset (e.g. 42) or partition:offset pairs (e.g. 0:42, 1:17).`);
    per[Number(m[1])] = Number(m[2]);
  }
  if (Object.keys(per).length === 0) throw new ValidationError('Enter a start offset (e.g. 42) or partition:offset pairs (e.g. 0:42, 1:17).');
  return { perPartition: per };
}

export function formToRequest(form: StartForm): BrowseRequest {
  let start: StartSpec;
  switch (form.mode) {
    case 'earliest':
    case 'latest':
      start = { mode: form.mode };
      break;
    case 'offset':
      start = { mode: 'offset', ...parseOffsets(form.offsets) };
      break;
    case 'timestamp':
      if (form.from === undefined || !Number.isFinite(form.from)) throw new ValidationError('Enter a valid date and time to start from.');
      start = { mode: 'timestamp', timestamp: form.from };
      break;
    case 'window':
      if (form.from === undefined || form.to === undefined || !Number.isFinite(form.from) || !Number.isFinite(form.to))
        throw new ValidationError('Enter both ends of the time window.');
      start = { mode: 'window', from: form.from, to: form.to };
      break;
    case 'group':
      start = { mode: 'group', groupId: form.groupId ?? '' };
      break;
    case 'range': {
      const from = parseOffsets(form.offsets).perPartition;
      const to = parseOffsets(form.toOffsets).perPartition;
      if (!from || !to) throw new ValidationError('An offset range names each partition: from 0:12, 1:40 to 0:15, 1:44.');
      const missing = Object.keys(from).filter((p) => !(p in to));
      if (missing.length) throw new ValidationError(`The range has no end for partition ${missing.join(', ')}.`);
      return { start: { mode: 'range', start: from, end: to }, partitions: undefined, follow: false };
    }
  }
  return { start, partitions: form.partitions?.length ? form.partitions : undefined, follow: form.mode === 'latest' ? true : form.follow };
}

export function toFilter(f: FilterForm): MessageFilter {
  return {
    query: f.query,
    regex: f.regex,
    caseSensitive: f.caseSensitive,
    fields: f.fields,
    partitions: f.partitions?.length ? f.partitions : undefined,
    timeFrom: f.timeFrom,
    timeTo: f.timeTo,
  };
}

/** "No message from … to …; the topic holds messages from … to …" (or: it is empty). */
export function emptyTimeNote(form: StartForm, range: { first: number; last: number } | undefined): string {
  const t = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '?' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));
  const asked = form.mode === 'window' ? `from ${t(form.from)} to ${t(form.to)}` : `at or after ${t(form.from)}`;
  const holds = range ? `the topic holds messages from ${t(range.first)} to ${t(range.last)}` : 'the topic holds no messages';
  return `No message ${asked}; ${holds}.`;
}

export function pageTexts(page: { rows: RowData[] }): Array<string | null> {
  return page.rows.flatMap((r) => [r.keyBinary ? null : r.key, r.valueBinary ? null : r.value]);
}

/**
 * The status line's note: the error while there is one; otherwise what was read that is not a
 * message (transaction markers, aborted records, undecodable batches), so the counts add up to the
 * end offsets shown.
 */
export function statusNote(st: BrowseStatus, isolation: 'read_committed' | 'read_uncommitted'): string | undefined {
  if (st.error) return st.error;
  const parts: string[] = [];
  if (st.undecodable.length) {
    const n = st.undecodable.length;
    parts.push(`${n} batch${n === 1 ? '' : 'es'} could not be decompressed (error rows)`);
  }
  if (st.markers) parts.push(`${st.markers} transaction marker${st.markers === 1 ? '' : 's'} (not messages)`);
  if (st.aborted) parts.push(`${st.aborted} record${st.aborted === 1 ? '' : 's'} of aborted transactions ${isolation === 'read_committed' ? 'hidden (read committed)' : 'marked'}`);
  if (st.skipped) parts.push(`${st.skipped} offsets deleted by retention before they were read`);
  return parts.length ? `Offsets read also held ${parts.join(', ')}.` : undefined;
}
