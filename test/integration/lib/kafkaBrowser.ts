/** The message browser host as the webview drives it, for tests against a real broker. */
import * as crypto from 'node:crypto';
import type { KafkaService } from '../../../src/services/kafka/kafkaClient';
import type { ToWebview } from '../../../src/protocol/messageBrowser';
import { MessageBrowserController, type BrowserHostIO } from '../../../src/webviews/messageBrowser/controller';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function uniqueTopic(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

/** The browser host with the webview side recorded (what the webview would receive); `exported()` is the last export. */
export function browser(service: KafkaService, topic: string, capacity = 100_000) {
  const posts: ToWebview[] = [];
  let exportedText = '';
  const io: BrowserHostIO = {
    post: (m) => posts.push(m),
    saveExport: async (_format, write) => {
      exportedText = '';
      await write(async (chunk) => {
        exportedText += chunk;
      });
      return true;
    },
    copy: async () => undefined,
    produceAgain: async () => undefined,
  };
  const c = new MessageBrowserController({ service, topic, capacity, io, statusIntervalMs: 20 });
  return { c, posts, exported: () => exportedText };
}
