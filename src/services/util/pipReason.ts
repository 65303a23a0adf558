/** The lines of pip's output that say why it refused (its ERROR lines and the conflict explanation), for a message. */
export function pipReason(out: string): string {
  const lines = out.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const useful = lines.filter((l) => /^ERROR:|conflict|depends on|requested|constraint|No matching distribution|Could not find a version/i.test(l) && !/dealing-with-dependency-conflicts/.test(l));
  return (useful.length ? useful : lines.slice(-6)).slice(0, 8).join('\n');
}
