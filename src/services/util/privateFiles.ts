/** Files and folders only their owner may read: the stack's state and secrets. No `vscode` import. */
import * as fs from 'node:fs';

/**
 * The state folder (run records, logs, Kafka's data, secrets) is the user's alone: 0700, set every
 * time (a folder made by an older version, or under a loose umask, is tightened).
 */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((fs.statSync(dir).mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
}

/** Writes `text` to `file` atomically (a temp file renamed over it: a crash leaves the old file or the new, never half) with mode 0600. */
export function writePrivateFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
