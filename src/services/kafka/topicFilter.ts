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

/** Kafka's own topics (offsets, transactions, metadata) and the schema registry's: shown on request, never deleted or written from the views. */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__') || name === '_schemas' || name.startsWith('_confluent');
}

/** The Topics view's contextValue of a topic row (package.json menus offer Delete and Produce on `topic` only). */
export function topicContextValue(name: string): 'topic' | 'topic.internal' {
  return isInternalTopic(name) ? 'topic.internal' : 'topic';
}
