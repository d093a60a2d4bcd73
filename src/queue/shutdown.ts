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

/**
 * The grace period of a shutdown: resolves true when `work` settles within `graceMs`, false when
 * the grace period ran out first (the caller then aborts what still runs). Never rejects.
 */
export async function settlesWithin(work: Promise<unknown>, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), graceOver]);
  } finally {
    clearTimeout(timer);
  }
}
