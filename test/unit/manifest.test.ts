import * as assert from 'node:assert/strict';
import * as path from 'node:path';

interface Command { command: string; title: string; category?: string; icon?: string }
interface MenuItem { command: string; when?: string; group?: string }
const pkg = require(path.resolve(__dirname, '../../package.json')) as {
  name: string; displayName: string; main: string; activationEvents: string[];
  contributes: {
    commands: Command[];
    menus: Record<string, MenuItem[]>;
    views: Record<string, Array<{ id: string; name: string }>>;
    viewsContainers: { activitybar: Array<{ id: string; title: string; icon: string }> };
    viewsWelcome: Array<{ view: string; contents: string; when?: string }>;
    configuration: { properties: Record<string, { default?: unknown; description?: string }> };
  };
};
const c = pkg.contributes;

describe('extension manifest', () => {
  it('names the extension and its activity-bar container', () => {
    assert.equal(pkg.name, 'datapipeline');
    assert.equal(pkg.displayName, 'DataPipeline');
    assert.deepEqual(c.viewsContainers.activitybar.map((v) => v.title), ['DataPipeline']);
  });

  it('has the four views in order, each with a Start Stack welcome while the stack is down', () => {
    assert.deepEqual(c.views.datapipeline.map((v) => v.name), ['Stack', 'DAGs', 'Topics', 'Spark Applications']);
    for (const view of c.views.datapipeline) {
      const welcome = c.viewsWelcome.find((w) => w.view === view.id);
      assert.ok(welcome, `${view.id} has welcome content`);
      assert.match(welcome.contents, /\[Start Stack\]\(command:datapipeline\.stack\.start\)/);
      assert.equal(welcome.when, '!datapipeline.stackRunning');
    }
  });

  it('gives every command the DataPipeline category and a codicon', () => {
    for (const cmd of c.commands) {
      assert.equal(cmd.category, 'DataPipeline', cmd.command);
      assert.match(cmd.icon ?? '', /^\$\([a-z-~]+\)$/, cmd.command);
    }
  });

  it('only references declared commands in menus', () => {
    const declared = new Set(c.commands.map((x) => x.command));
    for (const [menu, items] of Object.entries(c.menus)) {
      for (const item of items) assert.ok(declared.has(item.command), `${menu}: ${item.command}`);
    }
  });

  it('hides item-only commands (used in item menus only) from the command palette', () => {
    const palette = new Map(c.menus.commandPalette.map((m) => [m.command, m.when]));
    const itemOnly = new Set(c.menus['view/item/context'].map((m) => m.command));
    const alsoElsewhere = new Set(
      Object.entries(c.menus)
        .filter(([k]) => k !== 'view/item/context' && k !== 'commandPalette' && k !== 'view/title')
        .flatMap(([, items]) => items.map((i) => i.command)),
    );
    for (const id of itemOnly) {
      // these ask for their target when run from the palette (keyboard access)
      if (alsoElsewhere.has(id) || ['datapipeline.topics.openMessageBrowser', 'datapipeline.topics.produce', 'datapipeline.spark.killApp', 'datapipeline.dags.openDagFile', 'datapipeline.outputViewer.open', 'datapipeline.lineage.show', 'datapipeline.dags.addAirflowObject', 'datapipeline.dags.runTask', 'datapipeline.dags.testDag', 'datapipeline.dags.debugTask'].includes(id)) continue;
      assert.equal(palette.get(id), 'false', `${id} is hidden from the palette`);
    }
    for (const id of ['datapipeline.stack.start', 'datapipeline.dags.triggerStreaming', 'datapipeline.spark.submit', 'datapipeline.spark.killApp', 'datapipeline.dags.openDagFile', 'datapipeline.dags.runTask', 'datapipeline.dags.testDag', 'datapipeline.dags.debugTask']) {
      assert.ok(!palette.has(id), `${id} stays in the palette`);
    }
  });

  it('offers Submit Spark Job on Python files in the explorer and the editor', () => {
    for (const menu of ['explorer/context', 'editor/title', 'editor/context']) {
      const item = c.menus[menu].find((m) => m.command === 'datapipeline.spark.submit');
      assert.ok(item, menu);
      // By extension too: without a Python language extension, .py files have no language id.
      assert.equal(item.when, 'resourceExtname == .py || resourceLangId == python');
    }
  });

  it('declares every setting with a default and a description', () => {
    const expected = [
      'datapipeline.stack.backend', 'datapipeline.kafka.bootstrapServers', 'datapipeline.spark.masterUrl',
      'datapipeline.spark.uiUrl', 'datapipeline.airflow.url', 'datapipeline.airflow.username',
      'datapipeline.docker.composeCommand', 'datapipeline.messageBrowser.capacity',
    ];
    for (const key of expected) {
      const p = c.configuration.properties[key];
      assert.ok(p, key);
      assert.notEqual(p.default, undefined, key);
      assert.ok(p.description, key);
    }
    assert.ok(!Object.keys(c.configuration.properties).some((k) => /password/i.test(k)), 'no password setting (SecretStorage)');
  });

  it('a workspace cannot name a program or a trusted file: those settings are machine-scoped, and Restricted Mode is declared', () => {
    const props = c.configuration.properties as Record<string, { scope?: string }>;
    for (const key of ['datapipeline.docker.composeCommand', 'datapipeline.docker.extraCaFile']) assert.equal(props[key].scope, 'machine', key);
    for (const key of ['datapipeline.connections', 'datapipeline.localStack.readOnly']) assert.equal(props[key].scope, 'application', key);
    const trust = (pkg as { capabilities?: { untrustedWorkspaces?: { supported: unknown; restrictedConfigurations?: string[]; description?: string } } }).capabilities?.untrustedWorkspaces;
    assert.equal(trust?.supported, 'limited');
    assert.ok(trust?.description);
    for (const key of ['datapipeline.kafka.bootstrapServers', 'datapipeline.airflow.url', 'datapipeline.spark.masterUrl', 'datapipeline.spark.uiUrl', 'datapipeline.stack.backend']) {
      assert.ok(trust?.restrictedConfigurations?.includes(key), key);
      assert.ok(props[key], `${key} is a setting`);
    }
  });

  it('activates lazily: no "*" and no onStartupFinished', () => {
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.ok(!pkg.activationEvents.includes('onStartupFinished'));
  });

  it('the activation shell creates every declared view, imports only vscode, and every command a feature registers is declared (so the shell stubs it)', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const src = path.resolve(__dirname, '../../src');
    const shell = fs.readFileSync(path.join(src, 'extension.ts'), 'utf8');
    for (const view of c.views.datapipeline) assert.match(shell, new RegExp(`id: '${view.id.replace('.', '\\.')}'`), `${view.id} is in the shell's VIEWS`);
    const imports = [...shell.matchAll(/^import (type )?.* from '([^']+)';$/gm)].filter((m) => !m[1]).map((m) => m[2]);
    assert.deepEqual(imports, ['vscode'], 'the shell loads nothing else at activation');
    const declared = new Set(c.commands.map((x) => x.command));
    for (const file of fs.readdirSync(path.join(src, 'commands'))) {
      const text = fs.readFileSync(path.join(src, 'commands', file), 'utf8');
      for (const m of text.matchAll(/registerCommand\(\s*'([^']+)'/g)) assert.ok(declared.has(m[1]!), `${m[1]} (${file}) is declared in package.json`);
    }
  });
  it('every inline row button is in the row’s context menu too (right-click, or Shift+F10 from the keyboard)', () => {
    const items = c.menus['view/item/context'];
    for (const inline of items.filter((m) => m.group?.startsWith('inline'))) {
      const inMenu = items.some((m) => m.command === inline.command && m.when === inline.when && !m.group?.startsWith('inline'));
      assert.ok(inMenu, `${inline.command} (${inline.when}) is only an inline button`);
    }
  });

  it('offers Delete Topic and Produce Message on a topic row but not on an internal topic’s (Browse and Copy Name on both)', () => {
    const { topicContextValue } = require('../../src/services/kafka/topicFilter') as typeof import('../../src/services/kafka/topicFilter');
    /** the item-menu commands VS Code shows for a row of `view` with this contextValue */
    const offered = (view: string, contextValue: string): string[] =>
      c.menus['view/item/context']
        .filter((m) => whenHolds(m.when ?? '', { view, viewItem: contextValue }))
        .map((m) => m.command)
        .filter((id, i, all) => all.indexOf(id) === i) // an inline button is in the menu too
        .sort();
    const onTopic = offered('datapipeline.topics', topicContextValue('orders'));
    const onInternal = offered('datapipeline.topics', topicContextValue('__consumer_offsets'));
    assert.ok(onTopic.includes('datapipeline.topics.delete') && onTopic.includes('datapipeline.topics.produce'), onTopic.join(', '));
    assert.ok(!onInternal.includes('datapipeline.topics.delete'), `Delete on an internal topic: ${onInternal.join(', ')}`);
    assert.ok(!onInternal.includes('datapipeline.topics.produce'), `Produce on an internal topic: ${onInternal.join(', ')}`);
    assert.deepEqual(onInternal, ['datapipeline.topics.copyName', 'datapipeline.topics.openMessageBrowser']);
  });
});

/** Evaluates the `a && b` when-clauses the item menus use: `key == value` and `key =~ /regex/`. */
function whenHolds(when: string, context: Record<string, string>): boolean {
  return when.split('&&').every((term) => {
    const eq = /^\s*(\w+) == (\S+)\s*$/.exec(term);
    if (eq) return context[eq[1]!] === eq[2];
    const re = /^\s*(\w+) =~ \/(.*)\/\s*$/.exec(term);
    if (re) return new RegExp(re[2]!).test(context[re[1]!] ?? '');
    throw new Error(`when-clause term not understood by this test: ${term}`);
  });
}
