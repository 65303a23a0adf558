/**
 * Text from a server (a Spark application's name and user, a URL) shown in a MarkdownString:
 * every character Markdown gives a meaning to is escaped, so a name like `![x](http://…)` or
 * `**bold** [link](command:…)` shows as the text it is, with no image fetched and no link.
 */
export function escapeMarkdown(text: string): string {
  // ':' and '@' too: GFM turns a bare http://… or a@b.c into a link otherwise
  return String(text).replace(/[\\`*_{}[\]()#+\-.!|<>~=&"':@]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}
