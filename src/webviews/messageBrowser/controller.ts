/**
 * The message browser's host logic without vscode: owns the MessageStore, the filtered view and
 * the BrowseSession, answers the webview's page/detail/filter requests and throttles status
 * updates. The panel (panel.ts) only moves messages and does file/clipboard I/O, so this class is
 * driven directly by the integration tests and the benchmark.
 */
import * as os from 'node:os';
import { BrowseSession } from '../../services/kafka/browseSession';
import { KafkaUnreachableError, type KafkaLog, type KafkaService } from '../../services/kafka/kafkaClient';
import { exportRecord, exportToFile, hexDump, looksUtf8, type ExportRecord } from '../../services/kafka/messageFormat';
import { FilterError } from '../../services/kafka/messageSearch';
import { MessageStore } from '../../services/kafka/messageStore';
import { MessageView, type FilterOutcome } from '../../services/kafka/messageView';
import { markOf, rowOf } from '../../services/kafka/rows';
import { MAX_PAGE_ROWS } from '../../protocol/guards';
import { SearchRunner } from '../../services/kafka/searchRunner';
import { PreparedConnection } from '../../services/kafka/topicReader';
import type { BrowseRequest } from '../../services/kafka/offsets';
import { ValidationError } from '../../services/kafka/validation';
import type { BrowseStateName, DetailData, Highlights, PageData, RowData, StartForm, StatusData, ToHost, ToWebview } from '../../protocol/messageBrowser';
import { errorMessage } from '../../services/util/errors';
import { emptyTimeNote, formToRequest, pageTexts, statusNote, toFilter } from './forms';

export { formToRequest, parseOffsets, statusNote } from './forms';

/** Detail pane text limit: a 10 MB value is shown in full up to this many characters. */
export const DETAIL_TEXT_LIMIT = 16 * 1024 * 1024;
/** how long highlighting a page / the detail pane may take in the worker before it is shown plain */
const PAGE_HIGHLIGHT_LIMIT_MS = 1000;
const DETAIL_HIGHLIGHT_LIMIT_MS = 2000;

export interface BrowserHostIO {
  post(msg: ToWebview): void;
  /** Ask where to save, then call `write` with a sink; returns false when the user cancelled. */
  /** Asks where to save, then calls exportTo(file) (which writes the whole file or nothing). */
  saveExport(format: 'json' | 'csv', exportTo: (file: string) => Promise<number>): Promise<boolean>;
  copy(text: string): Promise<void>;
  produceAgain(record: ExportRecord): Promise<void>;
}

export interface MessageBrowserOptions {
  service: KafkaService;
  topic: string;
  title?: string;
  /** the connection read, as the page says it ("Local stack") */
  connection?: string;
  capacity: number;
  /** byte budget of the buffer (default 512 MiB) */
  maxBytes?: number;
  initial?: StartForm;
  io: BrowserHostIO;
  log?: KafkaLog;
  /** ms between status updates while messages stream in (default 200) */
  statusIntervalMs?: number;
  /** how long one search may run before it is stopped (default SEARCH_LIMIT_MS) */
  searchLimitMs?: number;
}

export class MessageBrowserController {
  readonly store: MessageStore;
  readonly view: MessageView;
  private readonly searcher: SearchRunner;
  private readonly highlighter: SearchRunner;
  private session?: BrowseSession;
  private state: BrowseStateName = 'idle';
  private message?: string;
  private statusTimer?: NodeJS.Timeout;
  private lastForm: StartForm;
  private disposed = false;
  private ready = false;
  /** the webview's pull waiting for a change: the rows it shows and the data version it holds */
  private pending?: { start: number; count: number; version: number };
  /** what the last status sent said, and when */
  private sent = { urgent: '', counts: '', count: 0, at: 0 };

  constructor(private readonly opts: MessageBrowserOptions) {
    this.store = new MessageStore(opts.capacity, opts.maxBytes);
    // the user's pattern runs in worker threads: one for searches, one for highlights (so a page
    // never waits behind a long search)
    this.searcher = new SearchRunner(this.store, { workers: Math.min(4, os.availableParallelism()) });
    this.highlighter = new SearchRunner(this.store);
    this.view = new MessageView(this.store, this.searcher, { limitMs: opts.searchLimitMs, onChange: () => this.scheduleStatus() });
    this.lastForm = opts.initial ?? { mode: 'earliest', follow: false };
  }

  /**
   * Connects to the broker while the webview loads (the panel calls this as it opens), so the read
   * that `ready` starts does not wait for a cold connection. Nothing is read or shown yet.
   */
  prepare(): void {
    void this.opts.service.watermarks(this.opts.topic).catch(() => undefined);
    this.prepared ??= new PreparedConnection(this.opts.service.kafka, this.opts.topic, this.opts.initial?.isolation ?? 'read_committed');
  }
  /** the reader's connection opened by prepare(), for the first read */
  private prepared?: PreparedConnection;

  get topic(): string {
    return this.opts.topic;
  }
  get browseSession(): BrowseSession | undefined {
    return this.session;
  }

  async handle(msg: ToHost): Promise<void> {
    try {
      await this.dispatch(msg);
    } catch (e) {
      this.opts.io.post({ type: 'error', message: errorMessage(e), retry: e instanceof KafkaUnreachableError });
    }
  }

  private async dispatch(msg: ToHost): Promise<void> {
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.sent = { urgent: '', counts: '', count: 0, at: 0 };
        // the first status answers `ready` and brings the rows of the window the page shows first
        this.pending = { start: msg.start ?? 0, count: Math.min(MAX_PAGE_ROWS, msg.count ?? 60), version: -1 };
        // the read does not wait for the form's partitions and groups (one error if the topic is gone)
        if (this.opts.initial) await Promise.all([this.sendInit(), this.startBrowse(this.opts.initial)]);
        else await this.sendInit();
        return;
      case 'pull':
        this.pending = { start: msg.start, count: Math.min(MAX_PAGE_ROWS, msg.count), version: msg.version };
        this.statusChanged(false);
        return;
      case 'retry':
        await this.sendInit();
        await this.startBrowse(this.lastForm);
        return;
      case 'start':
        await this.startBrowse(msg.form);
        return;
      case 'stop':
        await this.stopBrowse();
        return;
      case 'page': {
        const page = this.page(msg.reqId, msg.start, msg.count);
        const highlights = await this.highlights(pageTexts(page), 100, PAGE_HIGHLIGHT_LIMIT_MS);
        this.opts.io.post(highlights ? { ...page, highlights } : page);
        return;
      }
      case 'filter': {
        let outcome: FilterOutcome;
        try {
          const running = this.view.applyFilter(toFilter(msg.filter));
          this.postStatus(); // "Searching…"
          outcome = await running;
        } catch (e) {
          if (e instanceof FilterError) {
            this.opts.io.post({ type: 'filterResult', count: this.view.count, ms: 0, error: e.message });
            return;
          }
          throw e;
        }
        if (outcome.cancelled) return;
        const ms = Math.round(outcome.ms);
        this.opts.io.post({ type: 'filterResult', count: outcome.count, ms, error: outcome.error });
        this.opts.log?.info(`search ${JSON.stringify(msg.filter.query)}${msg.filter.regex ? ' (regex)' : ''}: ${outcome.error ?? `${outcome.count} of ${this.store.size} in ${ms} ms`}`);
        this.postStatus();
        return;
      }
      case 'order':
        this.view.newestFirst = msg.newestFirst;
        this.view.version++;
        this.postStatus();
        return;
      case 'detail': {
        const d = this.detail(msg.seq);
        if (d) {
          const highlights = await this.highlights([d.key, d.valueText, d.valuePretty], 1000, DETAIL_HIGHLIGHT_LIMIT_MS);
          this.opts.io.post({ type: 'detail', detail: highlights ? { ...d, highlights } : d });
        }
        else this.opts.io.post({ type: 'error', message: 'That message has left the buffer (it was full). Raise datapipeline.messageBrowser.capacity or datapipeline.messageBrowser.maxMegabytes to keep more.', retry: false });
        return;
      }
      case 'histogram': {
        const h = this.view.histogram(80);
        this.opts.io.post({ type: 'histogram', histogram: h ? { from: h.from, binMs: h.binMs, counts: h.counts } : null });
        return;
      }
      case 'export':
        await this.opts.io.saveExport(msg.format, (file) => exportToFile(this.store, this.view.seqs(), msg.format, file));
        return;
      case 'copy':
        if (!this.store.has(msg.seq)) throw new ValidationError('That message has left the buffer; nothing to copy.');
        await this.opts.io.copy(JSON.stringify(exportRecord(this.store, msg.seq), null, 2));
        return;
      case 'produceAgain':
        if (!this.store.has(msg.seq)) throw new ValidationError('That message has left the buffer; nothing to produce.');
        await this.opts.io.produceAgain(exportRecord(this.store, msg.seq));
        return;
    }
  }

  /** Regex searches: highlight ranges computed in the worker (none when the pattern is too slow). */
  private async highlights(texts: Array<string | null>, max: number, limitMs: number): Promise<Highlights | undefined> {
    const spec = this.view.filterSpec;
    if (!spec.regex || !spec.query || this.view.failure) return undefined;
    const unique = [...new Set(texts.filter((t): t is string => !!t))];
    if (unique.length === 0) return undefined;
    try {
      const ranges = await this.highlighter.ranges({ query: spec.query, regex: true, caseSensitive: spec.caseSensitive }, unique, max, limitMs);
      return unique.map((t, i) => [t, ranges[i]]);
    } catch {
      return undefined;
    }
  }

  private async sendInit(): Promise<void> {
    const [wm, groups] = await Promise.all([this.opts.service.watermarks(this.opts.topic), this.opts.service.groupIds().catch(() => [] as string[])]);
    if (wm.length === 0) throw new ValidationError(`Topic "${this.opts.topic}" does not exist. Refresh the Topics view.`);
    this.opts.io.post({
      type: 'init',
      topic: this.opts.topic,
      title: this.opts.title ?? this.opts.topic,
      connection: this.opts.connection ?? '',
      partitions: wm.map((w) => w.partition),
      groups,
      capacity: this.store.capacity,
      form: this.lastForm,
    });
  }

  /** Starts a new read (the buffer is cleared). Resolves once reading has begun. */
  async startBrowse(form: StartForm): Promise<void> {
    this.lastForm = form;
    let request: BrowseRequest;
    try {
      request = formToRequest(form);
    } catch (e) {
      // the status line speaks of this attempt, not of an earlier one (the error box shows the same)
      this.state = 'error';
      this.message = errorMessage(e);
      this.postStatus();
      throw e;
    }
    await this.stopBrowse();
    this.store.clear();
    this.view.onClear();
    this.state = 'planning';
    this.message = undefined;
    this.postStatus();
    const session = new BrowseSession({
      service: this.opts.service,
      topic: this.opts.topic,
      request,
      store: this.store,
      isolation: form.isolation ?? 'read_committed',
      prepared: this.prepared,
      log: this.opts.log,
      onMessages: (first, end) => {
        this.view.onAppendRange(first, end);
        this.scheduleStatus();
      },
      onChanged: () => {
        // a transaction ended: the rows it marked show their new state on the next page request
        this.view.version++;
        this.scheduleStatus();
      },
      onStatus: (st) => {
        if (session !== this.session) return;
        this.state = st.state;
        this.message = statusNote(st, session.isolation);
        // the read is in: start the search workers now, not at the first keystroke
        if (st.state === 'done' || st.state === 'live') this.searcher.warm();
        this.postStatus();
        // a time that holds nothing: say which window, and when the topic does have messages
        if (st.state === 'done' && this.store.size === 0 && (form.mode === 'window' || form.mode === 'timestamp')) {
          void this.opts.service
            .timeRange(this.opts.topic)
            .then((range) => {
              if (session !== this.session || this.store.size > 0) return;
              this.message = emptyTimeNote(form, range);
              this.postStatus();
            })
            .catch(() => undefined);
        }
      },
    });
    this.session = session;
    // the first read adopts the connection opened ahead (if it fits); later ones open their own
    const prepared = this.prepared;
    this.prepared = undefined;
    try {
      await session.start();
    } catch (e) {
      if (session === this.session) {
        this.session = undefined;
        this.state = 'error';
        this.message = errorMessage(e);
        this.postStatus();
      }
      await session.stop();
      throw e;
    } finally {
      prepared?.dispose(); // when the read did not take it
    }
  }

  async stopBrowse(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) {
      await s.stop();
      if (this.state !== 'done') this.state = 'stopped';
      this.postStatus();
    }
  }

  /** Messages arrived or rows changed: the waiting pull is answered within statusIntervalMs. */
  private scheduleStatus(): void {
    this.statusChanged(false);
  }

  /**
   * Answers the webview's waiting pull if the status differs from the last one sent: at once when
   * the state, note or search changed (or `urgent`), otherwise no sooner than statusIntervalMs after
   * the last answer. Without a waiting pull nothing is sent; the next pull gets the news.
   */
  private statusChanged(urgent: boolean): void {
    if (this.disposed || !this.ready || !this.pending || this.answering) return;
    const st = this.statusData();
    const urgentSig = `${st.state}|${st.message ?? ''}|${st.searching ?? ''}`;
    const countsSig = `${st.count}|${st.buffered}|${st.evicted}|${st.version}`;
    const rowsStale = this.pending.version !== st.version;
    if (!urgent && urgentSig === this.sent.urgent && countsSig === this.sent.counts && !rowsStale) return; // nothing new: the pull waits
    // the first rows of a read are not held back by the interval (the page shows none yet)
    const firstRows = st.count > 0 && this.sent.count === 0;
    const wait = urgent || firstRows || urgentSig !== this.sent.urgent ? 0 : this.sent.at + (this.opts.statusIntervalMs ?? 200) - Date.now();
    if (wait > 0) {
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = undefined;
        this.statusChanged(false);
      }, wait);
      return;
    }
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    void this.answerPull(urgentSig, countsSig);
  }

  private answering = false;

  private async answerPull(urgentSig: string, countsSig: string): Promise<void> {
    const want = this.pending!;
    this.pending = undefined;
    this.answering = true;
    try {
      const status = this.statusData();
      let page: PageData | undefined;
      if (want.version !== status.version && want.count > 0) {
        const { type: _t, ...p } = this.page(0, want.start, want.count);
        page = p;
        const highlights = await this.highlights(pageTexts(page), 100, PAGE_HIGHLIGHT_LIMIT_MS);
        if (highlights) page.highlights = highlights;
      }
      this.sent = { urgent: urgentSig, counts: countsSig, count: status.count, at: Date.now() };
      if (!this.disposed) this.opts.io.post(page ? { type: 'status', status, page } : { type: 'status', status });
    } finally {
      this.answering = false;
    }
    // changes made while the highlights were computed reach the next pull
  }

  private postStatus(): void {
    this.statusChanged(true);
  }

  statusData(): StatusData {
    return {
      state: this.state,
      count: this.view.count,
      buffered: this.store.size,
      capacity: this.store.capacity,
      evicted: this.store.evicted,
      maxBytes: this.store.maxBytes,
      bytes: this.store.bytes,
      evictedBy: this.store.evictedBy,
      droppedUpTo: this.store.evicted ? [...this.store.droppedUpTo].sort((a, b) => a[0] - b[0]) : undefined,
      version: this.view.version,
      message: this.message,
      searching: this.view.searching || undefined,
    };
  }

  page(reqId: number, start: number, count: number): Extract<ToWebview, { type: 'page' }> {
    const seqs = this.view.page(start, Math.min(MAX_PAGE_ROWS, Math.max(0, count)));
    return { type: 'page', reqId, start, total: this.view.count, version: this.view.version, rows: seqs.map((s) => this.row(s)) };
  }

  row(seq: number): RowData {
    return rowOf(this.store, seq);
  }

  detail(seq: number): DetailData | undefined {
    if (!this.store.has(seq)) return undefined;
    const key = this.store.key(seq);
    const value = this.store.value(seq);
    const keyText = key ? (looksUtf8(key) ? key.toString('utf8') : hexDump(key, 4096).text) : null;
    let valueText: string | null = null;
    let valuePretty: string | null = null;
    let valueHex: string | null = null;
    let valueHexTruncated = false;
    if (value) {
      if (looksUtf8(value)) {
        valueText = value.toString('utf8', 0, Math.min(value.length, DETAIL_TEXT_LIMIT));
        const head = valueText.trimStart()[0];
        if ((head === '{' || head === '[') && value.length <= 4 * 1024 * 1024) {
          try {
            valuePretty = JSON.stringify(JSON.parse(valueText), null, 2);
          } catch {
            valuePretty = null;
          }
        }
      } else {
        const h = hexDump(value);
        valueHex = h.text;
        valueHexTruncated = h.truncated;
      }
    }
    return {
      seq,
      mark: markOf(this.store.flags(seq)),
      partition: this.store.partition(seq),
      offset: this.store.offset(seq),
      timestamp: this.store.timestamp(seq),
      key: keyText,
      keyBinary: !!key && !looksUtf8(key),
      valueText,
      valuePretty,
      valueHex,
      valueHexTruncated,
      valueSize: value ? value.length : 0,
      headers: this.store.headers(seq).map((h) => {
        const bin = !!h.value && !looksUtf8(h.value);
        return { key: h.key, value: h.value ? (bin ? h.value.toString('hex') : h.value.toString('utf8')) : null, binary: bin };
      }),
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.prepared?.dispose();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.searcher.dispose();
    this.highlighter.dispose();
    await this.stopBrowse();
  }
}
