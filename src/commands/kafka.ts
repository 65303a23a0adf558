/**
 * The Kafka feature: Topics view, topic commands (create, delete, produce, copy name, filter,
 * toggle internal) and the message browser. kafkajs is loaded on first use.
 */
import * as vscode from 'vscode';
import type { FeatureContext } from '../featureContext';
import type { ExportRecord } from '../services/kafka/messageFormat';
import { CODEC_NAMES, type CodecName } from '../services/kafka/codecs';
import { parseProduceDocument, produceTemplate } from '../services/kafka/produceDocument';
import {
  copiesError,
  KNOWN_TOPIC_CONFIGS,
  partitionsError,
  topicConfigError,
  topicNameCollisionWarning,
  topicNameError,
  ValidationError,
} from '../services/kafka/validation';
import { isInternalTopic } from '../services/kafka/topicFilter';
import { TopicsTreeProvider, type TopicNode } from '../views/topicsView';
import { LOCAL_CONNECTION_ID } from '../services/connections/profile';
import { findStreamingQueries } from '../services/spark/streaming';
import { openMessageBrowser } from '../webviews/messageBrowser';

function topicArg(arg: unknown): string | undefined {
  const n = arg as TopicNode | undefined;
  if (n && typeof n === 'object' && n.kind === 'topic') return n.topic.name;
  if (typeof arg === 'string') return arg;
  return undefined;
}

/** sendProduceDocument's second argument: ask how many copies to send. */
const ASK_COPIES = -1;

export function registerKafkaFeature(ctx: FeatureContext): vscode.Disposable[] {
  const conn = { get: () => ctx.connections.kafka() };
  const tree = new TopicsTreeProvider(() => conn.get(), undefined, async () => {
    // the local stack's checkpoints only: a remote cluster's are not on this machine
    if (!ctx.connections.active.local) return [];
    const backend = await ctx.stack.existingBackend();
    return findStreamingQueries(backend?.checkpointDirs() ?? []);
  });
  tree.createTopicsView(ctx.treeView);
  tree.showSource(() => ctx.connections.label(), ctx.connections.onDidChangeActive);
  const guard = (action: string) => ctx.connections.guardWrite(action);

  const pickTopic = async (arg: unknown, placeHolder: string): Promise<string | undefined> => {
    const direct = topicArg(arg);
    if (direct) return direct;
    const svc = await conn.get();
    const names = (await svc.listTopics()).map((t) => t.name);
    if (names.length === 0) throw new ValidationError('There are no topics yet. Create one first (DataPipeline: Create Topic…).');
    return vscode.window.showQuickPick(names, { placeHolder });
  };

  const createTopic = async (): Promise<void> => {
    await guard('Create Topic');
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
      // a cluster of 3 or more: replicated by default, as its brokers' default.replication.factor
      value: brokers >= 3 ? '3' : '1',
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
    if (isInternalTopic(topic)) {
      void vscode.window.showErrorMessage(`"${topic}" is one of Kafka's internal topics: deleting it breaks the broker's consumer groups or transactions. Nothing was deleted.`);
      return;
    }
    await guard(`Delete topic "${topic}"`);
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

  /** Open produce documents (untitled JSON) → the topic each one sends to, on which connection, and with which compression. */
  const produceDocs = new Map<string, { topic: string; connectionId: string; connectionName: string; compression: CodecName }>();
  /** what "Send N Copies…" offers next (the last count entered this session) */
  let lastCopies = '10';
  const lensChanged = new vscode.EventEmitter<void>();
  const updateProduceContext = (): void => {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    void vscode.commands.executeCommand('setContext', 'datapipeline.kafka.produceEditor', uri !== undefined && produceDocs.has(uri));
  };

  /** Produce Message: opens a JSON document with a message template and a "Send to <topic>" action. */
  const produce = async (arg: unknown, prefill?: ExportRecord): Promise<void> => {
    const topic = await pickTopic(arg, 'Topic to produce to');
    if (!topic) return;
    // refused now on a read-only connection, before a message is written for nothing
    await guard(`Produce to "${topic}"`);
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: produceTemplate(prefill) });
    const c = ctx.connections.active;
    produceDocs.set(doc.uri.toString(), { topic, connectionId: c.id, connectionName: c.name, compression: 'none' });
    lensChanged.fire();
    await vscode.window.showTextDocument(doc, { preview: false });
    updateProduceContext();
    void vscode.window.setStatusBarMessage(`Edit the message (or an array of them), then "Send to ${topic}" above the document.`, 8000);
  };

  /** Sends the produce document (the active one, or the one given by the CodeLens) to its topic. */
  const sendProduceDocument = async (arg: unknown, copiesArg?: number): Promise<void> => {
    const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    const target = uri && produceDocs.get(uri.toString());
    if (!uri || !target) throw new ValidationError('This editor is not a Produce Message document. Run "DataPipeline: Produce Message…" on a topic first.');
    const { topic, compression } = target;
    const active = ctx.connections.active;
    if (active.id !== target.connectionId) {
      throw new ValidationError(`This message was written for ${topic} on "${target.connectionName}", but "${active.name}" is the active connection now. Nothing was sent; switch back to "${target.connectionName}" to send it (the document stays open).`);
    }
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!doc) throw new ValidationError('The Produce Message document was closed. Run "DataPipeline: Produce Message…" again.');
    const records = parseProduceDocument(doc.getText());
    let copies = 1;
    if (copiesArg === ASK_COPIES) {
      const raw = await vscode.window.showInputBox({
        title: `Send ${records.length === 1 ? 'the message' : `the ${records.length} messages`} to ${topic} how many times?`,
        value: lastCopies,
        prompt: 'Copies (1 to 1000000); each copy sends every message of the document once',
        validateInput: copiesError,
      });
      if (raw === undefined) return;
      lastCopies = raw.trim();
      copies = Number(raw);
    }
    await guard(`Send ${records.length * copies === 1 ? 'a message' : `${(records.length * copies).toLocaleString('en-US')} messages`} to "${topic}"`);
    const svc = await conn.get();
    const sent = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Sending ${copies === 1 ? '' : `${(records.length * copies).toLocaleString('en-US')} messages `}to ${topic}…` },
      () => svc.produce(topic, records, copies, { compression }),
    );
    tree.refresh(0);
    const how = compression === 'none' ? '' : ` (${compression}-compressed)`;
    void vscode.window.showInformationMessage(`Sent ${sent.toLocaleString('en-US')} message${sent === 1 ? '' : 's'} to ${topic}${how}.`);
  };

  /** The codec the produce document is sent with (as producers configure compression.type). */
  const setProduceCompression = async (arg: unknown): Promise<void> => {
    const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    const target = uri && produceDocs.get(uri.toString());
    if (!target) throw new ValidationError('This editor is not a Produce Message document. Run "DataPipeline: Produce Message…" on a topic first.');
    const pick = await vscode.window.showQuickPick(
      CODEC_NAMES.map((c) => ({ label: c, description: c === target.compression ? 'current' : c === 'none' ? 'uncompressed' : `compression.type=${c}` })),
      { title: `Compression for messages sent to ${target.topic}`, placeHolder: target.compression },
    );
    if (!pick) return;
    target.compression = pick.label as CodecName;
    lensChanged.fire();
  };

  const produceLenses: vscode.CodeLensProvider = {
    onDidChangeCodeLenses: lensChanged.event,
    provideCodeLenses: (doc) => {
      const target = produceDocs.get(doc.uri.toString());
      if (!target) return [];
      const top = new vscode.Range(0, 0, 0, 0);
      return [
        new vscode.CodeLens(top, { title: `$(send) Send to ${target.topic}${target.connectionId === LOCAL_CONNECTION_ID ? '' : ` on ${target.connectionName}`}`, command: 'datapipeline.topics.sendProduceDocument', arguments: [doc.uri] }),
        new vscode.CodeLens(top, { title: '$(copy) Send N Copies…', command: 'datapipeline.topics.sendProduceDocumentCopies', arguments: [doc.uri] }),
        new vscode.CodeLens(top, { title: `$(package) Compression: ${target.compression}`, command: 'datapipeline.topics.setProduceCompression', arguments: [doc.uri] }),
      ];
    },
  };

  const openBrowser = async (arg: unknown): Promise<void> => {
    const topic = await pickTopic(arg, 'Topic to browse');
    if (!topic) return;
    await openMessageBrowser(ctx, { topic }, (t, record) => produce(t, record));
  };

  const disposables: vscode.Disposable[] = [
    tree,
    ctx.settings.onDidChange((e) => {
      if (e.affectsConfiguration('datapipeline.kafka.bootstrapServers')) tree.reloadAll();
    }),
    ctx.connections.onDidChangeActive(({ connection, switched }) => {
      if (!switched) return tree.reloadAll();
      tree.replaceWith([{ kind: 'empty', text: `Connecting to ${connection.name}…` }]);
      // a message browser shows one connection's data: it goes with it
      void import('../webviews/messageBrowser/panel').then((m) => m.MessageBrowserPanel.disposeAll());
    }),
    ctx.registerCommand('datapipeline.topics.refresh', () => tree.refresh(0)),
    ctx.registerCommand('datapipeline.topics.create', createTopic),
    ctx.registerCommand('datapipeline.topics.delete', deleteTopic),
    ctx.registerCommand('datapipeline.topics.produce', (arg: unknown) => produce(arg)),
    ctx.registerCommand('datapipeline.topics.sendProduceDocument', (arg: unknown) => sendProduceDocument(arg)),
    ctx.registerCommand('datapipeline.topics.sendProduceDocumentCopies', (arg: unknown) => sendProduceDocument(arg, ASK_COPIES)),
    ctx.registerCommand('datapipeline.topics.setProduceCompression', (arg: unknown) => setProduceCompression(arg)),
    lensChanged,
    vscode.languages.registerCodeLensProvider({ language: 'json' }, produceLenses),
    vscode.window.onDidChangeActiveTextEditor(updateProduceContext),
    vscode.workspace.onDidCloseTextDocument((d) => {
      if (produceDocs.delete(d.uri.toString())) updateProduceContext();
    }),
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
