/**
 * The Topics view on a 3-broker KRaft cluster (the native stack scaled, issue #17) in a real VS Code:
 * a topic with replication factor 3 shows it, each partition its leader, replicas and in-sync
 * replicas; with one broker stopped the topic and its partitions are marked under-replicated, and
 * once the broker is back they are healthy again.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { NativeBackend } from '../../src/services/stack/native/nativeBackend';
import { cacheDir } from '../../src/services/util/paths';
import { stackDir } from '../integration/harness';
import { VsCodeSession } from './lib/codeServer';

describe('Topics view on a 3-broker cluster: replicas, in-sync replicas, under-replicated and back', function () {
  this.timeout(15 * 60_000);
  let backend: NativeBackend;
  let state: string;
  let service: KafkaService;
  let vsc: VsCodeSession;
  const topic = 'replicated-e2e';

  before(async function () {
    this.timeout(10 * 60_000);
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cluster-e2e-'));
    backend = new NativeBackend({ stackDir, cacheDir: cacheDir(), stateDir: state, groups: ['kafka'], ports: { kafka: 26192, kafkaController: 26193 }, scale: { kafkaBrokers: 3 } });
    await backend.start();
    service = new KafkaService({ bootstrap: backend.endpoints().kafkaBootstrap });
    await service.createTopic({ topic, numPartitions: 3, replicationFactor: 3 });
    await service.produce(topic, Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    vsc = await VsCodeSession.start({ settings: { 'datapipeline.kafka.bootstrapServers': backend.endpoints().kafkaBootstrap } });
  });

  after(async () => {
    await vsc?.close();
    await service?.dispose();
    await backend?.stop().catch(() => undefined);
    backend?.dispose();
    if (state) fs.rmSync(state, { recursive: true, force: true });
  });

  const rowText = async (label: string | RegExp) => (await vsc.treeItem('Topics', label).first().innerText()).replace(/\s+/g, ' ');

  it('shows RF 3 on the topic and each partition\'s leader, replicas and in-sync replicas', async () => {
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('Topics');
    const row = vsc.treeItem('Topics', topic);
    await row.waitFor({ timeout: 60_000 });
    assert.match(await rowText(topic), /3 partitions · RF 3 · 30 msg/);
    await row.click();
    await vsc.treeItem('Topics', /^Partition 0$/).first().waitFor({ timeout: 30_000 });
    assert.match(await rowText(/^Partition 0$/), /leader \d · replicas \d,\d,\d · in sync \d,\d,\d · offsets 0–\d+/);
    assert.equal(await vsc.treeItem('Topics', /^Partition \d$/).locator('.codicon-warning').count(), 0);
  });

  it('marks the topic and its partitions under-replicated while a broker is down, and healthy once it is back', async () => {
    await backend.stopOnly(['kafka-2']);
    const row = vsc.treeItem('Topics', topic);
    // the view polls every 10 s while visible
    await vsc.page.waitForFunction(
      ([sel]) => Array.from(document.querySelectorAll(sel)).some((e) => /3 under-replicated/.test(e.textContent ?? '')),
      ['.part.sidebar .monaco-list-row[role="treeitem"]'],
      { timeout: 60_000 },
    );
    assert.equal(await row.locator('.codicon-warning').count(), 1, 'the topic row has the warning icon');
    await vsc.page.waitForFunction(
      ([sel]) => Array.from(document.querySelectorAll(sel)).filter((e) => /^Partition \d/.test(e.textContent ?? '') && /under-replicated/.test(e.textContent ?? '')).length === 3,
      ['.part.sidebar .monaco-list-row[role="treeitem"]'],
      { timeout: 60_000 },
    );
    assert.doesNotMatch(await rowText(/^Partition 0$/), /in sync [\d,]*2/, 'broker 2 is not in sync');
    await vsc.screenshot('kafka-cluster-under-replicated');
    await backend.restart('kafka-2');
    await vsc.page.waitForFunction(
      ([sel]) => Array.from(document.querySelectorAll(sel)).some((e) => /3 partitions · RF 3 · 30 msg$/.test((e.textContent ?? '').trim()) || /replicated-e2e.*3 partitions · RF 3 · 30 msg(?! ·)/.test(e.textContent ?? '')),
      ['.part.sidebar .monaco-list-row[role="treeitem"]'],
      { timeout: 120_000 },
    );
    assert.doesNotMatch(await rowText(topic), /under-replicated/);
    assert.equal(await row.locator('.codicon-warning').count(), 0);
    await vsc.screenshot('kafka-cluster-healthy-again');
  });
});
