/** A native service's log: its last lines, then (following) every line appended, across rotations, until aborted. */
import * as fs from 'node:fs';
import type { LogOptions } from '../types';
import { sleep, tailLines } from './processes';

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export async function followLog(file: string, onLine: (line: string) => void, opts: LogOptions = {}): Promise<void> {
  const tail = opts.tail ?? 200;
  if (tail > 0) for (const line of tailLines(file, tail)) onLine(line);
  if (!opts.follow) return;
  let pos = fileSize(file);
  let partial = '';
  while (!opts.signal?.aborted) {
    try {
      await sleep(500, opts.signal);
    } catch {
      break;
    }
    const size = fileSize(file);
    if (size < pos) pos = 0; // rotated
    if (size === pos) continue;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size - pos, 4 * 2 ** 20));
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      pos += n;
      const lines = (partial + buf.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    } finally {
      fs.closeSync(fd);
    }
  }
}
