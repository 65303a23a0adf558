/**
 * How every DataPipeline tree refreshes: a poll or an event re-reads what is shown and updates only
 * the rows whose data changed, keeping the node objects VS Code already holds. A full re-render on
 * every poll closed open context menus and handed menu commands a stale row; this keeps both.
 * No `vscode` import: the views drive it (src/views/base.ts), the unit tests drive it directly.
 */
/** What a tree tells the reconciler about its rows. */
export interface TreeShape<T> {
  /** Identity of a row, unique among its siblings (a parent's key is unique in the whole tree). */
  key(node: T): string;
  /** Everything the row shows (at `now`, for rows with a ticking duration): equal signatures need no re-render. */
  signature?(node: T, now: number): string;
  /** Whether the row can be expanded (its children are re-read by a poll while it is open). */
  hasChildren(node: T): boolean;
}

/** The outcome of one poll. */
export type UpdateResult<T> =
  /** the root's rows were added, removed or reordered: re-read the whole tree */
  | { full: true }
  /** these shown rows changed (re-render them; VS Code asks an expanded one for its children again) */
  | { full: false; changed: T[] };

/** Reads a parent's children (`undefined`: the root). Throws when the source is unreachable. */
export type ReadChildren<T> = (parent: T | undefined) => Promise<T[]> | T[];

export class TreeReconciler<T extends object> {
  /** the root rows and each expanded parent's children, as last handed to VS Code (stable objects) */
  private shownRoot?: T[];
  private readonly shownChildren = new Map<string, T[]>();
  private readonly parents = new Map<string, T>();
  private readonly parentKeyOf = new Map<string, string>();
  private readonly parentOfNode = new WeakMap<T, T>();
  private readonly expanded = new Set<string>();
  /** the signature each row had when VS Code last rendered it (a ticking duration differs later) */
  private readonly rendered = new WeakMap<T, string>();
  /**
   * Children a poll has just read for rows it reports changed (key '' = the root): VS Code asks for
   * them again at once, and answering from here keeps the time it holds no handle for them (a
   * context menu's command gets no row then) to the round trip instead of a network read.
   */
  private readonly prefetched = new Map<string, { rows: T[]; at: number }>();

  constructor(private readonly shape: TreeShape<T>) {}

  private sig(n: T, now: number): string {
    return this.shape.signature ? this.shape.signature(n, now) : JSON.stringify(n);
  }

  /**
   * Records what VS Code is about to show under `parent` (`undefined`: the root), reusing the node
   * object already shown for each key (its data updated), so handles stay valid. Returns the rows to hand over.
   */
  adopt(parent: T | undefined, fresh: T[], now: number = Date.now()): T[] {
    const parentKey = parent === undefined ? undefined : this.shape.key(parent);
    if (parentKey !== undefined) this.expanded.add(parentKey); // asked for its children: it is expanded
    const previous = parentKey !== undefined ? this.shownChildren.get(parentKey) : this.shownRoot;
    const byKey = new Map((previous ?? []).map((n) => [this.shape.key(n), n]));
    const out = fresh.map((f) => {
      const p = byKey.get(this.shape.key(f));
      if (p && sameKind(p, f)) {
        replaceData(p, f);
        return p;
      }
      return f;
    });
    const kept = new Set(out.map((n) => this.shape.key(n)));
    for (const [k, n] of byKey) if (!kept.has(k) && this.shape.hasChildren(n)) this.forget(k);
    for (const n of out) {
      this.rendered.set(n, this.sig(n, now));
      if (parent !== undefined) this.parentOfNode.set(n, parent);
      if (!this.shape.hasChildren(n)) continue;
      const k = this.shape.key(n);
      this.parents.set(k, n);
      if (parentKey !== undefined) this.parentKeyOf.set(k, parentKey);
      else this.parentKeyOf.delete(k);
    }
    if (parentKey !== undefined) this.shownChildren.set(parentKey, out);
    else this.shownRoot = out;
    return out;
  }

  /** The row a shown row sits under (TreeDataProvider.getParent, so reveal() works). */
  parentOf(node: T): T | undefined {
    return this.parentOfNode.get(node);
  }

  /** VS Code reports expand/collapse; only open rows are re-read by a poll. */
  setExpanded(node: T, expanded: boolean): void {
    const k = this.shape.key(node);
    if (expanded) this.expanded.add(k);
    else this.expanded.delete(k);
  }

  /** Forgets everything shown (the next read is a first read). */
  clear(): void {
    this.shownRoot = undefined;
    this.shownChildren.clear();
    this.parents.clear();
    this.parentKeyOf.clear();
    this.expanded.clear();
  }

  /**
   * One poll: re-reads the root and every open parent, copies fresh data into the shown rows whose
   * signature changed and reports them. Rows added, removed or reordered under an open parent make
   * that parent changed (VS Code re-reads its children); at the root they make the result full.
   */
  async update(read: ReadChildren<T>, now: number = Date.now()): Promise<UpdateResult<T>> {
    this.prefetched.clear();
    const root = this.shownRoot;
    if (!root) return { full: true };
    const freshRoot = await read(undefined);
    const changed = new Set<T>();
    if (!this.inPlace(root, freshRoot, now, changed)) {
      // the whole tree re-renders: read every open parent now, so VS Code's re-reads are answered at once
      this.prefetched.set('', { rows: freshRoot, at: now });
      for (const [key] of [...this.shownChildren]) {
        const parent = this.parents.get(key);
        if (!parent || !this.isOpen(key)) continue;
        try {
          this.prefetched.set(key, { rows: await read(parent), at: now });
        } catch {
          // read again when asked: its children show the error then
        }
      }
      return { full: true };
    }
    for (const [key, children] of [...this.shownChildren]) {
      const parent = this.parents.get(key);
      // a row re-rendered is asked for its children by VS Code anyway
      if (!parent || !this.isOpen(key) || changed.has(parent) || this.ancestorIn(key, changed)) continue;
      let fresh: T[];
      try {
        fresh = await read(parent);
      } catch {
        changed.add(parent); // its children show the error when VS Code re-reads them
        continue;
      }
      if (!this.inPlace(children, fresh, now, changed)) {
        changed.add(parent);
        this.prefetched.set(key, { rows: fresh, at: now });
      }
    }
    return { full: false, changed: [...changed] };
  }

  /** The children the last poll read for `parent` (undefined: none, or older than `maxAgeMs`); each is given once. */
  takePrefetched(parent: T | undefined, now: number = Date.now(), maxAgeMs = 5000): T[] | undefined {
    const key = parent === undefined ? '' : this.shape.key(parent);
    const hit = this.prefetched.get(key);
    if (!hit) return undefined;
    this.prefetched.delete(key);
    return now - hit.at <= maxAgeMs ? hit.rows : undefined;
  }

  private inPlace(shown: T[], fresh: T[], now: number, changed: Set<T>): boolean {
    if (shown.length !== fresh.length) return false;
    for (let i = 0; i < shown.length; i++) if (this.shape.key(shown[i]!) !== this.shape.key(fresh[i]!)) return false;
    for (let i = 0; i < shown.length; i++) {
      const s = shown[i]!;
      const sig = this.sig(fresh[i]!, now);
      if (this.rendered.get(s) === sig) continue;
      replaceData(s, fresh[i]!);
      this.rendered.set(s, sig);
      changed.add(s);
    }
    return true;
  }

  /** expanded, and every ancestor expanded too (rows under a collapsed parent are not polled) */
  private isOpen(key: string): boolean {
    for (let k: string | undefined = key; k !== undefined; k = this.parentKeyOf.get(k)) if (!this.expanded.has(k)) return false;
    return true;
  }

  private ancestorIn(key: string, set: Set<T>): boolean {
    for (let k = this.parentKeyOf.get(key); k !== undefined; k = this.parentKeyOf.get(k)) {
      const n = this.parents.get(k);
      if (n && set.has(n)) return true;
    }
    return false;
  }

  private forget(key: string): void {
    for (const c of this.shownChildren.get(key) ?? []) if (this.shape.hasChildren(c)) this.forget(this.shape.key(c));
    this.shownChildren.delete(key);
    this.parents.delete(key);
    this.parentKeyOf.delete(key);
    this.expanded.delete(key);
  }
}

function sameKind(a: object, b: object): boolean {
  return (a as { kind?: unknown }).kind === (b as { kind?: unknown }).kind;
}

/** The shown object takes the fresh one's data (fields the fresh one lacks are dropped). */
function replaceData(target: object, source: object): void {
  for (const k of Object.keys(target)) if (!(k in source)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, source);
}
