/**
 * Messages between the output viewer panel (extension host) and its webview (media/outputViewer).
 * The run's messages stay in a host-side store; the webview's virtual table asks for the rows in view
 * by request id, like the message browser's.
 */
import type { RunSummary, RunSummaryTask } from '../services/airflow/runOutput';
import { isInt, isObj, isPageRequest } from './guards';
import type { PageData } from './messageBrowser';
import type { RequestReply } from '../webviews/requests';

/** What the page draws of a run is the services' own summary (services/airflow/runOutput.ts), sent as it is. */
export type OutputViewerTask = RunSummaryTask;
export type OutputViewerData = RunSummary;

export type ToOutputViewer =
  /** the answer to a request by its id (src/webviews/requests.ts) */
  | RequestReply
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
  | { type: 'openInAirflow' }
  /** the run's OpenLineage events to a file the user picks */
  | { type: 'exportLineage' };

export function isFromOutputViewer(v: unknown): v is FromOutputViewer {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'refresh':
    case 'openInAirflow':
    case 'exportLineage':
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
