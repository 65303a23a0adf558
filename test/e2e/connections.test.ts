/**
 * Connections in a real VS Code (code-server + Chromium), issue #17: two Airflow servers at once (the
 * native stack's 2.8.1 and a throwaway Airflow 3.x on another port with its own password), switched
 * from the status bar: the DAGs view follows, each server's password stays its own, and a message
 * browser of the old connection closes. A read-only connection refuses a produce and a trigger with
 * the reason, and nothing reaches the broker or Airflow.
 */
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import { AirflowClient } from '../../src/services/airflow/client';
import { KafkaService } from '../../src/services/kafka/kafkaClient';
import { ensureNativeStack } from '../integration/harness';
import { startAirflow3, type Airflow3 } from '../integration/lib/airflow3';
import { freePort, startSecureBroker, type SecureBroker } from '../integration/lib/secureKafka';
import { VsCodeSession } from './lib/codeServer';
import { contextMenu } from './lib/menus';

const A3_DAG = `
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="only_on_airflow3", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["airflow3"]):
    EmptyOperator(task_id="noop")
`;

describe('Connections: switching between two Airflow servers and a read-only connection, in a real VS Code', function () {
  this.timeout(20 * 60_000);
  let vsc: VsCodeSession;
  let a3: Airflow3;
  let kafka: KafkaService;
  let localAirflow: AirflowClient;
  let secure: SecureBroker;
  const a3Password = `a3-${crypto.randomBytes(4).toString('hex')}`;
  const topic = `e2e-conn-${crypto.randomBytes(3).toString('hex')}`;

  before(async function () {
    this.timeout(20 * 60_000);
    const { endpoints } = await ensureNativeStack(['kafka', 'airflow']);
    kafka = new KafkaService({ bootstrap: endpoints.kafkaBootstrap });
    await kafka.createTopic({ topic, numPartitions: 1 });
    await kafka.produce(topic, [{ key: 'k', value: 'v' }]);
    localAirflow = new AirflowClient({ baseUrl: endpoints.airflowUrl, username: 'admin', password: 'admin' });
    secure = await startSecureBroker();
    const secureAdmin = new KafkaService({ bootstrap: `127.0.0.1:${secure.ports.internal}` });
    await secureAdmin.createTopic({ topic: 'team-orders', numPartitions: 2 });
    await secureAdmin.dispose();
    a3 = await startAirflow3({ port: await freePort(), dags: { 'only_on_airflow3.py': A3_DAG }, password: a3Password });
    vsc = await VsCodeSession.start({
      settings: {
        'datapipeline.kafka.bootstrapServers': endpoints.kafkaBootstrap,
        'datapipeline.connections': [
          { id: 'airflow3-dev', name: 'Airflow 3 dev', airflow: { url: a3.url, username: 'admin' }, kafka: { bootstrapServers: endpoints.kafkaBootstrap } },
          // the same local services, marked read-only: what a shared cluster would be
          { id: 'ro-shared', name: 'Shared (read-only)', readOnly: true, kafka: { bootstrapServers: endpoints.kafkaBootstrap }, airflow: { url: endpoints.airflowUrl, username: 'admin' } },
        ],
      },
    });
  });

  after(async () => {
    await vsc?.close();
    await a3?.stop();
    await secure?.stop();
    await kafka?.deleteTopic(topic).catch(() => undefined);
    await kafka?.dispose();
  });

  const statusItem = (name: string) => vsc.page.locator('.part.statusbar .statusbar-item', { hasText: name });

  /** Picks a connection from the status-bar item's quick pick, as a user does. */
  async function switchTo(from: string, to: string): Promise<void> {
    await statusItem(from).first().click();
    const row = vsc.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { has: vsc.page.locator('.label-name', { hasText: new RegExp(`^\\s*${to.replace(/[()]/g, '\\$&')}\\s*$`) }) });
    await row.first().click({ timeout: 10_000 });
    await statusItem(to).first().waitFor({ timeout: 10_000 });
  }

  const viewDescription = (title: string) => vsc.view(title).locator('.pane-header .description').innerText();

  it('starts on the Local stack: the status bar and the DAGs view say so, and the stack\'s DAGs show', async () => {
    await vsc.openContainer('DataPipeline');
    await vsc.expandView('DAGs');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 120_000 });
    await statusItem('Local stack').first().waitFor();
    assert.equal(await viewDescription('DAGs'), 'Local stack');
  });

  it('switching to "Airflow 3 dev" asks for its own password (nothing sent before), then shows only that server\'s DAGs', async () => {
    await switchTo('Local stack', 'Airflow 3 dev');
    // the password prompt names the connection; admin/admin of the local stack is never tried there
    const title = vsc.page.locator('.quick-input-widget .quick-input-title', { hasText: 'connection "Airflow 3 dev"' });
    await title.waitFor({ timeout: 60_000 });
    await vsc.page.locator('.quick-input-widget .quick-input-box input').fill(a3Password);
    await vsc.page.keyboard.press('Enter');
    await vsc.treeItem('DAGs', /^only_on_airflow3$/).waitFor({ timeout: 120_000 });
    assert.equal(await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).count(), 0, 'nothing of the local Airflow stays on screen');
    assert.equal(await viewDescription('DAGs'), 'Airflow 3 dev');
    await vsc.screenshot('connections-airflow3');
  });

  it('switching back shows the stack\'s DAGs with its own password, and back again needs no prompt: each server keeps its password', async () => {
    await switchTo('Airflow 3 dev', 'Local stack');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 60_000 });
    assert.equal(await vsc.treeItem('DAGs', /^only_on_airflow3$/).count(), 0);
    await switchTo('Local stack', 'Airflow 3 dev');
    await vsc.treeItem('DAGs', /^only_on_airflow3$/).waitFor({ timeout: 60_000 });
    assert.equal(await vsc.page.locator('.quick-input-widget .quick-input-title', { hasText: 'password' }).isVisible(), false, 'no password asked the second time');
    await switchTo('Airflow 3 dev', 'Local stack');
    await vsc.treeItem('DAGs', /^kafka_spark_pipeline$/).waitFor({ timeout: 60_000 });
  });

  it('Add Connection: the form tests a SASL_SSL connection (a wrong password is named), saves it, and the Topics view shows that cluster', async () => {
    const s = vsc;
    await s.runCommand('DataPipeline: Add Connection…');
    const form = await s.webviewFrame({ containsSelector: '#f-bootstrapServers', timeoutMs: 30_000 });
    await form.locator('#f-name').fill('Team SASL');
    await form.locator('#f-bootstrapServers').fill(`127.0.0.1:${secure.ports.saslSsl}`);
    await form.locator('#f-security').selectOption('SASL_SSL');
    await form.locator('#f-saslMechanism').selectOption('SCRAM-SHA-512');
    await form.locator('#f-saslUsername').fill(secure.users.scram.name);
    await form.locator('#f-kafkaSecret').fill('not-the-password');
    await form.locator('#f-caFile').fill(secure.caFile);
    // an address on this machine: writable by default, so no confirmation is asked below
    await form.locator('#test').click();
    await form.locator('#results li.fail', { hasText: 'rejected SCRAM-SHA-512 login for "alice" (wrong user or password)' }).waitFor({ timeout: 30_000 });
    await form.locator('#f-kafkaSecret').fill(secure.users.scram.password);
    await form.locator('#test').click();
    await form.locator('#results li.ok', { hasText: /Kafka: 1 broker, \d+ topics? \(SASL_SSL SCRAM-SHA-512\)/ }).waitFor({ timeout: 30_000 });
    await s.screenshot('connections-form-tested');
    await form.locator('#save').click();
    await statusItem('Team SASL').first().waitFor({ timeout: 15_000 });
    await s.expandView('Topics');
    await s.treeItem('Topics', 'team-orders').waitFor({ timeout: 60_000 });
    assert.equal(await s.treeItem('Topics', topic).count(), 0, 'the local broker\'s topics are gone from the view');
    assert.equal(await viewDescription('Topics'), 'Team SASL');
    await s.screenshot('connections-sasl-topics');
    await switchTo('Team SASL', 'Local stack');
    await s.treeItem('Topics', topic).waitFor({ timeout: 60_000 });
  });

  it('a read-only connection refuses Produce Message and Trigger DAG with the reason, and nothing is sent', async () => {
    const s = vsc;
    // a message browser open on the Local stack closes when the connection switches
    await s.runCommand('DataPipeline: Open Message Browser');
    const pick = s.page.locator('.quick-input-widget .quick-input-box input[placeholder="Topic to browse"]');
    await pick.fill(topic);
    await s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: topic }).first().click();
    const browserTab = s.page.locator('.tabs-container .tab', { hasText: `Messages: ${topic}` });
    await browserTab.waitFor({ timeout: 30_000 });

    await switchTo('Local stack', 'Shared (read-only)');
    await browserTab.waitFor({ state: 'detached', timeout: 15_000 });
    // a named connection gets no password meant for another: even at the stack's own URL it asks for its own
    await s.page.locator('.quick-input-widget .quick-input-title', { hasText: 'connection "Shared (read-only)"' }).waitFor({ timeout: 60_000 });
    await s.page.locator('.quick-input-widget .quick-input-box input').fill('admin');
    await s.page.keyboard.press('Enter');
    assert.equal(await viewDescription('Spark Applications'), 'Shared (read-only) · read-only', 'every view says which connection it shows');
    await s.expandView('Topics');
    const row = s.treeItem('Topics', topic);
    await row.waitFor({ timeout: 60_000 });
    assert.equal(await viewDescription('Topics'), 'Shared (read-only) · read-only');
    const before = (await kafka.watermarks(topic)).reduce((n, w) => n + w.high, 0);

    await contextMenu(s, row, 'Produce Message…', () =>
      s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: `"Shared (read-only)" is a read-only connection: Produce to "${topic}" was refused` }).waitFor({ timeout: 15_000 }),
    );
    assert.equal(await s.page.locator('.tabs-container .tab', { hasText: 'Untitled' }).count(), 0, 'no produce document was opened');
    await s.screenshot('connections-read-only-produce');

    const runsBefore = (await localAirflow.listDagRuns('hello_spark_cluster')).length;
    const dag = s.treeItem('DAGs', /^hello_spark_cluster$/);
    await dag.waitFor({ timeout: 60_000 });
    await contextMenu(s, dag, /^Trigger DAG$/, () =>
      s.page.locator('.notifications-toasts .notification-list-item-message', { hasText: `"Shared (read-only)" is a read-only connection: Trigger DAG "hello_spark_cluster" was refused and nothing was sent` }).waitFor({ timeout: 15_000 }),
    );
    await s.screenshot('connections-read-only-trigger');
    assert.equal((await kafka.watermarks(topic)).reduce((n, w) => n + w.high, 0), before, 'nothing was produced');
    // refused before any request: no run was made
    assert.equal((await localAirflow.listDagRuns('hello_spark_cluster')).length, runsBefore, 'no run was triggered');
  });
});
