/**
 * Message browser benchmark on a large topic (default 1,000,000 × 200-byte JSON values, 3
 * partitions; produced once and reused). Measures, in one run against the shared native broker:
 * - browse throughput: broker → MessageStore → first page (the host side of the webview) vs a
 *   bare kafkajs consumer reading the same topic (goal ratio ≥ 0.8), and the Java console consumer
 *   from the same Kafka jars; the same on lz4- and zstd-compressed copies of the topic, against a
 *   bare kafkajs consumer with the same codecs registered;
 * - extension-host memory growth with the whole topic buffered (goal ≤ 400 MB);
 * - search over the full buffer in the search worker (median, goal ≤ 300 ms; ratio to the same scan on the host thread);
 * - in the real webview (code-server + Chromium, when datapipeline.vsix exists): panel start vs an
 *   empty webview with the same CSP shell (test/fixtures/webview-baseline), first rows after the page
 *   is ready, 1M to Done vs bare kafkajs in the same rounds, DOM rows with everything buffered
 *   (goal ≤ 200), scroll, search and histogram-brush latency (runKafkaWebviewBench).
 *
 *   npx tsx bench/kafka.ts            (DP_BENCH_KAFKA_MESSAGES=200000 for a smaller topic)
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { KAFKAJS_COMPRESSION, type CodecName } from '../src/services/kafka/codecs';
import { KafkaService } from '../src/services/kafka/kafkaClient';
import { cacheDir } from '../src/services/util/paths';
import { MessageBrowserController } from '../src/webviews/messageBrowser/controller';
import { ensureNativeStack, releaseNativeStack } from '../test/integration/harness';
import type { Frame } from 'playwright-core';
import { until } from '../test/lib/until';
import { type BenchEntry, entry, median, runStandalone } from './lib';

const MESSAGES = Number(process.env.DP_BENCH_KAFKA_MESSAGES ?? 1_000_000);
const TOPIC = `bench-browse-${MESSAGES}`;
const VALUE_BYTES = 200;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function log(msg: string): void {
  process.stderr.write(`[kafka bench] ${msg}\n`);
}

function valueFor(i: number): string {
  const base = JSON.stringify({ id: i, user: `user-${i % 5000}`, city: ['Paris', 'Lima', 'Oslo', 'Pune'][i % 4], amount: (i * 37) % 1000, note: '' });
  // pad the note so every value is exactly VALUE_BYTES bytes
  return base.replace('"note":""', `"note":"${'x'.repeat(Math.max(0, VALUE_BYTES - base.length))}"`);
}

/** The benchmark topic, produced once (with `codec`) and reused. */
export async function ensureTopic(service: KafkaService, codec: CodecName = 'none'): Promise<string> {
  const topic = codec === 'none' ? TOPIC : `${TOPIC}-${codec}`;
  const existing = (await service.listTopics()).find((t) => t.name === topic);
  if (existing && (existing.messageCount ?? 0) >= MESSAGES) {
    log(`reusing ${topic} (${existing.messageCount} messages)`);
    return topic;
  }
  if (existing) await service.deleteTopic(topic);
  await service.createTopic({ topic, numPartitions: 3 });
  const t0 = Date.now();
  const producer = service.kafka.producer();
  await producer.connect();
  // 3,000 messages per send (~270 KB per partition batch, under the 1 MB limit), 4 sends in flight
  const batch = 3_000;
  const compression = KAFKAJS_COMPRESSION[codec];
  const send = (i: number) =>
    producer.send({
      topic,
      acks: 1,
      compression,
      messages: Array.from({ length: Math.max(0, Math.min(batch, MESSAGES - i)) }, (_, j) => ({ key: `k${i + j}`, value: valueFor(i + j) })),
    });
  for (let i = 0; i < MESSAGES; i += 4 * batch) await Promise.all([0, 1, 2, 3].map((k) => send(i + k * batch)));
  await producer.disconnect();
  log(`produced ${MESSAGES} ${codec} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return topic;
}

/** A bare kafkajs consumer reading the whole topic (the same codecs registered): messages per second. */
export async function bareKafkajs(service: KafkaService, topic = TOPIC): Promise<number> {
  const groupId = `datapipeline-bench-${crypto.randomBytes(4).toString('hex')}`;
  const consumer = service.kafka.consumer({ groupId, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 16 * 1024 * 1024, maxWaitTimeInMs: 250 });
  const t0 = performance.now();
  let n = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      n += batch.messages.length;
      if (n >= MESSAGES) done();
    },
  });
  await finished;
  const ms = performance.now() - t0;
  await consumer.disconnect();
  await service.deleteGroups([groupId]).catch(() => undefined);
  return (MESSAGES / ms) * 1000;
}

function run(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    p.on('error', reject);
    p.on('exit', resolve);
  });
}

/** The Java console consumer from the same Kafka jars (kafka-tools is among them): messages per second (output discarded). */
async function javaConsole(bootstrap: string, service: KafkaService): Promise<number> {
  const groupId = `datapipeline-bench-console-${crypto.randomBytes(4).toString('hex')}`;
  const libs = path.join(cacheDir(), 'kafka', 'libs');
  const t0 = performance.now();
  const code = await run(
      'java',
      [
        '-cp',
        `${libs}/*`,
        'org.apache.kafka.tools.consumer.ConsoleConsumer',
        '--bootstrap-server',
        bootstrap,
        '--topic',
        TOPIC,
        '--from-beginning',
        '--max-messages',
        String(MESSAGES),
        '--group',
        groupId,
        '--consumer-property',
        'enable.auto.commit=false',
        '--timeout-ms',
        '60000',
      ],
  );
  const ms = performance.now() - t0;
  await service.deleteGroups([groupId]).catch(() => undefined);
  if (code !== 0) throw new Error(`console consumer exited with ${code}`);
  return (MESSAGES / ms) * 1000;
}

/** rss, and what the process holds: JS heap + Buffers/ArrayBuffers (after a full GC), in MB. */
function mem(): { rss: number; held: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss / 1024 / 1024, held: (m.heapUsed + m.external) / 1024 / 1024 };
}

/** Browses the whole topic through the host controller; `ms` is the time to "done" and the first page. */
async function browseToFirstPage(service: KafkaService, topic = TOPIC): Promise<{ c: MessageBrowserController; firstPage: ReturnType<MessageBrowserController['page']>; ms: number }> {
  const c = new MessageBrowserController({
    service,
    topic,
    capacity: MESSAGES,
    io: { post: () => undefined, saveExport: async () => false, copy: async () => undefined, produceAgain: async () => undefined },
  });
  const t0 = performance.now();
  await c.startBrowse({ mode: 'earliest', follow: false });
  while (c.statusData().state !== 'done') await new Promise((r) => setTimeout(r, 20));
  const firstPage = c.page(1, 0, 50);
  return { c, firstPage, ms: performance.now() - t0 };
}

/** One more browse through the host controller: messages per second to the first page. */
async function browseOnce(service: KafkaService, topic = TOPIC): Promise<number> {
  const { c, ms } = await browseToFirstPage(service, topic);
  if (c.store.size !== MESSAGES) throw new Error(`browse of ${topic} read ${c.store.size} of ${MESSAGES}`);
  await c.dispose();
  return (MESSAGES / ms) * 1000;
}

/** Compressed copies of the topic: the browser vs a bare kafkajs consumer with the same codecs, best of two each. */
async function compressedBench(service: KafkaService): Promise<BenchEntry[]> {
  const out: BenchEntry[] = [];
  const n = MESSAGES.toLocaleString('en-US');
  for (const codec of ['lz4', 'zstd'] as const) {
    const topic = await ensureTopic(service, codec);
    let bare = 0;
    let browse = 0;
    for (let round = 0; round < 2; round++) {
      bare = Math.max(bare, await bareKafkajs(service, topic));
      browse = Math.max(browse, await browseOnce(service, topic));
    }
    log(`${codec}: bare kafkajs ${Math.round(bare)} msg/s, browse ${Math.round(browse)} msg/s`);
    // ~200 MB each, produced again in ~20 s: not kept on the shared broker (long topic lists hide the e2e tests' topics)
    await service.deleteTopic(topic);
    out.push(
      entry(`kafka browse throughput, ${n} ${codec} msgs (vs bare kafkajs with the same codecs)`, browse, 'msg/s', bare),
      entry(`kafka bare kafkajs consumer, ${n} ${codec} msgs`, bare, 'msg/s'),
    );
  }
  return out;
}

/** The baseline extension (an empty webview with our CSP shell), packaged with vsce into a temp .vsix. */
function baselineVsix(): string {
  const src = path.join(__dirname, '..', 'test', 'fixtures', 'webview-baseline');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-bench-baseline-'));
  fs.cpSync(src, dir, { recursive: true });
  const out = path.join(dir, 'webview-baseline.vsix');
  const vsce = path.join(__dirname, '..', 'node_modules', '.bin', 'vsce');
  const r = spawnSync(vsce, ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '-o', out], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`packaging the baseline webview failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

/** Epoch ms of the first performance mark `name` in the frame (undefined while there is none). */
async function markAt(frame: Frame, name: string): Promise<number | undefined> {
  return frame.evaluate(`(() => { const e = performance.getEntriesByName(${JSON.stringify(name)})[0]; return e ? performance.timeOrigin + e.startTime : undefined; })()`);
}

/**
 * The same topic in the real webview (code-server + Chromium, capacity 1,000,000), in one session
 * with a baseline extension that opens an empty webview (same CSP shell, one script) the same way
 * (palette → quick pick → panel). Rounds alternate: empty panel, bare kafkajs, message browser.
 * - panel start: quick-pick click → the page's script ran (its `ready`), ours vs the empty panel;
 * - first rows: `ready` → first row drawn (performance marks in the page);
 * - 1M to Done: `ready` (the read starts then) → "Done" drawn, as msg/s, vs the bare consumer of
 *   the same rounds (connect → everything read); and the same from the quick-pick click;
 * - then DOM rows, a scroll to the middle, search typed → count, and a histogram brush → count.
 */
export async function runKafkaWebviewBench(bootstrap: string, service: KafkaService): Promise<BenchEntry[]> {
  const { VsCodeSession, datapipelineVsix } = await import('../test/e2e/lib/codeServer');
  if (!fs.existsSync(datapipelineVsix)) {
    log('datapipeline.vsix missing (npm run package): webview part skipped');
    return [];
  }
  const n = MESSAGES.toLocaleString('en-US');
  const baseline = baselineVsix();
  const s = await VsCodeSession.start({
    extensions: [datapipelineVsix, baseline],
    settings: { 'datapipeline.kafka.bootstrapServers': bootstrap, 'datapipeline.messageBrowser.capacity': MESSAGES },
  });
  const pick = async (command: string, item: string, fill: boolean) => {
    await s.runCommand(command);
    const input = s.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    if (fill) await input.fill(item);
    const row = s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: item }).first();
    await row.waitFor();
    const t0 = Date.now();
    await row.click();
    return t0;
  };
  const closeAll = async () => {
    await s.runCommand('View: Close All Editors');
    await s.page.locator('iframe.webview').first().waitFor({ state: 'detached', timeout: 30_000 }).catch(() => undefined);
  };
  const ROUNDS = 3;
  const empty: number[] = [];
  const ours: number[] = [];
  const firstRows: number[] = [];
  const toDone: number[] = [];
  const readyToDone: number[] = [];
  const bare: number[] = [];
  try {
    await s.openContainer('DataPipeline');
    let frame!: Frame;
    for (let round = 0; round < ROUNDS; round++) {
      const tb = await pick('Baseline: Open Empty Webview', 'empty-baseline', false);
      const bf = await s.webviewFrame({ containsText: 'empty', containsSelector: '#message-table', timeoutMs: 60_000 });
      await until('the empty panel ready', async () => (await markAt(bf, 'datapipeline:ready')) !== undefined, { timeoutMs: 30_000 });
      empty.push((await markAt(bf, 'datapipeline:ready'))! - tb);
      await closeAll();
      bare.push(await bareKafkajs(service));
      const t0 = await pick('DataPipeline: Open Message Browser', TOPIC, true);
      frame = await s.webviewFrame({ containsSelector: '#message-table', timeoutMs: 60_000 });
      await frame.locator('#status', { hasText: `Done · ${n} buffered` }).waitFor({ timeout: 600_000 });
      const [ready, rows, done] = await Promise.all(['ready', 'first-rows', 'done'].map((m) => markAt(frame, `datapipeline:${m}`)));
      ours.push(ready! - t0);
      firstRows.push(rows! - ready!);
      toDone.push(done! - t0);
      readyToDone.push(done! - ready!);
      log(`round ${round + 1}: empty panel ${Math.round(empty[round])} ms, ours ${Math.round(ready! - t0)} ms, first rows +${Math.round(rows! - ready!)} ms after ready, Done +${Math.round(done! - ready!)} ms after ready (${Math.round((MESSAGES / (done! - ready!)) * 1000)} msg/s), bare kafkajs ${Math.round(bare[round])} msg/s`);
      if (round < ROUNDS - 1) await closeAll();
    }
    await frame.locator('#match-count', { hasText: `${n} messages` }).waitFor({ timeout: 30_000 });
    const domRows = await frame.locator('.mt-body .mt-row').count();
    const t1 = performance.now();
    await frame.evaluate(`(() => { const v = document.querySelector('.mt-viewport'); v.scrollTop = v.scrollHeight / 2; })()`);
    await frame.locator(`.mt-row[aria-rowindex="${Math.floor(MESSAGES / 2) + 1}"][data-seq]`).waitFor({ timeout: 30_000 });
    const scroll = performance.now() - t1;
    const domRowsMiddle = await frame.locator('.mt-body .mt-row').count();
    // timed inside the page: the input event (as a paste gives) → the match count shown; the
    // search box's debounce for this buffer size is included
    const timeInPage = (action: string, until: string) =>
      frame.evaluate(`new Promise((resolve) => {
        const count = document.querySelector('#match-count');
        const t = performance.now();
        const obs = new MutationObserver(() => {
          if (${until}.test(count.textContent || '')) { obs.disconnect(); resolve(performance.now() - t); }
        });
        obs.observe(count, { childList: true, characterData: true, subtree: true });
        ${action}
      })`) as Promise<number>;
    const searches: number[] = [];
    for (const [q, count] of [['user-4242"', '200 matches'], ['"city":"Oslo"', '250,000 matches'], ['k77777', '11 matches']] as const) {
      searches.push(await timeInPage(`const i = document.querySelector('#search'); i.value = ${JSON.stringify(q)}; i.dispatchEvent(new Event('input'));`, `/^${count}$/`));
      log(`search ${q}: ${Math.round(searches[searches.length - 1])} ms in the page (host: ${await frame.locator('#match-count').getAttribute('title')})`);
    }
    await timeInPage(`const i = document.querySelector('#search'); i.value = ''; i.dispatchEvent(new Event('input'));`, `/^${n} messages$/`);
    // the brush: press at 40 % of the time axis, drag to 60 %, release → "N matches" (N < all)
    const brushes: number[] = [];
    for (let b = 0; b < 3; b++) {
      const drag = `const bars = document.querySelector('.hg-bars'); const r = bars.getBoundingClientRect(); const y = r.top + r.height / 2;
        const ev = (type, x, target) => target.dispatchEvent(new MouseEvent(type, { clientX: r.left + r.width * x, clientY: y, buttons: type === 'mouseup' ? 0 : 1, bubbles: true }));
        ev('mousedown', 0.4, bars); ev('mousemove', ${0.5 + b * 0.05}, bars); ev('mouseup', ${0.5 + b * 0.05}, window);`;
      brushes.push(await timeInPage(drag, `/^(?!${n} )[\\d,]+ match(es)?$/`));
      const shown = await frame.locator('#match-count').innerText();
      log(`brush ${b + 1}: ${Math.round(brushes[b])} ms → ${shown}`);
      await timeInPage(`document.querySelector('.hg-bars').dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));`, `/^${n} messages$/`);
    }
    await s.screenshot('kafka-bench-webview-1m');
    const best = (xs: number[]) => Math.min(...xs);
    log(`webview: DOM rows ${domRows}/${domRowsMiddle}, scroll ${Math.round(scroll)} ms`);
    return [
      entry('kafka webview: panel start, palette pick → page ready (median of 3; vs an empty webview with the same CSP shell)', median(ours), 'ms', median(empty)),
      entry(`kafka webview: first rows drawn after the page is ready (${n}-msg topic, median of 3; goal 300 ms)`, median(firstRows), 'ms', 300),
      entry(`kafka webview browse throughput, ${n} msgs, page ready → Done drawn (best of 3; vs bare kafkajs connect → all read, best of 3 in the same rounds)`, (MESSAGES / best(readyToDone)) * 1000, 'msg/s', Math.max(...bare)),
      entry(`kafka webview browse throughput, ${n} msgs, palette pick → Done drawn, panel start included (best of 3; vs bare kafkajs)`, (MESSAGES / best(toDone)) * 1000, 'msg/s', Math.max(...bare)),
      entry(`kafka webview DOM rows with ${n} buffered (goal ≤ 200)`, Math.max(domRows, domRowsMiddle), 'rows', 200),
      entry(`kafka webview scroll to row ${Math.floor(MESSAGES / 2).toLocaleString('en-US')} rendered`, scroll, 'ms'),
      entry(`kafka webview search typed → match count, ${n} buffered (median of 3, debounce included; goal 300 ms)`, median(searches), 'ms', 300),
      entry(`kafka webview histogram brush → match count, ${n} buffered (median of 3; goal 300 ms)`, median(brushes), 'ms', 300),
    ];
  } finally {
    await s.close();
    fs.rmSync(path.dirname(baseline), { recursive: true, force: true });
  }
}

export async function runKafkaBench(): Promise<BenchEntry[]> {
  const { endpoints } = await ensureNativeStack(['kafka']);
  const service = new KafkaService({ bootstrap: endpoints.kafkaBootstrap });
  const out: BenchEntry[] = [];
  try {
    await ensureTopic(service);
    const n = MESSAGES.toLocaleString('en-US');

    // the machine is shared: each reader runs twice, alternating, and its best run counts
    let bare = await bareKafkajs(service);
    log(`bare kafkajs: ${Math.round(bare)} msg/s`);

    const before = mem();
    const { c, firstPage, ms: browseMs } = await browseToFirstPage(service);
    if (firstPage.rows.length !== 50 || c.store.size !== MESSAGES) throw new Error(`browse read ${c.store.size} of ${MESSAGES}`);
    let browse = (MESSAGES / browseMs) * 1000;
    const after = mem();
    // the buffer lives in SharedArrayBuffers (shared with the search worker): not in `external`
    const held = after.held - before.held + c.store.retainedBytes / 1024 / 1024;
    const rss = after.rss - before.rss;
    log(`browse: ${Math.round(browse)} msg/s, held +${Math.round(held)} MB, rss +${Math.round(rss)} MB`);

    const queries = [
      { query: 'oslo' },
      { query: 'user-4242', caseSensitive: true },
      { query: '"amount":99\\d', regex: true },
      { query: 'k12345', fields: { key: true, value: false, headers: false } },
      { query: 'nothing-matches-this' },
    ];
    // what the user gets: the search worker, timed from the request to the result on this thread
    // (snapshot, message passing, the copy of the matches back); the same scans on this thread
    // are the baseline
    const times: number[] = [];
    const onThread: number[] = [];
    for (let round = 0; round < 3; round++)
      for (const q of queries) {
        const t0 = performance.now();
        const r = await c.view.applyFilter(q);
        if (r.error || r.cancelled) throw new Error(`search ${q.query}: ${r.error ?? 'cancelled'}`);
        times.push(performance.now() - t0);
        onThread.push(c.view.setFilter(q));
      }
    c.view.setFilter({});
    log(`search: median ${median(times).toFixed(1)} ms in the worker, ${median(onThread).toFixed(1)} ms on the host thread, over ${times.length} searches`);
    await c.dispose();

    bare = Math.max(bare, await bareKafkajs(service));
    browse = Math.max(browse, await browseOnce(service));
    log(`best of two: bare ${Math.round(bare)} msg/s, browse ${Math.round(browse)} msg/s`);

    const java = await javaConsole(endpoints.kafkaBootstrap, service).catch((e) => {
      log(`java console consumer failed: ${(e as Error).message}`);
      return NaN;
    });
    log(`java console consumer: ${Math.round(java)} msg/s`);

    out.push(
      entry(`kafka browse throughput, ${n} msgs to first page (vs bare kafkajs consumer)`, browse, 'msg/s', bare),
      entry(`kafka bare kafkajs consumer, ${n} msgs`, bare, 'msg/s'),
    );
    if (Number.isFinite(java)) out.push(entry(`kafka browse throughput vs Java console consumer, ${n} msgs`, browse, 'msg/s', java));
    if (process.env.DP_BENCH_KAFKA_CODECS !== '0') out.push(...(await compressedBench(service)));
    out.push(
      entry(`kafka browser memory growth (heap + buffers), ${n} msgs buffered (goal 400 MB)`, held, 'MB', 400),
      entry(`kafka browser rss growth, ${n} msgs buffered (goal 400 MB)`, rss, 'MB', 400),
      entry(`kafka search median over ${n} buffered msgs, search worker (goal 300 ms)`, median(times), 'ms', 300),
      entry(`kafka search median over ${n} buffered msgs, worker vs on the host thread`, median(times), 'ms', median(onThread)),
    );
    if (process.env.DP_BENCH_KAFKA_WEBVIEW !== '0') out.push(...(await runKafkaWebviewBench(endpoints.kafkaBootstrap, service)));
  } finally {
    await service.dispose();
  }
  return out;
}

if (require.main === module) runStandalone(runKafkaBench, releaseNativeStack);
