/**
 * Entry point for other features (e.g. the Airflow output viewer). Loads the panel and kafkajs
 * on first use so activation stays light.
 */
import type { FeatureContext } from '../../featureContext';
import type { MessageBrowserDeps, MessageBrowserPanel, OpenMessageBrowserOptions } from './panel';

export type { OpenMessageBrowserOptions } from './panel';
export type { StartForm } from '../../protocol/messageBrowser';

/** Opens (or reveals) the message browser on `topic`, e.g. `{ topic: 'output-topic', start: { mode: 'earliest', follow: true }, title: 'Output: run 42' }`. */
export async function openMessageBrowser(
  ctx: FeatureContext,
  opts: OpenMessageBrowserOptions,
  produceAgain?: MessageBrowserDeps['produceAgain'],
): Promise<MessageBrowserPanel> {
  const m = await import('./panel');
  return m.openMessageBrowser(ctx, opts, produceAgain);
}
