/**
 * Messages between the lineage graph panel (extension host) and its webview (media/lineageGraph).
 * The host computes the graph and its layout (services/lineage/graph.ts); the page draws it.
 */
import type { LineageGraph } from '../services/lineage/graph';
import { isObj } from './guards';

export interface LineageGraphData {
  graph: LineageGraph;
  /** the run to highlight ("dagId\u0000runId"), when one was picked */
  highlight?: string;
  /** what the receiver said when it could not be read, or why the graph is empty */
  note?: string;
  connection?: string;
}

export type ToLineageGraph = { type: 'loading' } | { type: 'data'; data: LineageGraphData } | { type: 'highlight'; run?: string } | { type: 'error'; message: string };

export type FromLineageGraph =
  | { type: 'ready' }
  | { type: 'refresh' }
  /** a node clicked or Enter pressed on it (its id must be one the host sent) */
  | { type: 'open'; id: string };

export function isFromLineageGraph(v: unknown): v is FromLineageGraph {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'refresh':
      return true;
    case 'open':
      return typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 2000;
    default:
      return false;
  }
}
