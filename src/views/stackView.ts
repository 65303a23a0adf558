import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeProject, PROJECT_KIND_LABEL, type Project } from '../services/project/detect';
import type { ServicePort, ServiceStatus } from '../services/stack/types';
import { serviceOk } from '../services/stack/statusModel';
import { BaseTreeProvider } from './base';

export type StackNode =
  | { kind: 'service'; status: ServiceStatus }
  | { kind: 'port'; service: ServiceStatus; port: ServicePort }
  | { kind: 'message'; text: string; detail?: string; error: boolean }
  /** what the stack runs of the workspace: its layout, then one row per part (DAGs, jobs, requirements…) */
  | { kind: 'project'; project: Project }
  | { kind: 'projectPart'; label: string; value?: string; overridden?: boolean; setting?: string; root?: string };

/** Identity of a row (services unique in the tree, ports among their service's). */
export function stackNodeKey(n: StackNode): string {
  if (n.kind === 'service') return `service:${n.status.id}`;
  if (n.kind === 'port') return `port:${n.service.id}:${n.port.name}:${n.port.port}`;
  if (n.kind === 'project') return 'project';
  if (n.kind === 'projectPart') return `projectPart:${n.label}:${n.value ?? ''}`;
  return `message:${n.text}`;
}

/** A project's part as the user knows it: relative to the project ("dags/"), absolute outside it. */
export function shortPath(p: string, root: string | undefined): string {
  if (!root) return p;
  const rel = path.relative(root, p);
  if (rel === '') return '.';
  return !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** The icon and its colour for a service's state and health. */
export function serviceIcon(s: ServiceStatus): vscode.ThemeIcon {
  if (serviceOk(s)) {
    return s.state === 'exited'
      ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
      : new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
  }
  if (s.state === 'starting' || (s.state === 'running' && s.health === 'starting')) return new vscode.ThemeIcon('loading~spin');
  if (s.health === 'unhealthy') return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  if (s.state === 'exited') return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
  if (s.state === 'stopped') return new vscode.ThemeIcon('circle-outline');
  return new vscode.ThemeIcon('question');
}

/** "healthy", "running", "starting", "unhealthy", "exited (1)", "completed", "stopped" */
export function stateText(s: ServiceStatus): string {
  if (s.state === 'exited') return s.detail === 'completed' ? 'completed' : `exited (${s.exitCode ?? '?'})`;
  if (s.state === 'running') return s.health === 'none' ? 'running' : s.health;
  return s.state;
}

/**
 * The Stack view: one item per service (state/health icon, inline Restart and Show Logs), its
 * ports as children that open the UI. Reads the StackController's last status; the controller
 * re-reads on backend events, so nothing polls here.
 */
export class StackTreeProvider extends BaseTreeProvider<StackNode> {
  private error?: string;

  constructor(
    private readonly source: { status: readonly ServiceStatus[]; running: boolean },
    private readonly project?: () => Project,
    /** what the views cannot reach through the stack's ports, with the setting to set */
    private readonly endpointNotes?: () => string[],
  ) {
    super({ key: stackNodeKey, hasChildren: (n) => n.kind === 'service' || n.kind === 'project' });
  }

  setError(message: string | undefined): void {
    this.error = message;
    this.refresh(0);
  }

  getTreeItem(node: StackNode): vscode.TreeItem {
    if (node.kind === 'project') {
      const p = node.project;
      const item = new vscode.TreeItem('Project', vscode.TreeItemCollapsibleState.Collapsed);
      item.id = 'project';
      item.description = p.kind === 'bundled' ? PROJECT_KIND_LABEL.bundled : `${path.basename(p.kind === 'stack' ? path.dirname(p.root) : p.root)} · ${PROJECT_KIND_LABEL[p.kind]}`;
      item.iconPath = new vscode.ThemeIcon('folder-library');
      item.tooltip = `What the stack runs: ${PROJECT_KIND_LABEL[p.kind]} at ${p.root}. The datapipeline.project settings override each part.`;
      item.contextValue = 'project';
      return item;
    }
    if (node.kind === 'projectPart') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.value ? `${shortPath(node.value, node.root)}${node.overridden ? ' (setting)' : ''}` : 'none';
      item.iconPath = new vscode.ThemeIcon(node.value ? 'file-symlink-directory' : 'circle-slash');
      item.tooltip = node.value ? `${node.value}${node.overridden ? `\n\nset by ${node.setting ?? 'a datapipeline.project setting'}` : ''}` : `No ${node.label.toLowerCase()} in this project.`;
      item.contextValue = 'projectPart';
      if (node.value) item.command = { command: 'revealInExplorer', title: 'Reveal in Explorer', arguments: [vscode.Uri.file(node.value)] };
      return item;
    }
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info');
      item.tooltip = node.detail ?? node.text;
      item.contextValue = 'stackMessage';
      return item;
    }
    if (node.kind === 'port') {
      const p = node.port;
      const item = new vscode.TreeItem(`${p.name}`, vscode.TreeItemCollapsibleState.None);
      item.description = `${p.host}:${p.port}`;
      item.iconPath = new vscode.ThemeIcon(p.url ? 'link-external' : 'plug');
      item.contextValue = 'servicePort';
      item.tooltip = p.url ? `Open ${p.url}` : `${p.host}:${p.port}`;
      if (p.url) item.command = { command: 'datapipeline.stack.openServiceUrl', title: 'Open', arguments: [node] };
      return item;
    }
    const s = node.status;
    const item = new vscode.TreeItem(s.id, s.ports.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `service:${s.id}`;
    item.description = s.detail && s.detail !== 'completed' && !/^exited/.test(s.detail) ? `${stateText(s)} · ${s.detail}` : stateText(s);
    item.iconPath = serviceIcon(s);
    item.contextValue = 'service';
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendText(`${s.label}\n\nstate: ${s.state}, health: ${s.health}${s.pid ? `, pid ${s.pid}` : ''}${s.detail ? `\n\n${s.detail}` : ''}`);
    item.tooltip = tip;
    return item;
  }

  protected readChildren(node: StackNode | undefined): StackNode[] {
    if (!node) {
      if (this.error) return [{ kind: 'message', text: this.error, error: true }];
      const status = this.source.status;
      // Nothing created yet: an empty tree shows the "Start Stack" welcome content.
      if (!status.some((s) => s.state !== 'stopped')) return [];
      const project = this.project?.();
      return [...(project ? [{ kind: 'project' as const, project }] : []), ...status.map((s): StackNode => ({ kind: 'service', status: s }))];
    }
    if (node.kind === 'project') {
      const notes = (this.endpointNotes?.() ?? []).map((text): StackNode => ({ kind: 'message', text, error: false }));
      return [...describeProject(node.project).map((r): StackNode => ({ kind: 'projectPart', ...r, root: node.project.root })), ...notes];
    }
    if (node.kind === 'service') return node.status.ports.map((port) => ({ kind: 'port', service: node.status, port }));
    return [];
  }
}
