/** The logging surface the services layer uses; the extension backs it with its LogOutputChannel. */
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

const noop = (): void => undefined;
export const nullLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** A logger writing to stderr, for the command line and tests (DATAPIPELINE_DEBUG=1 for debug lines). */
export function consoleLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const verbose = env.DATAPIPELINE_DEBUG === '1';
  const out = (level: string) => (message: string | Error, ...args: unknown[]) =>
    console.error(`[${level}] [${name}] ${message instanceof Error ? message.message : message}`, ...args);
  return { trace: verbose ? out('trace') : noop, debug: verbose ? out('debug') : noop, info: out('info'), warn: out('warn'), error: out('error') };
}
