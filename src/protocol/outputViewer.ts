/** Messages between the output viewer panel (extension host) and its webview (media/outputViewer). */

export interface OutputViewerTask {
  taskId: string;
  state?: string;
  tryNumber: number;
  /** "12s", "1m 05s" or "" */
  duration: string;
}

export interface OutputViewerRecord {
  partition: number;
  offset: string;
  key?: string;
  value: string;
  fields?: Record<string, unknown>;
}

export interface OutputViewerData {
  dagId: string;
  runId: string;
  runState: string;
  /** "1m 05s" */
  runDuration: string;
  topic: string;
  tasks: OutputViewerTask[];
  records: OutputViewerRecord[];
  /** why there are no records, or a problem reading them */
  note?: string;
  sparkAppId?: string;
}

export type ToOutputViewer = { type: 'loading'; runId: string } | { type: 'data'; data: OutputViewerData } | { type: 'error'; message: string };

export type FromOutputViewer =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'openTaskLog'; taskId: string; tryNumber: number }
  | { type: 'openSparkApp' }
  | { type: 'openInAirflow' };

export function isFromOutputViewer(v: unknown): v is FromOutputViewer {
  if (!v || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'refresh':
    case 'openSparkApp':
    case 'openInAirflow':
      return true;
    case 'openTaskLog':
      return typeof m.taskId === 'string' && typeof m.tryNumber === 'number';
    default:
      return false;
  }
}
