/** Pure Kafka logic: buffer, search, paging view, start-offset planning, validation, formatting. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyBatches } from '../../src/services/kafka/kafkaClient';
import { MessageStore } from '../../src/services/kafka/messageStore';
import { CompiledFilter, FilterError, matchRanges } from '../../src/services/kafka/messageSearch';
import { MessageView } from '../../src/services/kafka/messageView';
import { SearchRunner } from '../../src/services/kafka/searchRunner';
import { planBrowse, lag, type Watermark } from '../../src/services/kafka/offsets';
import { csvField, exportMessages, hexDump, isoTime, preview } from '../../src/services/kafka/messageFormat';
import { parseProduceDocument, produceTemplate } from '../../src/services/kafka/produceDocument';
import { parseHeaders, parseProduceFile, produceValueError, topicNameError, validateCreateTopic, ValidationError } from '../../src/services/kafka/validation';
import { formToRequest, parseOffsets } from '../../src/webviews/messageBrowser/controller';
import { matchesTopicFilter } from '../../src/services/kafka/topicFilter';
import { until } from '../lib/until';

const b = (s: string) => Buffer.from(s);

function fill(store: MessageStore, n: number, f: (i: number) => { key?: string; value: string; headers?: Record<string, string> }) {
  for (let i = 0; i < n; i++) {
    const m = f(i);
    store.append({
      partition: i % 3,
      offset: Math.floor(i / 3),
      timestamp: 1_000_000 + i * 1000,
      key: m.key === undefined ? null : b(m.key),
      value: b(m.value),
      headers: Object.entries(m.headers ?? {}).map(([key, v]) => ({ key, value: b(v) })),
    });
  }
}

describe('kafka: MessageStore', () => {
  it('keeps messages with keys, values and headers byte-exact', () => {
    const s = new MessageStore(10);
    const seq = s.append({ partition: 2, offset: 7, timestamp: 5, key: b('k'), value: Buffer.from([0, 255, 1]), headers: [{ key: 'h', value: b('v') }, { key: 'n', value: null }] });
    const m = s.get(seq)!;
    assert.equal(m.partition, 2);
    assert.equal(m.offset, 7);
    assert.deepEqual([...m.value!], [0, 255, 1]);
    assert.equal(m.key!.toString(), 'k');
    assert.deepEqual(m.headers.map((h) => [h.key, h.value?.toString() ?? null]), [['h', 'v'], ['n', null]]);
  });

  it('evicts the oldest messages when full (ring buffer) and reports how many were dropped', () => {
    const s = new MessageStore(100);
    fill(s, 250, (i) => ({ value: `v${i}` }));
    assert.equal(s.size, 100);
    assert.equal(s.evicted, 150);
    assert.equal(s.value(s.firstSeq)!.toString(), 'v150');
    assert.equal(s.get(10), undefined);
    // a new read (Start again) starts from an empty buffer: nothing was dropped from it
    s.clear();
    fill(s, 6, (i) => ({ value: `again ${i}` }));
    assert.equal(s.size, 6);
    assert.equal(s.evicted, 0, 'a cleared buffer reports no drops ("buffer full" was shown with 6 buffered)');
  });

  it('holds no more than its byte budget: 1 MiB values drop the oldest, and it says up to which offset of each partition', () => {
    const budget = 16 * 1024 * 1024;
    const s = new MessageStore(100_000, budget);
    const mib = Buffer.alloc(1024 * 1024, 0x62);
    let maxMemory = 0;
    for (let i = 0; i < 200; i++) {
      s.append({ partition: i % 2, offset: Math.floor(i / 2), timestamp: i, key: null, value: mib, headers: [] });
      maxMemory = Math.max(maxMemory, s.chunkMemory);
    }
    assert.ok(maxMemory <= budget, `${maxMemory} bytes of chunks, budget ${budget}`);
    assert.ok(s.size >= 12 && s.size <= 16, `${s.size} held`);
    assert.equal(s.evicted, 200 - s.size);
    assert.equal(s.evictedBy, 'bytes');
    const firstHeld = s.offset(s.firstSeq);
    const upTo = new Map(s.droppedUpTo);
    assert.equal(upTo.get(s.partition(s.firstSeq)), firstHeld - 1, 'the partition of the oldest held message was dropped up to just before it');
    assert.equal(s.offset(s.endSeq - 1), 99, 'the newest are kept');
    s.clear();
    assert.equal(s.evictedBy, undefined);
    assert.equal(s.droppedUpTo.size, 0);
    assert.equal(s.chunkMemory, 0);
  });

  it('streaming 400 MiB past a 16 MiB budget allocates no new memory once full: evicted chunks are reused, not left to the GC', () => {
    const budget = 16 * 1024 * 1024;
    const s = new MessageStore(100_000, budget);
    const buffers = new Set<SharedArrayBuffer>();
    for (let i = 0; i < 400; i++) {
      s.append({ partition: 0, offset: i, timestamp: i, key: null, value: Buffer.alloc(1024 * 1024, i % 251), headers: [] });
      for (const c of s.snapshot().chunks) buffers.add(c.buf);
    }
    // 4 MiB chunks: the budget's 4, plus the one being filled when the first eviction came
    assert.ok(buffers.size <= budget / (4 * 1024 * 1024) + 1, `${buffers.size} chunk buffers allocated for 400 MiB`);
    // and a reused chunk holds only its new messages
    for (let q = s.firstSeq; q < s.endSeq; q++) assert.equal(s.value(q)![0], s.offset(q) % 251, `seq ${q}`);
    assert.ok(s.retainedBytes <= budget + 4 * 1024 * 1024 + 100_000 * 45, `${s.retainedBytes} retained`);
  });

  it('keeps the newest message even when it alone is over the byte budget', () => {
    const s = new MessageStore(10, 16 * 1024 * 1024);
    s.append({ partition: 0, offset: 0, timestamp: 0, key: null, value: b('small'), headers: [] });
    const seq = s.append({ partition: 0, offset: 1, timestamp: 0, key: null, value: Buffer.alloc(17 * 1024 * 1024), headers: [] });
    assert.equal(s.size, 1);
    assert.equal(s.value(seq)!.length, 17 * 1024 * 1024);
  });

  it('keeps a 10 MB value beside small ones', () => {
    const s = new MessageStore(10);
    s.append({ partition: 0, offset: 0, timestamp: 0, key: null, value: b('small'), headers: [] });
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const seq = s.append({ partition: 0, offset: 1, timestamp: 0, key: null, value: big, headers: [] });
    s.append({ partition: 0, offset: 2, timestamp: 0, key: null, value: b('after'), headers: [] });
    assert.equal(s.value(seq)!.length, big.length);
    assert.equal(s.value(seq + 1)!.toString(), 'after');
    assert.equal(s.value(seq - 1)!.toString(), 'small');
  });
});

describe('kafka: search', () => {
  const store = new MessageStore(1000);
  fill(store, 300, (i) => ({ key: `user-${i}`, value: JSON.stringify({ i, city: ['Paris', 'Lima', 'Oslo'][i % 3] }), headers: (i % 100 === 0 ? { trace: 'XYZ' } : {}) as Record<string, string> }));

  it('substring search is case-insensitive by default and case-sensitive on request', () => {
    assert.equal(new CompiledFilter({ query: 'oslo' }).scan(store).length, 100);
    assert.equal(new CompiledFilter({ query: 'oslo', caseSensitive: true }).scan(store).length, 0);
    assert.equal(new CompiledFilter({ query: 'Oslo', caseSensitive: true }).scan(store).length, 100);
  });

  it('limits the fields searched: key only, headers only', () => {
    assert.equal(new CompiledFilter({ query: 'user-12', fields: { key: true, value: false, headers: false } }).scan(store).length, 11);
    assert.equal(new CompiledFilter({ query: 'user-12', fields: { key: false, value: true, headers: false } }).scan(store).length, 0);
    assert.deepEqual(new CompiledFilter({ query: 'xyz', fields: { key: false, value: false, headers: true } }).scan(store), [0, 100, 200]);
  });

  it('regex search, and a bad regex tells what to fix', () => {
    assert.equal(new CompiledFilter({ query: '"i":2\\d,', regex: true }).scan(store).length, 10);
    assert.throws(() => new CompiledFilter({ query: '(', regex: true }), (e: Error) => e instanceof FilterError && /turn off regex/.test(e.message));
  });

  it('scan agrees with the per-message test', () => {
    const specs = [
      { query: 'lima' },
      { query: 'Lima', caseSensitive: true },
      { query: 'r-2', regex: true },
      { query: 'user-1\\d+"', regex: true },
      { query: 'OSLO', regex: true },
      { query: '^user-2', regex: true },
      { query: '"i":1\\d\\b', regex: true },
      { query: 'a', partitions: [1] },
    ];
    for (const spec of specs) {
      const f = new CompiledFilter(spec);
      const slow: number[] = [];
      for (let s = store.firstSeq; s < store.endSeq; s++) if (f.test(store, s)) slow.push(s);
      assert.deepEqual(f.scan(store), slow, JSON.stringify(spec));
    }
  });

  it('never matches across the key/value boundary or across messages', () => {
    const st = new MessageStore(10);
    st.append({ partition: 0, offset: 0, timestamp: 0, key: b('ab'), value: b('cd'), headers: [] });
    st.append({ partition: 0, offset: 1, timestamp: 0, key: b('ef'), value: b('gh'), headers: [] });
    for (const spec of [{ query: 'bc' }, { query: 'BC' }, { query: 'b.*c', regex: true }, { query: 'dE', regex: true }, { query: 'hab' }]) {
      assert.deepEqual(new CompiledFilter(spec).scan(st), [], JSON.stringify(spec));
    }
    assert.deepEqual(new CompiledFilter({ query: 'c.', regex: true }).scan(st), [0]);
    assert.deepEqual(new CompiledFilter({ query: 'F', regex: false }).scan(st), [1]);
  });

  it('match ranges for highlighting', () => {
    assert.deepEqual(matchRanges('abcABCabc', { query: 'abc' }), [[0, 3], [3, 6], [6, 9]]);
    assert.deepEqual(matchRanges('abcABC', { query: 'b.', regex: true, caseSensitive: true }), [[1, 3]]);
  });
});

describe('kafka: MessageView', () => {
  it('pages rows, newest first, and follows appends through a filter', () => {
    const store = new MessageStore(100);
    const view = new MessageView(store);
    fill(store, 10, (i) => ({ value: i % 2 ? 'odd' : 'even' }));
    view.onAppendRange(0, 10);
    assert.deepEqual(view.page(0, 3), [0, 1, 2]);
    view.newestFirst = true;
    assert.deepEqual(view.page(0, 3), [9, 8, 7]);
    view.newestFirst = false;
    view.setFilter({ query: 'odd' });
    assert.equal(view.count, 5);
    fill(store, 2, () => ({ value: 'odd' }));
    view.onAppendRange(10, 12);
    assert.equal(view.count, 7);
  });

  it('searches in the worker: a catastrophic regex is stopped at the limit with a clear error while this thread keeps running', async function () {
    this.timeout(30_000);
    const store = new MessageStore(10_000);
    fill(store, 2000, (i) => ({ key: `k${i}`, value: i === 1500 ? 'a'.repeat(40) + '!' : `{"n":${i}}` }));
    const runner = new SearchRunner(store);
    const view = new MessageView(store, runner, { limitMs: 1500 });
    try {
      const ok = await view.applyFilter({ query: '"n":1\\d{3}\\}', regex: true });
      assert.equal(ok.count, 999, 'n = 1000..1999 except the odd one out');
      let ticks = 0;
      const timer = setInterval(() => ticks++, 20);
      const t0 = Date.now();
      const bad = await view.applyFilter({ query: '(a+)+$', regex: true });
      clearInterval(timer);
      const took = Date.now() - t0;
      assert.match(bad.error ?? '', /stopped after 2 s.*\(a\+\)\+ backtracks/);
      assert.equal(view.count, 0);
      assert.ok(took >= 1400 && took < 5000, `took ${took} ms`);
      assert.ok(ticks >= took / 20 / 2, `the main thread ran timers meanwhile: ${ticks} ticks in ${took} ms`);
      // new messages are not tested against the stopped pattern; the next filter works again
      fill(store, 10, () => ({ value: 'aaaa!' }));
      view.onAppendRange(store.endSeq - 10, store.endSeq);
      assert.equal(view.count, 0);
      const again = await view.applyFilter({ query: 'aaaa!' });
      assert.equal(again.error, undefined);
      assert.equal(again.count, 11, 'the 10 new ones and the long one');
      // live appends go through the worker, in order
      fill(store, 5, () => ({ value: 'aaaa! late' }));
      view.onAppendRange(store.endSeq - 5, store.endSeq);
      await until('the live appends to be searched', () => view.count >= 16, { timeoutMs: 5000, intervalMs: 20 });
      assert.equal(view.count, 16);
      assert.deepEqual(view.page(0, 16), [...view.page(0, 16)].sort((a, b) => a - b));
    } finally {
      runner.dispose();
    }
  });

  it('a newer search replaces one still running: only the newer result is shown', async function () {
    this.timeout(30_000);
    const store = new MessageStore(10_000);
    fill(store, 100, (i) => ({ value: i === 50 ? 'a'.repeat(40) + '!' : `plain ${i}` }));
    const runner = new SearchRunner(store);
    const view = new MessageView(store, runner, { limitMs: 20_000 });
    try {
      const slow = view.applyFilter({ query: '(a+)+$', regex: true });
      await until('the slow search to be running', () => view.searching, 5000);
      const t0 = Date.now();
      const fast = await view.applyFilter({ query: 'plain 7' });
      assert.ok(Date.now() - t0 < 3000, 'the newer search did not wait for the slow one');
      assert.equal((await slow).cancelled, true);
      assert.equal(fast.count, 11);
      assert.equal(view.count, 11);
    } finally {
      runner.dispose();
    }
  });

  it('a large scan split across two workers finds exactly what one worker finds, in order; a cancel stops both', async function () {
    this.timeout(60_000);
    const store = new MessageStore(300_000);
    fill(store, 250_000, (i) => ({ key: `k${i}`, value: i === 200_000 ? 'a'.repeat(40) + '!' : `{"n":${i},"city":"${['Oslo', 'Lima', 'Pune'][i % 3]}"}` }));
    const one = new SearchRunner(store);
    const two = new SearchRunner(store, { workers: 2 });
    try {
      for (const spec of [{ query: 'oslo' }, { query: '"n":12\\d{3},', regex: true }, { query: 'k24999', caseSensitive: true }]) {
        const a = await one.scan(spec, store.firstSeq, store.endSeq, 20_000);
        const b = await two.scan(spec, store.firstSeq, store.endSeq, 20_000);
        assert.ok(a.seqs.length > 0, JSON.stringify(spec));
        assert.deepEqual(Array.from(b.seqs), Array.from(a.seqs), JSON.stringify(spec));
      }
      // backtracks for minutes on message 200,000 (the second worker's half)
      const slow = two.scan({ query: '(a+)+$', regex: true }, store.firstSeq, store.endSeq, 60_000);
      await until('both workers scanning', () => two.busy, 5000);
      two.cancel();
      await assert.rejects(slow, /replaced by a newer one/);
      assert.equal(two.busy, false, 'both workers stopped');
      assert.equal((await two.scan({ query: 'k249999', caseSensitive: true }, store.firstSeq, store.endSeq, 20_000)).seqs.length, 1, 'and the next scan works');
    } finally {
      one.dispose();
      two.dispose();
    }
  });

  it('histogram counts every message in its time bin', () => {
    const store = new MessageStore(100);
    const view = new MessageView(store);
    fill(store, 50, (i) => ({ value: String(i) }));
    const h = view.histogram(10)!;
    assert.equal(h.counts.reduce((a, c) => a + c, 0), 50);
    assert.equal(h.from, 1_000_000);
  });
});

describe('kafka: start offsets', () => {
  const wm: Watermark[] = [
    { partition: 0, low: 5, high: 20 },
    { partition: 1, low: 0, high: 10 },
  ];
  const lookups = {
    offsetsForTimestamp: async () => new Map([[0, 12], [1, -1]]),
    groupOffsets: async () => new Map([[0, 15]]),
  };
  const now = 1_700_000_000_000;

  it('earliest / latest / per-partition offsets / partition filter', async () => {
    assert.deepEqual(await planBrowse({ start: { mode: 'earliest' }, follow: false }, wm, lookups, now), [
      { partition: 0, start: 5, end: 20 },
      { partition: 1, start: 0, end: 10 },
    ]);
    assert.deepEqual(await planBrowse({ start: { mode: 'latest' }, follow: true }, wm, lookups, now), [
      { partition: 0, start: 20, end: undefined },
      { partition: 1, start: 10, end: undefined },
    ]);
    const per = await planBrowse({ start: { mode: 'offset', perPartition: { 0: 7, 1: 3 } }, partitions: [1], follow: false }, wm, lookups, now);
    assert.deepEqual(per, [{ partition: 1, start: 3, end: 10 }]);
  });

  it('refuses an offset outside the range and a time in the future, saying what to do', async () => {
    await assert.rejects(planBrowse({ start: { mode: 'offset', offset: 3 }, follow: false }, wm, lookups, now), /outside partition 0's range 5–20/);
    await assert.rejects(planBrowse({ start: { mode: 'timestamp', timestamp: now + 1000 }, follow: false }, wm, lookups, now), /in the future.*Pick an earlier time/);
    await assert.rejects(planBrowse({ start: { mode: 'earliest' }, partitions: [7], follow: false }, wm, lookups, now), /Partition 7 does not exist/);
    // "7:3" on a topic without partition 7 names partition 7, not partition 0
    await assert.rejects(
      planBrowse({ start: { mode: 'offset', perPartition: { 7: 3 } }, follow: false }, wm, lookups, now),
      /^ValidationError: Partition 7 does not exist; this topic has partitions 0–1\. Use partition:offset pairs for those\.$/,
    );
  });

  it('timestamp (no message at or after the time → nothing to read there), window, group offsets (none committed → earliest)', async () => {
    assert.deepEqual(await planBrowse({ start: { mode: 'timestamp', timestamp: now - 1 }, follow: false }, wm, lookups, now), [
      { partition: 0, start: 12, end: 20 },
      { partition: 1, start: 10, end: 10 },
    ]);
    const w = await planBrowse({ start: { mode: 'window', from: now - 10, to: now - 5 }, follow: false }, wm, lookups, now);
    assert.deepEqual(w.map((p) => p.untilTimestamp), [now - 5, now - 5]);
    assert.deepEqual((await planBrowse({ start: { mode: 'group', groupId: 'g' }, follow: false }, wm, lookups, now)).map((p) => p.start), [15, 0]);
  });

  it('lag is end − committed, or the whole partition when nothing is committed', () => {
    assert.equal(lag(100, 40, 0), 60);
    assert.equal(lag(100, -1, 30), 70);
  });

  it('parses the offset field of the browser and maps the start form', () => {
    assert.deepEqual(parseOffsets('42'), { offset: 42 });
    assert.deepEqual(parseOffsets('0:4, 2:9'), { perPartition: { 0: 4, 2: 9 } });
    assert.throws(() => parseOffsets('abc'), ValidationError);
    assert.equal(formToRequest({ mode: 'latest', follow: false }).follow, true);
    assert.throws(() => formToRequest({ mode: 'window', from: 1, follow: false }), /both ends/);
  });
});

describe('kafka: validation and input', () => {
  it("topic names follow Kafka's rules", () => {
    assert.equal(topicNameError('orders.v1_x-y'), undefined);
    assert.match(topicNameError('')!, /empty/);
    assert.match(topicNameError('a b')!, /contains " "/);
    assert.match(topicNameError('x'.repeat(250))!, /at most 249/);
    assert.match(topicNameError('..')!, /not allowed/);
  });

  it('create topic checks partitions, replication and configs', () => {
    assert.deepEqual(validateCreateTopic({ topic: 't', numPartitions: '3', configs: { 'retention.ms': '1000' } }), {
      topic: 't',
      numPartitions: 3,
      replicationFactor: 1,
      configs: { 'retention.ms': '1000' },
    });
    assert.throws(() => validateCreateTopic({ topic: 't', numPartitions: '0' }), /from 1/);
    assert.throws(() => validateCreateTopic({ topic: 't', numPartitions: 'x' }), /whole number/);
    assert.throws(() => validateCreateTopic({ topic: 't', numPartitions: 1, replicationFactor: 2 }, 1), /one broker/);
    assert.throws(() => validateCreateTopic({ topic: 't', numPartitions: 1, configs: { 'foo.bar': '1' } }), /Unknown topic config/);
  });

  it('headers, produce files and JSON-looking values', () => {
    assert.deepEqual(parseHeaders('a=1, b = two'), { a: '1', b: 'two' });
    assert.throws(() => parseHeaders('novalue'), /name=value/);
    assert.deepEqual(parseProduceFile('[{"key":"k","value":{"a":1},"headers":{"h":"v"},"partition":1}, "plain", 5]'), [
      { key: 'k', value: '{"a":1}', headers: { h: 'v' }, partition: 1 },
      { value: 'plain' },
      { value: '5' },
    ]);
    assert.throws(() => parseProduceFile('{"a":1}'), /JSON array/);
    assert.equal(produceValueError('plain text'), undefined);
    assert.equal(produceValueError('{"a": 1}'), undefined);
    assert.match(produceValueError('{"a": }')!, /looks like JSON but does not parse/);
  });

  it('topic filter: substring and * wildcard', () => {
    assert.ok(matchesTopicFilter('input-topic', 'INPUT'));
    assert.ok(matchesTopicFilter('input-topic', '*-topic'));
    assert.ok(!matchesTopicFilter('input-topic', 'out*'));
    assert.ok(matchesTopicFilter('x', ''));
  });
});

describe('kafka: formatting and export', () => {
  it('previews are bounded, single-line, and hex for binary', () => {
    const p = preview(Buffer.from('a\nb'.repeat(1000)))!;
    assert.ok(p.truncated && p.text.length <= 200 && !p.text.includes('\n'));
    assert.deepEqual(preview(Buffer.from([0xff, 0x00])), { text: 'ff 00', binary: true, truncated: false, size: 2 });
    assert.equal(preview(null), null);
    assert.match(hexDump(Buffer.from('AB')).text, /^00000000 {2}41 42 +AB$/);
  });

  it('CSV escapes quotes; JSON export is an array', async () => {
    assert.equal(csvField('a,"b"'), '"a,""b"""');
    assert.deepEqual([csvField(null), csvField('')], ['', '""'], 'null and empty stay apart');
    assert.deepEqual([isoTime(0), isoTime(-1), isoTime(9e15)], ['1970-01-01T00:00:00.000Z', '', '']);
    const store = new MessageStore(10);
    fill(store, 2, (i) => ({ key: `k${i}`, value: `{"n":${i}}` }));
    let out = '';
    const n = await exportMessages(store, [0, 1], 'json', (c) => {
      out += c;
    });
    assert.equal(n, 2);
    assert.deepEqual((JSON.parse(out) as Array<{ key: string }>).map((r) => r.key), ['k0', 'k1']);
  });
});

describe('kafka: CSV export keeps values exactly (formula guard marked in the encoding)', () => {
  it('numbers stay numbers; what a spreadsheet would run gets a \' and "-guarded"; the README\'s Python recipe reads every value back exactly', async () => {
    const values = ['-42', '+1', '1.5e3', '=1+1', '@x', '-x', '+', '=SUM(A1)', '\tlead', 'plain', '', 'a,"b"\nc'];
    const store = new MessageStore(100);
    for (const [i, v] of values.entries()) store.append({ partition: 0, offset: i, timestamp: 1_000 + i, key: i === 0 ? null : b(v), value: b(v), headers: [] });
    // a value that is not UTF-8 is base64, which can start with + too
    const binary = Buffer.from([0xfb, 0xef, 0xff]);
    assert.ok(binary.toString('base64').startsWith('+'));
    store.append({ partition: 0, offset: values.length, timestamp: 2_000, key: null, value: binary, headers: [] });
    let csv = '';
    await exportMessages(store, Array.from({ length: values.length + 1 }, (_, i) => i), 'csv', (c) => void (csv += c));
    const lines = csv.trimEnd().split('\n');
    assert.match(lines[1], /^0,0,1000,[^,]+,null,,utf8,-42,$/, 'a number is written as it is, a null key as null');
    assert.match(lines[4], /,utf8-guarded,'=1\+1,/, 'a formula is guarded and says so');
    assert.match(csv, /,base64-guarded,'\+/, 'base64 starting with + is guarded too');
    // the README's recipe, run by Python's csv module as a user would
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const recipe = /```python\n(import base64, csv[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(recipe, 'README has the Python recipe for reading an export back');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-csv-'));
    try {
      fs.writeFileSync(path.join(dir, 'messages.csv'), csv);
      const asJson = "[[x if not isinstance(x, bytes) else {'b64': base64.b64encode(x).decode()} for x in r] for r in records]";
      const r = spawnSync('python3', ['-c', `${recipe}\nimport json\nprint(json.dumps(${asJson}))\n`], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const back = JSON.parse(r.stdout) as Array<[string | null, string | { b64: string } | null]>;
      assert.deepEqual(back.slice(0, values.length), values.map((v, i) => [i === 0 ? null : v, v]));
      assert.deepEqual(back[values.length], [null, { b64: binary.toString('base64') }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kafka: Produce ×N makes its copies as it sends them', () => {
  it('1,000 records × 1,000,000 copies: the first send is ready at once (nothing is built up front), batches keep their limits', () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    const t0 = Date.now();
    const batches = copyBatches(records, 1_000_000);
    const first = batches.next().value!;
    assert.ok(Date.now() - t0 < 1000, `first batch after ${Date.now() - t0} ms`);
    assert.ok(first.length > 1000 && first.length <= 10_000, `${first.length} messages in the first send`);
    assert.equal(first[1000], records[0], 'copies repeat the records in order');
    assert.equal(copyBatches([{ value: '' }], 25_000, 10 * 1024 * 1024).next().value!.length, 10_000, 'at most 10,000 messages a send');
  });

  it('every copy is sent once, in order, in sends under ~512 KB (one large message alone)', () => {
    const records = [{ value: 'a' }, { value: 'x'.repeat(300 * 1024) }, { key: 'k', value: null }];
    const sent = [...copyBatches(records, 3)];
    assert.deepEqual(sent.flat(), [...records, ...records, ...records]);
    for (const batch of sent) assert.ok(batch.length === 1 || batch.reduce((n, m) => n + (m.value?.length ?? 0) + 64, 0) <= 512 * 1024);
  });
});

describe('Produce Message document (the JSON editor)', () => {
  it('the template is one record with key, value, headers and partition null, and sends as one message', () => {
    const text = produceTemplate();
    const parsed = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['key', 'value', 'headers', 'partition']);
    assert.equal(parsed.partition, null);
    const records = parseProduceDocument(text);
    assert.equal(records.length, 1);
    assert.equal(records[0].partition, undefined, 'null partition = chosen by key');
    assert.equal(records[0].value, JSON.stringify(parsed.value));
  });

  it('prefills from a browsed message (JSON value shown as JSON, headers kept)', () => {
    const text = produceTemplate({ partition: 2, offset: 5, timestamp: 0, key: 'k1', value: '{"a":1}', keyEncoding: 'utf8', valueEncoding: 'utf8', headers: [{ key: 'h', value: 'v', encoding: 'utf8' }] });
    assert.deepEqual(JSON.parse(text), { key: 'k1', value: { a: 1 }, headers: { h: 'v' }, partition: null });
    assert.deepEqual(parseProduceDocument(text), [{ key: 'k1', value: '{"a":1}', headers: { h: 'v' }, partition: undefined }]);
  });

  it('accepts an array of records with headers and partitions', () => {
    const records = parseProduceDocument('[{"key":"a","value":{"n":1},"headers":{"t":"x"},"partition":0},{"key":null,"value":"text","partition":null}]');
    assert.deepEqual(records, [
      { key: 'a', value: '{"n":1}', headers: { t: 'x' }, partition: 0 },
      { key: null, value: 'text', headers: {}, partition: undefined },
    ]);
  });

  it('rejects malformed JSON, an empty document, an empty array and an object without value, saying what to fix', () => {
    assert.throws(() => parseProduceDocument('{"key": "a", "value": '), (e: Error) => e instanceof ValidationError && /not valid JSON.*Nothing was sent/.test(e.message));
    assert.throws(() => parseProduceDocument('   '), /empty/);
    assert.throws(() => parseProduceDocument('[]'), /nothing to send/);
    assert.throws(() => parseProduceDocument('{"key": "a"}'), /no "value"/);
    assert.throws(() => parseProduceDocument('{"value": 1, "partition": -1}'), /non-negative integer/);
  });
});
