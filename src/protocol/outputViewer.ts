/**
 * Messages between the output viewer panel (extension host) and its webview (media/outputViewer).
 * The run's messages stay in a host-side store; the webview's virtual table asks for the rows in view
 * by request id, like the message browser's.
 */
import type { RunTrace } from '../services/airflow/runTrace';
import { isInt, isObj, isPageRequest } from './guards';
import type { PageData } from './messageBrowser';

export interface OutputViewerTask {
  taskId: string;
  state?: string;
  tryNumber: number;
  /** "12s", "1m 05s" or "" */
  duration: string;
}

export interface OutputViewerData {
  dagId: string;
  runId: string;
  runState: string;
  /** "1m 05s" */
  runDuration: string;
  topic: string;
  tasks: OutputViewerTask[];
  /** how many of the run's messages the host holds (the table pages them) */
  total: number;
  /** the messages' JSON fields, as table columns (empty: show key and value) */
  columns: string[];
  /** bumps on each load; pages of an older load are dropped */
  version: number;
  /** why there are no records, a problem reading them, or that only the first N are held */
  note?: string;
  sparkAppId?: string;
  /** the connection the run was read from ("Local stack", "Team prod · read-only") */
  connection?: string;
  /** the run traced: task tries on a timeline, the Spark applications it started, the Kafka ranges it read and wrote */
  trace?: RunTrace;
}

export type ToOutputViewer =
  | { type: 'loading'; runId: string }
  | { type: 'data'; data: OutputViewerData }
  | ({ type: 'page' } & Omit<PageData, 'highlights'>)
  | { type: 'error'; message: string };

export type FromOutputViewer =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'page'; reqId: number; start: number; count: number }
  | { type: 'openTaskLog'; taskId: string; tryNumber: number }
  /** an application of the run (its id must be one the host sent); none: the run's application from its log */
  | { type: 'openSparkApp'; appId?: string }
  /** the message browser on exactly trace.kafka[index] */
  | { type: 'openRange'; index: number }
  | { type: 'openInAirflow' };

export function isFromOutputViewer(v: unknown): v is FromOutputViewer {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'refresh':
    case 'openInAirflow':
      return true;
    case 'openSparkApp':
      return v.appId === undefined || (typeof v.appId === 'string' && /^app-[\w-]{1,100}$/.test(v.appId));
    case 'openRange':
      return isInt(v.index) && v.index >= 0 && v.index < 10_000;
    case 'page':
      return isPageRequest(v);
    case 'openTaskLog':
      return typeof v.taskId === 'string' && v.taskId.length <= 1000 && isInt(v.tryNumber);
    default:
      return false;
  }
}
