import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { Heartbeat } from '../ops/heartbeat.js';
import { Metrics } from '../ops/metrics.js';
import { dashboardAuth } from '../ops/dashboard-auth.js';
import { serveDashboard } from '../ops/serve-dashboard.js';
import { startTelemetry } from '../ops/telemetry.js';
import { checkRedisReachable, createRedisClient, describeRedis } from '../redis/redis-connection.js';
import { queueSettings, type Settings } from '../runtime/settings.js';
import { RunWorker } from '../queue/run-worker.js';
import { onShutdownSignal } from '../queue/shutdown.js';
import { createModeClients } from './api-clients-for-mode.js';

export interface WorkerServiceOptions {
  config: Config;
  /** The environment's settings; distributed mode (a Redis topology) is required. */
  settings: Settings;
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
  const { config, logger, concurrency } = options;
  const settings = queueSettings(options.settings);
  await checkRedisReachable(settings.redis);
  const redis = createRedisClient(settings.redis, { role: 'blocking', name: 'restq-worker', logger });
  // Operability: counters for /metrics, a heartbeat for /healthz, optional OpenTelemetry.
  const metrics = new Metrics();
  const heartbeat = new Heartbeat({ redis, prefix: settings.prefix, queue: settings.queue, metrics, concurrency });
  const dashboard = options.dashboard
    ? await serveDashboard({ location: { redis: settings.redis, queueName: settings.queue, prefix: settings.prefix }, auth: dashboardAuth(options.settings), ...options.dashboard, logger, metrics, selfWorkerId: heartbeat.id })
    : undefined;
  const telemetry = await startTelemetry(options.settings.otel, logger);
  const mode = await createModeClients(config, logger, options.settings, metrics);
  const worker = new RunWorker({ config, settings, clients: mode.clients, logger, redis, concurrency, metrics, telemetry: telemetry?.telemetry });
  await worker.start();
  await heartbeat.start();
  if (dashboard) logger.info({ url: dashboard.url }, 'dashboard served by this worker');
  logger.info(
    { redis: describeRedis(settings.redis), queue: settings.queue, prefix: settings.prefix, concurrency, jobs: Object.keys(config.jobs).length },
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
