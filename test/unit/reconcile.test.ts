import { strict as assert } from 'node:assert';
import { TreeReconciler, type TreeShape } from '../../src/services/util/reconcile';

/** A tree like the Topics view's: topics (expandable) with partitions, and a groups section. */
type Node = { kind: 'topic'; name: string; count: number } | { kind: 'partition'; topic: string; p: number; high: number } | { kind: 'groups'; n: number };

const shape: TreeShape<Node> = {
  key: (n) => (n.kind === 'topic' ? `topic:${n.name}` : n.kind === 'partition' ? `p:${n.topic}:${n.p}` : 'groups'),
  hasChildren: (n) => n.kind === 'topic',
};

/** A source the test changes between polls, counting reads per parent. */
class Source {
  topics = new Map<string, number[]>([
    ['orders', [10, 20]],
    ['users', [5]],
  ]);
  reads: string[] = [];
  failFor?: string;
  read = (parent: Node | undefined): Node[] => {
    this.reads.push(parent ? shape.key(parent) : 'root');
    if (!parent) {
      return [...[...this.topics].map(([name, parts]): Node => ({ kind: 'topic', name, count: parts.reduce((a, b) => a + b, 0) })), { kind: 'groups', n: 0 }];
    }
    if (parent.kind !== 'topic') return [];
    if (this.failFor === parent.name) throw new Error('broker went away');
    return (this.topics.get(parent.name) ?? []).map((high, p): Node => ({ kind: 'partition', topic: parent.name, p, high }));
  };
}

/** What VS Code does: reads the root, then the children of every row it shows expanded. */
function show(r: TreeReconciler<Node>, src: Source, expand: string[] = []): { root: Node[]; children: Map<string, Node[]> } {
  const root = r.adopt(undefined, src.read(undefined));
  const children = new Map<string, Node[]>();
  for (const n of root) if (n.kind === 'topic' && expand.includes(n.name)) children.set(n.name, r.adopt(n, src.read(n)));
  return { root, children };
}

describe('tree refresh: a poll re-renders only what changed, keeping the rows VS Code holds', () => {
  it('nothing changed: nothing is re-rendered', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    show(r, src, ['orders']);
    assert.deepEqual(await r.update(src.read), { full: false, changed: [] });
  });

  it('a message count changed: only that topic row, the same object, now with the new count', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root } = show(r, src);
    const orders = root[0]!;
    src.topics.set('orders', [10, 25]);
    const result = await r.update(src.read);
    assert.equal(result.full, false);
    assert.deepEqual(result.full ? [] : result.changed, [orders], 'only the orders row');
    assert.ok(!result.full && result.changed[0] === orders, 'the very object VS Code holds (a menu command on it gets live data)');
    assert.equal((orders as { count: number }).count, 35);
  });

  it('a partition of an expanded topic moved on: that partition row changes, not its topic’s siblings', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { children } = show(r, src, ['orders']);
    src.topics.set('orders', [10, 20]);
    const p1 = children.get('orders')![1]!;
    // the count stays the same (20 + 10 = 10 + 20) while one partition's end offset moved
    src.topics.set('orders', [20, 10]);
    const result = await r.update(src.read);
    assert.ok(!result.full);
    assert.ok(result.changed.includes(p1) && result.changed.length === 2, 'both partition rows, nothing else');
    assert.equal((p1 as { high: number }).high, 10);
  });

  it('a topic created: the root changes shape, so the whole tree is re-read', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    show(r, src);
    src.topics.set('payments', [1]);
    assert.deepEqual(await r.update(src.read), { full: true });
  });

  it('a partition added under an open topic: that topic is re-rendered (VS Code re-reads its children), not the tree', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root } = show(r, src, ['users']);
    const users = root[1]!;
    src.topics.set('users', [3, 2]); // same total: the topic row itself is unchanged
    const result = await r.update(src.read);
    assert.ok(!result.full);
    assert.deepEqual(result.changed, [users]);
  });

  it('after a full re-render, VS Code\u2019s re-reads of the root and the open topics are answered from the poll\u2019s reads (a menu\u2019s row comes back at once), once', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root } = show(r, src, ['orders']);
    src.topics.set('payments', [1]);
    src.reads = [];
    assert.deepEqual(await r.update(src.read, 1000), { full: true });
    assert.deepEqual(src.reads, ['root', 'topic:orders'], 'the poll read the root and the open topic');
    const freshRoot = r.takePrefetched(undefined, 1001)!;
    assert.deepEqual(freshRoot.map(shape.key), ['topic:orders', 'topic:users', 'topic:payments', 'groups']);
    assert.deepEqual(r.takePrefetched(root[0], 1001)!.map(shape.key), ['p:orders:0', 'p:orders:1']);
    assert.equal(r.takePrefetched(root[0], 1001), undefined, 'given once');
    assert.equal(r.takePrefetched(root[1], 1001), undefined, 'a collapsed topic was not read');
  });

  it('rows added under an open topic: its re-read is answered from the poll; what is not taken soon is read again', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root } = show(r, src, ['users']);
    src.topics.set('users', [3, 2]);
    await r.update(src.read, 1000);
    assert.deepEqual(r.takePrefetched(root[1], 2000)!.map(shape.key), ['p:users:0', 'p:users:1']);
    src.topics.set('users', [3, 2, 1]);
    await r.update(src.read, 10_000);
    assert.equal(r.takePrefetched(root[1], 20_000), undefined, 'too old: the caller reads again');
  });

  it('children of a collapsed topic are not read by a poll; of an expanded one they are', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root } = show(r, src, ['orders', 'users']);
    r.setExpanded(root[1]!, false);
    src.reads = [];
    await r.update(src.read);
    assert.deepEqual(src.reads, ['root', 'topic:orders']);
  });

  it('a topic whose row changed is not read again for its children (VS Code asks for them when it re-renders it)', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    show(r, src, ['orders']);
    src.topics.set('orders', [11, 20]);
    src.reads = [];
    await r.update(src.read);
    assert.deepEqual(src.reads, ['root']);
  });

  it('a failed read of one open topic re-renders that topic only; a failed root read throws (the view shows its error rows)', async () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root } = show(r, src, ['orders', 'users']);
    src.failFor = 'users';
    const result = await r.update(src.read);
    assert.ok(!result.full);
    assert.deepEqual(result.changed, [root[1]]);
    await assert.rejects(
      r.update(() => {
        throw new Error('unreachable');
      }),
      /unreachable/,
    );
  });

  it('getParent: each shown row knows its parent (so reveal() works), a root row has none', () => {
    const src = new Source();
    const r = new TreeReconciler(shape);
    const { root, children } = show(r, src, ['orders']);
    assert.equal(r.parentOf(children.get('orders')![0]!), root[0]);
    assert.equal(r.parentOf(root[0]!), undefined);
  });

  it('a first read after clear() is a full one; a ticking signature re-renders the row as time passes', async () => {
    const ticking = new TreeReconciler<Node>({ ...shape, signature: (n, now) => JSON.stringify(n) + Math.floor(now / 1000) });
    const src = new Source();
    const { root } = show(ticking, src);
    const r1 = await ticking.update(src.read, 5_000);
    const r2 = await ticking.update(src.read, 5_400);
    const r3 = await ticking.update(src.read, 6_100);
    assert.ok(!r1.full && !r2.full && !r3.full);
    assert.equal(r2.changed.length, 0, 'within the same second: nothing');
    assert.deepEqual(r3.changed, root, 'a second later: every ticking row');
    ticking.clear();
    assert.deepEqual(await ticking.update(src.read), { full: true });
  });
});
