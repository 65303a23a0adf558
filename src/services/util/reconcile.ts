/**
 * Compares a fresh listing with the one a tree view already shows, so a poll can update only the
 * rows whose data changed instead of re-rendering the whole tree (a full re-render closes an open
 * context menu and invalidates the row handles that menu commands receive).
 */
export interface ListingDiff<T> {
  /** Same keys in the same order: the rows can be updated in place. */
  sameKeys: boolean;
  /** Pairs (shown, fresh) whose signature differs; only meaningful when `sameKeys`. */
  changed: Array<[shown: T, fresh: T]>;
}

export function diffListing<T>(shown: readonly T[], fresh: readonly T[], key: (t: T) => string, signature: (t: T) => string): ListingDiff<T> {
  if (shown.length !== fresh.length) return { sameKeys: false, changed: [] };
  const changed: Array<[T, T]> = [];
  for (let i = 0; i < shown.length; i++) {
    const a = shown[i] as T;
    const b = fresh[i] as T;
    if (key(a) !== key(b)) return { sameKeys: false, changed: [] };
    if (signature(a) !== signature(b)) changed.push([a, b]);
  }
  return { sameKeys: true, changed };
}
