import * as vscode from 'vscode';
import type { Logger } from './services/util/logger';

/** The one "DataPipeline" LogOutputChannel, and named child loggers writing into it. */
export class Logging implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel('DataPipeline', { log: true });
  }

  logger(name: string): Logger {
    const c = this.channel;
    const fmt = (m: string | Error) => `[${name}] ${m instanceof Error ? (m.stack ?? m.message) : m}`;
    return {
      trace: (m, ...a) => c.trace(fmt(m), ...a),
      debug: (m, ...a) => c.debug(fmt(m), ...a),
      info: (m, ...a) => c.info(fmt(m), ...a),
      warn: (m, ...a) => c.warn(fmt(m), ...a),
      error: (m, ...a) => c.error(fmt(m), ...a),
    };
  }

  dispose(): void {
    this.channel.dispose();
  }
}
