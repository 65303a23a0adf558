import * as vscode from 'vscode';
import { StackError } from '../services/stack/types';
import type { Logger } from '../services/util/logger';

export type CommandHandler = (...args: never[]) => unknown;

/** Error message a user can act on: what happened, then the next step when known. */
export function describeError(err: unknown): string {
  if (err instanceof StackError) {
    const where = err.service ? `${err.service}: ` : '';
    return `${where}${err.message}${err.nextStep ? ` ${err.nextStep}` : ''}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The one wrapper every command runs through: it logs, catches, and shows the error once with a
 * "Show Log" action, so no handler needs its own try/catch for the unexpected.
 */
export function wrapCommand(id: string, handler: CommandHandler, deps: { log: Logger; showLog: () => void }): (...args: unknown[]) => Promise<unknown> {
  return async (...args: unknown[]) => {
    try {
      deps.log.debug(`command ${id}`);
      return await (handler as (...a: unknown[]) => unknown)(...args);
    } catch (err) {
      if (err instanceof vscode.CancellationError) return undefined;
      deps.log.error(`${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (err instanceof StackError && err.logTail.length) {
        deps.log.error(`last log lines of ${err.service ?? 'the service'}:\n${err.logTail.join('\n')}`);
      }
      const choice = await vscode.window.showErrorMessage(`DataPipeline: ${describeError(err)}`, 'Show Log');
      if (choice === 'Show Log') deps.showLog();
      return undefined;
    }
  };
}

