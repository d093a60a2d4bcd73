import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { createWorkerRedis, connectProducerRedis } from '../queue/redis-connection.js';
import { safeRedisUrl, type QueueSettings } from '../queue/queue-settings.js';
import { RunWorker } from '../queue/run-worker.js';
import { onShutdownSignal } from '../queue/shutdown.js';
import { createModeClients } from './api-clients-for-mode.js';

export interface WorkerServiceOptions {
  config: Config;
  settings: QueueSettings;
  logger: Logger;
  concurrency: number;
}

/**
 * Runs queued runs until SIGTERM/SIGINT: checks Redis first (a clear error instead of waiting
 * forever), then processes with `concurrency` runs at once and shuts down gracefully.
 */
export async function runWorkerService(options: WorkerServiceOptions): Promise<void> {
  const { config, settings, logger, concurrency } = options;
  (await connectProducerRedis(settings)).disconnect();
  const redis = createWorkerRedis(settings, logger);
  const mode = await createModeClients(config, logger);
  const worker = new RunWorker({ config, settings, clients: mode.clients, logger, redis, concurrency });
  await worker.start();
  logger.info(
    { redis: safeRedisUrl(settings.redisUrl), queue: settings.queue, prefix: settings.prefix, concurrency, jobs: Object.keys(config.jobs).length },
    'worker ready: processing queued runs',
  );
  await new Promise<void>((resolve, reject) => {
    const removeHandlers = onShutdownSignal(async () => {
      try {
        await worker.close(settings.shutdownGraceMs);
        await mode.close();
        await redis.quit().catch(() => redis.disconnect());
        removeHandlers();
        resolve();
      } catch (error) {
        reject(error);
      }
    }, logger);
  });
}
