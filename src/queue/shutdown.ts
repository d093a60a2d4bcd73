import type { Logger } from '../logger.js';

/**
 * SIGTERM/SIGINT: the first runs `stop` (stop fetching, let active runs finish, close
 * connections); a second one exits at once. Returns a function that removes the handlers.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>, logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now without waiting for active runs');
      exit(130);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new runs; waiting for active runs (send the signal again to exit at once)');
    stop(signal).then(
      () => logger.info('stopped cleanly'),
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
