/**
 * The Kafka feature: Topics view, topic commands (create, delete, produce, copy name, filter,
 * toggle internal) and the message browser. kafkajs is loaded on first use.
 */
import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import type { KafkaService } from '../services/kafka/kafkaClient';
import type { ExportRecord } from '../services/kafka/messageFormat';
import {
  KNOWN_TOPIC_CONFIGS,
  parseHeaders,
  parseProduceFile,
  partitionsError,
  topicConfigError,
  topicNameCollisionWarning,
  topicNameError,
  copiesError,
  produceValueError,
  ValidationError,
  type ProduceRecord,
} from '../services/kafka/validation';
import { TopicsTreeProvider, type TopicNode } from '../views/topicsView';
import { openMessageBrowser } from '../webviews/messageBrowser';

/** One KafkaService per bootstrap setting, created on first use. */
class KafkaConnection implements vscode.Disposable {
  private current?: { bootstrap: string; service: Promise<KafkaService> };
  constructor(private readonly ctx: FeatureContext) {}

  get(): Promise<KafkaService> {
    const bootstrap = this.ctx.settings.kafkaBootstrapServers.join(',');
    if (this.current?.bootstrap !== bootstrap) {
      this.dispose();
      const log = this.ctx.logger('kafka');
      this.current = {
        bootstrap,
        service: import('../services/kafka/kafkaClient').then(({ KafkaService }) => new KafkaService({ bootstrap, log })),
      };
    }
    return this.current.service;
  }

  dispose(): void {
    const c = this.current;
    this.current = undefined;
    void c?.service.then((s) => s.dispose()).catch(() => undefined);
  }
}

function topicArg(arg: unknown): string | undefined {
  const n = arg as TopicNode | undefined;
  if (n && typeof n === 'object' && n.kind === 'topic') return n.topic.name;
  if (typeof arg === 'string') return arg;
  return undefined;
}

export function registerKafkaFeature(ctx: FeatureContext): vscode.Disposable[] {
  const conn = new KafkaConnection(ctx);
  const tree = new TopicsTreeProvider(() => conn.get());
  tree.createTopicsView();

  const pickTopic = async (arg: unknown, placeHolder: string): Promise<string | undefined> => {
    const direct = topicArg(arg);
    if (direct) return direct;
    const svc = await conn.get();
    const names = (await svc.listTopics()).map((t) => t.name);
    if (names.length === 0) throw new ValidationError('There are no topics yet. Create one first (DataPipeline: Create Topic…).');
    return vscode.window.showQuickPick(names, { placeHolder });
  };

  const createTopic = async (): Promise<void> => {
    const svc = await conn.get();
    const existing = await svc.topicNames();
    const name = await vscode.window.showInputBox({
      title: 'Create Topic (1/4): name',
      prompt: 'Letters, digits, ".", "_" and "-"; at most 249 characters.',
      validateInput: (v) => {
        const err = topicNameError(v);
        if (err) return err;
        if (existing.includes(v)) return `Topic "${v}" already exists. Pick another name.`;
        const warn = topicNameCollisionWarning(v, existing);
        return warn ? { message: warn, severity: vscode.InputBoxValidationSeverity.Warning } : undefined;
      },
    });
    if (name === undefined) return;
    const partitions = await vscode.window.showInputBox({ title: 'Create Topic (2/4): partitions', value: '3', validateInput: partitionsError });
    if (partitions === undefined) return;
    const brokers = await svc.brokerCount();
    const replication = await vscode.window.showInputBox({
      title: 'Create Topic (3/4): replication factor',
      value: '1',
      prompt: `${brokers} broker${brokers === 1 ? '' : 's'} available`,
      validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= brokers ? undefined : `Enter a replication factor from 1 to ${brokers} (the number of brokers).`),
    });
    if (replication === undefined) return;
    const picked = await vscode.window.showQuickPick(
      KNOWN_TOPIC_CONFIGS.map((c) => ({ label: c })),
      { title: 'Create Topic (4/4): configs to set (optional)', canPickMany: true, placeHolder: 'Press Enter to keep the broker defaults' },
    );
    if (picked === undefined) return;
    const configs: Record<string, string> = {};
    for (const { label } of picked) {
      const v = await vscode.window.showInputBox({ title: `Create Topic: ${label}`, validateInput: (x) => topicConfigError(label, x) });
      if (v === undefined) return;
      configs[label] = v.trim();
    }
    await svc.createTopic({ topic: name, numPartitions: partitions, replicationFactor: replication, configs });
    tree.refresh(0);
    void vscode.window.showInformationMessage(`Created topic "${name}" with ${partitions} partition(s).`);
  };

  const deleteTopic = async (arg: unknown): Promise<void> => {
    const topic = await pickTopic(arg, 'Topic to delete');
    if (!topic) return;
    const svc = await conn.get();
    const count = (await svc.watermarks(topic)).reduce((s, w) => s + w.high - w.low, 0);
    const choice = await vscode.window.showWarningMessage(
      `Delete topic "${topic}"?`,
      { modal: true, detail: `Its ${count.toLocaleString('en-US')} messages are deleted with it. This cannot be undone.` },
      'Delete Topic',
    );
    if (choice !== 'Delete Topic') return;
    await svc.deleteTopic(topic);
    tree.refresh(0);
    void vscode.window.showInformationMessage(`Deleted topic "${topic}".`);
  };

  const produce = async (arg: unknown, prefill?: ExportRecord): Promise<void> => {
    const topic = await pickTopic(arg, 'Topic to produce to');
    if (!topic) return;
    const svc = await conn.get();
    let records: ProduceRecord[];
    const source = prefill
      ? 'type'
      : (await vscode.window.showQuickPick(
          [
            { label: 'Type a message', description: 'key, value, headers, partition', id: 'type' },
            { label: 'From a JSON file…', description: 'an array of values or {key, value, headers, partition}', id: 'file' },
          ],
          { title: `Produce to ${topic}` },
        ))?.id;
    if (!source) return;
    if (source === 'file') {
      const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { JSON: ['json'] }, title: `Messages for ${topic}` });
      if (!uris?.length) return;
      records = parseProduceFile(await fs.readFile(uris[0].fsPath, 'utf8'));
      if (records.length === 0) throw new ValidationError(`${uris[0].fsPath} holds an empty array: nothing to send.`);
    } else {
      const wm = await svc.watermarks(topic);
      const key = await vscode.window.showInputBox({ title: `Produce to ${topic}: key (empty = no key)`, value: prefill?.keyEncoding === 'utf8' ? (prefill.key ?? '') : '' });
      if (key === undefined) return;
      const value = await vscode.window.showInputBox({
        title: `Produce to ${topic}: value (JSON or text)`,
        value: prefill?.valueEncoding === 'utf8' ? (prefill.value ?? '') : '{"hello": "world"}',
        validateInput: produceValueError,
      });
      if (value === undefined) return;
      const headersRaw = await vscode.window.showInputBox({
        title: `Produce to ${topic}: headers (optional)`,
        prompt: 'name=value, separated by commas',
        value: prefill ? Object.entries(prefill.headers).map(([k, v]) => `${k}=${v ?? ''}`).join(', ') : '',
        validateInput: (v) => {
          try {
            parseHeaders(v);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        },
      });
      if (headersRaw === undefined) return;
      const partitionRaw = await vscode.window.showInputBox({
        title: `Produce to ${topic}: partition (empty = chosen by key)`,
        validateInput: (v) =>
          v.trim() === '' || (/^\d+$/.test(v.trim()) && Number(v) < wm.length) ? undefined : `Enter a partition from 0 to ${wm.length - 1}, or leave empty.`,
      });
      if (partitionRaw === undefined) return;
      records = [{ key: key === '' ? null : key, value, headers: parseHeaders(headersRaw), partition: partitionRaw.trim() === '' ? undefined : Number(partitionRaw) }];
    }
    const copiesRaw = await vscode.window.showInputBox({ title: `Produce to ${topic}: copies`, value: '1', validateInput: copiesError });
    if (copiesRaw === undefined) return;
    const sent = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Producing to ${topic}…` },
      () => svc.produce(topic, records.map((r) => ({ ...r, value: r.value })), Number(copiesRaw)),
    );
    tree.refresh(0);
    void vscode.window.showInformationMessage(`Produced ${sent.toLocaleString('en-US')} message${sent === 1 ? '' : 's'} to "${topic}".`);
  };

  const openBrowser = async (arg: unknown): Promise<void> => {
    const topic = await pickTopic(arg, 'Topic to browse');
    if (!topic) return;
    await openMessageBrowser(ctx, { topic }, (t, record) => produce(t, record));
  };

  const disposables: vscode.Disposable[] = [
    tree,
    conn,
    ctx.settings.onDidChange((e) => {
      if (e.affectsConfiguration('datapipeline.kafka.bootstrapServers')) tree.refresh(0);
    }),
    ctx.registerCommand('datapipeline.topics.refresh', () => tree.refresh(0)),
    ctx.registerCommand('datapipeline.topics.create', createTopic),
    ctx.registerCommand('datapipeline.topics.delete', deleteTopic),
    ctx.registerCommand('datapipeline.topics.produce', (arg: unknown) => produce(arg)),
    ctx.registerCommand('datapipeline.topics.copyName', async (arg: unknown) => {
      const topic = await pickTopic(arg, 'Topic name to copy');
      if (!topic) return;
      await vscode.env.clipboard.writeText(topic);
      void vscode.window.setStatusBarMessage(`Copied "${topic}"`, 2000);
    }),
    ctx.registerCommand('datapipeline.topics.toggleInternal', () => tree.toggleInternal()),
    ctx.registerCommand('datapipeline.topics.filter', async () => {
      const v = await vscode.window.showInputBox({
        title: 'Filter Topics',
        prompt: 'Part of a topic name (* matches anything); empty shows all',
        value: tree.filterText,
      });
      if (v !== undefined) tree.setFilter(v);
    }),
    ctx.registerCommand('datapipeline.topics.openMessageBrowser', openBrowser),
    { dispose: () => void import('../webviews/messageBrowser/panel').then((m) => m.MessageBrowserPanel.disposeAll()) },
  ];
  return disposables;
}
