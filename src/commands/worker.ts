import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { Heartbeat } from '../ops/heartbeat.js';
import { Metrics } from '../ops/metrics.js';
import { dashboardAuth } from '../ops/dashboard-auth.js';
import { startTelemetry } from '../ops/telemetry.js';
import { UsageError } from '../errors/usage-error.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { describeRedis } from '../redis/describe-redis.js';
import { checkRedisReachable, createRedisClient } from '../redis/redis-connection.js';
import { queueSettings, type Settings } from '../runtime/settings.js';
import { RunWorker } from '../queue/run-worker.js';
import { onShutdownSignal } from '../queue/shutdown.js';
import { createModeClients } from './api-clients-for-mode.js';
import { Replaceable, startConfigReloader } from '../runtime/config-reloader.js';

export interface WorkerServiceOptions {
  config: Config;
  /** The environment's settings; distributed mode (a Redis topology) is required. */
  settings: Settings;
  logger: Logger;
  concurrency: number;
  /** Also serve the dashboard from this process (`restq start --dashboard`). @default none */
  dashboard?: { port: number; host: string } | undefined;
  /** Called with each reloaded config before it is put in use (`restq start`: re-sync the schedulers). */
  onReload?: ((config: Config) => Promise<void>) | undefined;
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
  // Express and Bull Board are loaded only when this process serves the dashboard.
  const dashboard = options.dashboard
    ? await (await import('../console/serve-dashboard.js')).serveDashboard({ location: { redis: settings.redis, queueName: settings.queue, prefix: settings.prefix }, auth: dashboardAuth(options.settings), ...options.dashboard, logger, metrics, selfWorkerId: heartbeat.id, console: { config, queueSettings: settings, historyLimit: options.settings.history } })
    : undefined;
  const telemetry = await startTelemetry(options.settings.otel, logger);
  const mode = new Replaceable(await createModeClients(config, logger, options.settings, metrics), logger);
  const worker = new RunWorker({ config, settings, clients: mode.current.clients, logger, redis, concurrency, metrics, telemetry: telemetry?.telemetry });
  await worker.start();
  await heartbeat.start();
  // Config reload (SIGHUP, file changes): new runs use the new config and new API clients; the
  // old clients are closed once the runs using them end.
  const reloader = startConfigReloader({
    dir: config.dir,
    env: options.settings.env,
    logger,
    current: config,
    watch: options.settings.configWatch,
    apply: async (next) => {
      await options.onReload?.(next);
      const nextMode = await createModeClients(next, logger, options.settings, metrics);
      // The dashboard once the new clients exist: if building them fails, it stays on the last good config too.
      await dashboard?.setConfig(next);
      mode.swap(nextMode, worker.setConfig(next, nextMode.clients));
    },
  });
  if (dashboard) logger.info({ url: dashboard.url }, 'dashboard served by this worker');
  logger.info(
    { redis: describeRedis(settings.redis), queue: settings.queue, prefix: settings.prefix, concurrency, jobs: Object.keys(config.jobs).length },
    'worker ready: processing queued runs',
  );
  await new Promise<void>((resolve, reject) => {
    const removeHandlers = onShutdownSignal(async () => {
      try {
        reloader.close();
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

/** `restq worker [--concurrency N]`: needs Redis; without it, exit 2 pointing to `restq start`. */
export async function workerCli(options: { concurrency: number }, ctx: CommandContext): Promise<void> {
  if (!ctx.settings.queue) {
    throw new UsageError('restq worker needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379); without Redis, use `restq start` to run the schedules in one process');
  }
  const config = loadProjectConfig(ctx);
  await runWorkerService({ config, settings: ctx.settings, logger: commandLogger(ctx, config), concurrency: options.concurrency });
}
