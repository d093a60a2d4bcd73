import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { Heartbeat } from '../ops/heartbeat.js';
import { Metrics } from '../ops/metrics.js';
import { serveDashboard } from '../ops/serve-dashboard.js';
import { startTelemetry } from '../ops/telemetry.js';
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
  /** Also serve the dashboard from this process (`restq start --dashboard`). @default none */
  dashboard?: { port: number; host: string } | undefined;
}

/**
 * Runs queued runs until SIGTERM/SIGINT: checks Redis first (a clear error instead of waiting
 * forever), then processes with `concurrency` runs at once and shuts down gracefully.
 */
export async function runWorkerService(options: WorkerServiceOptions): Promise<void> {
  const { config, settings, logger, concurrency } = options;
  (await connectProducerRedis(settings)).disconnect();
  const redis = createWorkerRedis(settings, logger);
  // Operability: counters for /metrics, a heartbeat for /healthz, optional OpenTelemetry.
  const metrics = new Metrics();
  const heartbeat = new Heartbeat({ redis, prefix: settings.prefix, queue: settings.queue, metrics, concurrency });
  const dashboard = options.dashboard
    ? await serveDashboard({ location: { redisUrl: settings.redisUrl, queueName: settings.queue, prefix: settings.prefix }, ...options.dashboard, logger, metrics, selfWorkerId: heartbeat.id })
    : undefined;
  const telemetry = await startTelemetry(process.env, logger);
  const mode = await createModeClients(config, logger, process.env, metrics);
  const worker = new RunWorker({ config, settings, clients: mode.clients, logger, redis, concurrency, metrics, telemetry: telemetry?.telemetry });
  await worker.start();
  await heartbeat.start();
  if (dashboard) logger.info({ url: dashboard.url }, 'dashboard served by this worker');
  logger.info(
    { redis: safeRedisUrl(settings.redisUrl), queue: settings.queue, prefix: settings.prefix, concurrency, jobs: Object.keys(config.jobs).length },
    'worker ready: processing queued runs',
  );
  await new Promise<void>((resolve, reject) => {
    const removeHandlers = onShutdownSignal(async () => {
      try {
        await dashboard?.close();
        await worker.close(settings.shutdownGraceMs);
        await heartbeat.stop();
        await mode.close();
        await telemetry?.shutdown().catch(() => undefined);
        await redis.quit().catch(() => redis.disconnect());
        removeHandlers();
        resolve();
      } catch (error) {
        reject(error);
      }
    }, logger);
  });
}
