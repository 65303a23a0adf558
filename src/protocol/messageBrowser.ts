/**
 * Messages between the message browser host (src/webviews/messageBrowser) and its front end
 * (media/messageBrowser). Data stays in the host; the webview asks for pages of rows.
 * Imported by both sides: types, and the guard the host runs on what the webview sends.
 */
import type { MessageMeta, MessageRow, RowMark } from '../services/kafka/rows';
import { isInt, isObj, isPageRequest, optional } from './guards';
import type { RequestReply } from '../webviews/requests';

export type StartMode = 'earliest' | 'latest' | 'offset' | 'timestamp' | 'window' | 'group' | 'range';

export interface StartForm {
  mode: StartMode;
  /** offset mode: one offset for all partitions, or "0:12,1:40" per partition; range mode: where each partition starts */
  offsets?: string;
  /** range mode: where each partition stops, exclusive ("0:15,1:40") */
  toOffsets?: string;
  /** timestamp mode / window start, epoch ms */
  from?: number;
  /** window end, epoch ms */
  to?: number;
  groupId?: string;
  /** undefined = all partitions */
  partitions?: number[];
  /** latest keeps tailing; other modes may follow too */
  follow: boolean;
  /** default read_committed: records of aborted transactions are not shown */
  isolation?: 'read_committed' | 'read_uncommitted';
}

export interface FilterForm {
  query: string;
  regex: boolean;
  caseSensitive: boolean;
  fields: { key: boolean; value: boolean; headers: boolean };
  partitions?: number[];
  timeFrom?: number;
  timeTo?: number;
}

/** A table row and what it carries are the services' own shapes (services/kafka/rows.ts), sent as they are. */
export type { MessageMeta, RowMark } from '../services/kafka/rows';
export type RowData = MessageRow;

export interface DetailData extends MessageMeta {
  mark?: RowMark;
  /** full text when UTF-8 (JSON pretty-printed separately) */
  valueText: string | null;
  valuePretty: string | null;
  /** hex dump when not UTF-8 (first 256 KiB) */
  valueHex: string | null;
  valueHexTruncated: boolean;
  valueSize: number;
  headers: Array<{ key: string; value: string | null; binary: boolean }>;
  /** regex searches: ranges for the key, value text and pretty value */
  highlights?: Highlights;
}

/**
 * Highlight ranges the host computed for a regular-expression search (text → [start, end) pairs):
 * the webview never runs the user's pattern itself, so a slow pattern cannot freeze it.
 */
export type Highlights = Array<[string, Array<[number, number]>]>;

export interface HistogramData {
  from: number;
  binMs: number;
  counts: number[];
}

export type BrowseStateName = 'idle' | 'planning' | 'reading' | 'live' | 'done' | 'reconnecting' | 'stopped' | 'error';

export interface StatusData {
  state: BrowseStateName;
  /** rows in the (filtered) view */
  count: number;
  /** messages in the buffer */
  buffered: number;
  capacity: number;
  /** dropped from the front of the full buffer */
  evicted: number;
  /** byte budget of the buffer (keys, values, headers) and what it holds now */
  maxBytes: number;
  bytes: number;
  /** the limit that dropped messages: the message count or the byte budget */
  evictedBy?: 'count' | 'bytes';
  /** per partition, the newest offset dropped: [partition, offset] */
  droppedUpTo?: Array<[number, number]>;
  /** bumps whenever rows change; the webview re-fetches its visible page */
  version: number;
  message?: string;
  /** a search is running in the search worker (the rows are the previous search's until it ends) */
  searching?: boolean;
}

/** One page of rows of the view, as the host sends it (asked for, or with a status the webview pulled). */
export interface PageData {
  reqId: number;
  start: number;
  total: number;
  version: number;
  rows: RowData[];
  highlights?: Highlights;
}

export type ToHost =
  /** the webview runs; `start`/`count`: the rows it shows first */
  | { type: 'ready'; start?: number; count?: number }
  /**
   * The webview is ready for the next status: the host answers once something changed (at most every
   * statusIntervalMs while messages stream in), with the rows of [start, start+count) when the data
   * version differs from the one the webview holds. One pull is in flight at a time, so the host
   * never sends faster than the webview renders.
   */
  | { type: 'pull'; start: number; count: number; version: number }
  | { type: 'start'; form: StartForm }
  | { type: 'stop' }
  | { type: 'retry' }
  | { type: 'page'; reqId: number; start: number; count: number }
  | { type: 'filter'; filter: FilterForm }
  | { type: 'order'; newestFirst: boolean }
  | { type: 'detail'; seq: number }
  | { type: 'export'; format: 'json' | 'csv' }
  | { type: 'copy'; seq: number }
  | { type: 'produceAgain'; seq: number }
  | { type: 'histogram' };

export type ToWebview =
  /** the answer to a request by its id (src/webviews/requests.ts) */
  | RequestReply
  | { type: 'init'; topic: string; title: string; /** the connection read ("Local stack", "Team prod · read-only") */ connection: string; partitions: number[]; groups: string[]; capacity: number; form: StartForm }
  | { type: 'status'; status: StatusData; page?: PageData }
  | ({ type: 'page' } & PageData)
  | { type: 'detail'; detail: DetailData }
  | { type: 'filterResult'; count: number; ms: number; error?: string }
  | { type: 'histogram'; histogram: HistogramData | null }
  /** an error shown inline; `retry` adds a Retry button */
  | { type: 'error'; message: string; retry: boolean };

const START_MODES: readonly string[] = ['earliest', 'latest', 'offset', 'timestamp', 'window', 'group', 'range'];
const isIntList = (v: unknown) => Array.isArray(v) && v.length <= 100_000 && v.every(isInt);
const isTime = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

export function isStartForm(v: unknown): v is StartForm {
  return (
    isObj(v) &&
    typeof v.mode === 'string' &&
    START_MODES.includes(v.mode) &&
    typeof v.follow === 'boolean' &&
    optional(v.offsets, (x) => typeof x === 'string' && x.length <= 100_000) &&
    optional(v.toOffsets, (x) => typeof x === 'string' && x.length <= 100_000) &&
    optional(v.from, isTime) &&
    optional(v.to, isTime) &&
    optional(v.groupId, (x) => typeof x === 'string' && x.length <= 1000) &&
    optional(v.partitions, isIntList) &&
    optional(v.isolation, (x) => x === 'read_committed' || x === 'read_uncommitted')
  );
}

export function isFilterForm(v: unknown): v is FilterForm {
  return (
    isObj(v) &&
    typeof v.query === 'string' &&
    v.query.length <= 10_000 &&
    typeof v.regex === 'boolean' &&
    typeof v.caseSensitive === 'boolean' &&
    isObj(v.fields) &&
    typeof v.fields.key === 'boolean' &&
    typeof v.fields.value === 'boolean' &&
    typeof v.fields.headers === 'boolean' &&
    optional(v.partitions, isIntList) &&
    optional(v.timeFrom, isTime) &&
    optional(v.timeTo, isTime)
  );
}

/** Accepts only well-formed messages from the message browser webview (anything else is dropped and logged). */
export function isToHost(v: unknown): v is ToHost {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'ready':
      return optional(v.start, (x) => isInt(x) && x >= 0) && optional(v.count, (x) => isInt(x) && x >= 0 && x <= 10_000);
    case 'pull':
      return isInt(v.start) && v.start >= 0 && isInt(v.count) && v.count >= 0 && v.count <= 10_000 && isInt(v.version);
    case 'stop':
    case 'retry':
    case 'histogram':
      return true;
    case 'start':
      return isStartForm(v.form);
    case 'page':
      return isPageRequest(v);
    case 'filter':
      return isFilterForm(v.filter);
    case 'order':
      return typeof v.newestFirst === 'boolean';
    case 'detail':
    case 'copy':
    case 'produceAgain':
      return isInt(v.seq) && v.seq >= 0;
    case 'export':
      return v.format === 'json' || v.format === 'csv';
    default:
      return false;
  }
}
