/**
 * A requirements file as pip reads it, for keying what is built from it (the native layer, the
 * Docker images): comments, blank lines and the spaces around a line do not count, so saving a
 * comment installs nothing. A URL's "#egg=" fragment stays (pip's comments start the line or follow
 * whitespace). No `vscode`.
 */
export function requirementsKey(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '')
    .join('\n');
}
