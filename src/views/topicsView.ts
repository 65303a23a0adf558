import * as vscode from 'vscode';
import { BaseTreeProvider, type TreeViewSource } from './base';
import { formatCount, matchesTopicFilter, topicContextValue } from '../services/kafka/topicFilter';
import type { GroupPartitionLag, GroupSummary, KafkaService, PartitionSummary, TopicSummary } from '../services/kafka/kafkaClient';
import { FAILURE_SUMMARY, KafkaUnreachableError } from '../services/kafka/security';
import { describeQuery, queryLag, totalLag, type PartitionLag, type StreamingQuery } from '../services/spark/streaming';

export type TopicNode =
  | { kind: 'unreachable'; bootstrap: string; message: string; /** what failed, when known ("login refused …") */ summary?: string }
  | { kind: 'empty'; text: string }
  | { kind: 'topic'; topic: TopicSummary; /** streaming queries reading it, with their total lag */ streaming?: Array<{ name: string; lag: number }> }
  | { kind: 'partition'; topic: string; partition: PartitionSummary }
  | { kind: 'topicGroup'; topic: string; group: GroupSummary }
  | { kind: 'groupsSection'; groups: GroupSummary[] }
  | { kind: 'group'; group: GroupSummary }
  | { kind: 'lag'; lag: GroupPartitionLag; showTopic: boolean }
  /** a Structured Streaming query reading the topic (from its checkpoint), with its lag */
  | { kind: 'streamingQuery'; topic: string; query: StreamingQuery; lags: PartitionLag[] };

/** Identity of a row: parents are unique in the tree, leaves among their siblings. */
export function topicNodeKey(n: TopicNode): string {
  switch (n.kind) {
    case 'topic':
      return `topic:${n.topic.name}`;
    case 'partition':
      return `partition:${n.topic}:${n.partition.partition}`;
    case 'topicGroup':
      return `topicGroup:${n.topic}:${n.group.groupId}`;
    case 'group':
      return `group:${n.group.groupId}`;
    case 'lag':
      return `lag:${n.lag.topic}:${n.lag.partition}`;
    case 'streamingQuery':
      return `streamingQuery:${n.topic}:${n.query.checkpoint}`;
    case 'empty':
      return `empty:${n.text}`;
    default:
      return n.kind;
  }
}

/** Model of the Topics view: what the last refresh read from the broker. */
interface Snapshot {
  topics: TopicSummary[];
  groups: GroupSummary[];
}

/**
 * The Topics view: topics (partitions, message count), expandable to partitions and the consumer
 * groups reading them with their lag, and a Consumer Groups section. A broker that is down shows
 * one "Kafka unreachable … — Retry" item (no notifications). Polls only while visible.
 */
export class TopicsTreeProvider extends BaseTreeProvider<TopicNode> {
  private showInternal = false;
  private filter = '';
  private snapshot?: Snapshot;

  private bootstrap = '?';

  constructor(
    private readonly service: () => Promise<KafkaService>,
    private readonly pollIntervalMs = 10_000,
    /** the streaming queries whose checkpoints this machine can read (read when a topic is expanded) */
    private readonly streamingQueries: () => Promise<StreamingQuery[]> = async () => [],
  ) {
    super({ key: topicNodeKey, hasChildren: (n) => n.kind === 'topic' || n.kind === 'topicGroup' || n.kind === 'groupsSection' || n.kind === 'group' });
  }

  createTopicsView(source: TreeViewSource): vscode.TreeView<TopicNode> {
    const view = this.attachView(source, 'datapipeline.topics');
    this.setPolling(this.pollIntervalMs);
    this.updateDescription();
    return view;
  }

  get internalShown(): boolean {
    return this.showInternal;
  }
  get filterText(): string {
    return this.filter;
  }

  toggleInternal(): void {
    this.showInternal = !this.showInternal;
    this.updateDescription();
    this.reloadAll();
  }

  setFilter(text: string): void {
    this.filter = text.trim();
    this.updateDescription();
    this.reloadAll();
  }

  protected override descriptionParts(): string[] {
    const parts = [];
    if (this.filter) parts.push(`filter: ${this.filter}`);
    if (this.showInternal) parts.push('internal shown');
    return parts;
  }

  /** Topic names from the last refresh (for pickers). */
  get topicNames(): string[] {
    return this.snapshot?.topics.map((t) => t.name) ?? [];
  }

  protected async readChildren(node: TopicNode | undefined): Promise<TopicNode[]> {
    if (!node) return this.roots();
    switch (node.kind) {
      case 'topic': {
        const svc = await this.service();
        const parts = await svc.describeTopic(node.topic.name).catch(() => [] as PartitionSummary[]);
        const groups = (this.snapshot?.groups ?? []).filter((g) => g.topics.includes(node.topic.name));
        // Spark's Kafka source commits no group offsets: a streaming query's lag comes from its checkpoint
        const queries = (await this.streamingQueries().catch(() => [] as StreamingQuery[])).filter((q) => q.offsets.has(node.topic.name));
        return [
          ...parts.map((partition): TopicNode => ({ kind: 'partition', topic: node.topic.name, partition })),
          ...groups.map((group): TopicNode => ({ kind: 'topicGroup', topic: node.topic.name, group })),
          ...queries.map((query): TopicNode => ({ kind: 'streamingQuery', topic: node.topic.name, query, lags: queryLag(query, node.topic.name, parts.filter((p) => p.high >= 0)) })),
        ];
      }
      case 'topicGroup':
        return node.group.lag.filter((l) => l.topic === node.topic).map((lag) => ({ kind: 'lag', lag, showTopic: false }));
      case 'groupsSection':
        return node.groups.length ? node.groups.map((group) => ({ kind: 'group', group })) : [{ kind: 'empty', text: 'No consumer groups' }];
      case 'group':
        return node.group.lag.length
          ? node.group.lag.map((lag) => ({ kind: 'lag', lag, showTopic: true }))
          : [{ kind: 'empty', text: 'No committed offsets' }];
      default:
        return [];
    }
  }

  protected override errorRows(err: unknown, parent: TopicNode | undefined): TopicNode[] {
    if (parent) return [];
    // e.g. the connection has no Kafka: its message is the row
    if (!(err instanceof KafkaUnreachableError)) return [{ kind: 'empty', text: (err as Error).message ?? String(err) }];
    return [{ kind: 'unreachable', bootstrap: err.bootstrap, message: err.message, summary: err.kind === 'unreachable' ? undefined : FAILURE_SUMMARY[err.kind] }];
  }

  private async roots(): Promise<TopicNode[]> {
    this.snapshot = undefined;
    const svc = await this.service();
    this.bootstrap = svc.bootstrap;
    const [topics, groups, queries] = await Promise.all([
      svc.listTopics({ includeInternal: this.showInternal }),
      svc.listGroups().catch(() => [] as GroupSummary[]),
      this.streamingQueries().catch(() => [] as StreamingQuery[]),
    ]);
    this.snapshot = { topics, groups };
    const shown = this.snapshot.topics.filter((t) => matchesTopicFilter(t.name, this.filter));
    const streamingOf = (t: TopicSummary) => {
      const reading = queries.filter((q) => q.offsets.has(t.name));
      return reading.length ? reading.map((q) => ({ name: q.name ?? q.id ?? 'query', lag: totalLag(queryLag(q, t.name, t.watermarks)) })) : undefined;
    };
    const out: TopicNode[] = shown.map((topic) => ({ kind: 'topic', topic, streaming: streamingOf(topic) }));
    if (shown.length === 0)
      out.push({ kind: 'empty', text: this.filter ? `No topic matches "${this.filter}"` : 'No topics yet — create one with +' });
    out.push({ kind: 'groupsSection', groups: this.snapshot.groups });
    return out;
  }

  getTreeItem(node: TopicNode): vscode.TreeItem {
    const None = vscode.TreeItemCollapsibleState.None;
    const Collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    switch (node.kind) {
      case 'unreachable': {
        const item = new vscode.TreeItem(node.summary ? `Kafka at ${node.bootstrap}: ${node.summary} — Retry` : `Kafka unreachable at ${node.bootstrap} — Retry`, None);
        item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground'));
        item.tooltip = `${node.message}\nClick to retry.`;
        item.command = { command: 'datapipeline.topics.refresh', title: 'Retry' };
        item.contextValue = 'kafkaUnreachable';
        return item;
      }
      case 'empty': {
        const item = new vscode.TreeItem(node.text, None);
        item.contextValue = 'empty';
        return item;
      }
      case 'topic': {
        const t = node.topic;
        const item = new vscode.TreeItem(t.name, Collapsed);
        item.id = `topic:${t.name}`;
        const count = t.messageCount === undefined ? 'count unknown' : `${formatCount(t.messageCount)} msg`;
        const health = [t.offline ? `${t.offline} offline` : '', t.underReplicated ? `${t.underReplicated} under-replicated` : ''].filter(Boolean);
        const streaming = (node.streaming ?? []).map((q) => `read by streaming query ${q.name}, lag ${formatCount(q.lag)}`);
        item.description = [`${t.partitions} partition${t.partitions === 1 ? '' : 's'}`, t.replicationFactor > 1 ? `RF ${t.replicationFactor}` : '', count, ...health, ...streaming].filter(Boolean).join(' · ');
        item.tooltip =
          `${t.name}\n${t.partitions} partitions, replication factor ${t.replicationFactor}, ` +
          (t.messageCount === undefined
            ? 'message count unknown (a partition has no leader)'
            : `${formatCount(t.messageCount)} offsets retained (end − start; transaction markers and aborted records take offsets too: the message browser counts them apart)`) +
          (t.offline ? `\n${t.offline} partition(s) offline: no replica's broker is running` : '') +
          (t.underReplicated ? `\n${t.underReplicated} partition(s) under-replicated: a replica's broker is down or catching up` : '') +
          (t.internal ? '\ninternal topic' : '');
        item.contextValue = topicContextValue(t.name);
        item.iconPath = t.offline
          ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
          : t.underReplicated
            ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
            : new vscode.ThemeIcon(t.internal ? 'lock' : 'symbol-event');
        return item;
      }
      case 'partition': {
        const p = node.partition;
        const under = p.isr.length < p.replicas.length;
        const item = new vscode.TreeItem(`Partition ${p.partition}`, None);
        item.id = `partition:${node.topic}:${p.partition}`;
        const offsets = p.high < 0 ? 'offsets unknown' : `offsets ${formatCount(p.low)}–${formatCount(p.high)}`;
        item.description = [
          p.leader < 0 ? 'offline (no leader)' : `leader ${p.leader}`,
          under ? 'under-replicated' : '',
          p.replicas.length > 1 ? `replicas ${p.replicas.join(',')} · in sync ${p.isr.join(',') || 'none'}` : '',
          offsets,
        ].filter(Boolean).join(' · ');
        item.tooltip = `leader ${p.leader < 0 ? 'none' : p.leader}, replicas [${p.replicas.join(', ')}], in sync [${p.isr.join(', ')}]${under ? ' (under-replicated)' : ''}\n${p.high < 0 ? 'offsets unknown: no leader to ask' : `start offset ${p.low}, end offset ${p.high} (${formatCount(p.high - p.low)} messages)`}`;
        item.contextValue = under ? 'partition.underReplicated' : 'partition';
        item.iconPath =
          p.leader < 0
            ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
            : under
              ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
              : new vscode.ThemeIcon('split-horizontal');
        return item;
      }
      case 'topicGroup': {
        const lag = node.group.lag.filter((l) => l.topic === node.topic).reduce((s, l) => s + l.lag, 0);
        const item = new vscode.TreeItem(node.group.groupId, Collapsed);
        item.id = `topicGroup:${node.topic}:${node.group.groupId}`;
        item.description = `${node.group.state} · lag ${formatCount(lag)}`;
        item.contextValue = 'consumerGroup';
        item.iconPath = new vscode.ThemeIcon('organization');
        return item;
      }
      case 'groupsSection': {
        const item = new vscode.TreeItem('Consumer Groups', Collapsed);
        item.id = 'groupsSection';
        item.description = String(node.groups.length);
        item.contextValue = 'consumerGroups';
        item.iconPath = new vscode.ThemeIcon('organization');
        return item;
      }
      case 'group': {
        const g = node.group;
        const item = new vscode.TreeItem(g.groupId, g.lag.length ? Collapsed : None);
        item.id = `group:${g.groupId}`;
        item.description = `${g.state} · ${g.members} member${g.members === 1 ? '' : 's'} · lag ${formatCount(g.totalLag)}`;
        item.tooltip = `${g.groupId}\nstate ${g.state}, ${g.members} members\ntopics: ${g.topics.join(', ') || '—'}\ntotal lag ${g.totalLag}`;
        item.contextValue = 'consumerGroup';
        item.iconPath = new vscode.ThemeIcon('organization');
        return item;
      }
      case 'streamingQuery': {
        const q = node.query;
        const lag = totalLag(node.lags);
        const item = new vscode.TreeItem(`Streaming query ${q.name ?? q.id ?? ''}`.trim(), None);
        item.description = [`lag ${formatCount(lag)}`, q.appId ? `read by ${q.appId}` : '', describeQuery(q)].filter(Boolean).join(' · ');
        item.tooltip = `Structured Streaming query ${q.name ?? ''} (${q.id ?? 'id unknown'})\ncheckpoint ${q.checkpoint}\n${node.lags.map((l) => `partition ${l.partition}: at ${l.offset} of ${l.end}, lag ${l.lag}`).join('\n')}`;
        item.iconPath = new vscode.ThemeIcon('pulse', new vscode.ThemeColor(lag > 0 ? 'charts.orange' : 'testing.iconPassed'));
        item.contextValue = 'streamingQuery';
        return item;
      }
      case 'lag': {
        const l = node.lag;
        const item = new vscode.TreeItem(node.showTopic ? `${l.topic} [${l.partition}]` : `Partition ${l.partition}`, None);
        item.description = `lag ${formatCount(l.lag)} · committed ${l.committed < 0 ? '—' : formatCount(l.committed)} / end ${formatCount(l.high)}`;
        item.contextValue = 'groupPartition';
        return item;
      }
    }
  }
}
