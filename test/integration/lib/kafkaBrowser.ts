/** The message browser host as the webview drives it, for tests against a real broker. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KafkaService } from '../../../src/services/kafka/kafkaClient';
import type { StartForm, ToWebview } from '../../../src/protocol/messageBrowser';
import { MessageBrowserController, type BrowserHostIO } from '../../../src/webviews/messageBrowser/controller';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function uniqueTopic(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

let exportsHere: string | undefined;
/** One folder for the exports of this test process, removed when it exits. */
function exportDir(): string {
  if (!exportsHere) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-export-'));
    exportsHere = dir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return exportsHere;
}

/** The browser host with the webview side recorded (what the webview would receive); `exported()` is the last export. */
export function browser(service: KafkaService, topic: string, capacity = 100_000, more: { searchLimitMs?: number; maxBytes?: number; exportFile?: string; initial?: StartForm } = {}) {
  const posts: ToWebview[] = [];
  let exportedText = '';
  let lastExportFile = '';
  const io: BrowserHostIO = {
    post: (m) => posts.push(m),
    saveExport: async (format, exportTo) => {
      // a real file, as the panel's save dialog would give
      const file = more.exportFile ?? path.join(exportDir(), `${topic}.${format}`);
      exportedText = '';
      lastExportFile = file;
      await exportTo(file);
      exportedText = fs.readFileSync(file, 'utf8');
      return true;
    },
    copy: async () => undefined,
    produceAgain: async () => undefined,
  };
  const { exportFile: _file, ...opts } = more;
  const c = new MessageBrowserController({ service, topic, capacity, io, statusIntervalMs: 20, ...opts });
  return { c, posts, exported: () => exportedText, exportedFile: () => lastExportFile };
}
