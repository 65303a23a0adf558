/** Topics view helpers (pure). */

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Does a topic name match the filter text (case-insensitive substring, `*` wildcard)? */
export function matchesTopicFilter(name: string, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  if (!f.includes('*')) return name.toLowerCase().includes(f);
  const re = new RegExp(`^${f.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name.toLowerCase());
}
