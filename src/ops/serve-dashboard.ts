import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { createDashboardApp, dashboardAuthFromEnv, listenDashboard, type ListenOptions } from './dashboard.js';
import type { Metrics } from './metrics.js';

/** Where the restq queue lives (from readQueueSettings: REDIS_URL, RESTQ_QUEUE, RESTQ_PREFIX). */
export interface QueueLocation {
  redisUrl: string;
  queueName: string;
  prefix: string;
}

export interface ServeDashboardOptions extends ListenOptions {
  location: QueueLocation;
  logger?: Logger | undefined;
  metrics?: Metrics | undefined;
  selfWorkerId?: string | undefined;
  /** @default 1 */
  minWorkers?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ServedDashboard {
  url: string;
  close(): Promise<void>;
}

/** Opens the queue and a fail-fast Redis client, and serves the dashboard until `close`. */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const { location } = options;
  const auth = dashboardAuthFromEnv(options.env);
  // BullMQ wants a connection that retries forever; health checks want one that fails fast.
  const queueRedis = new Redis(location.redisUrl, { maxRetriesPerRequest: null });
  const healthRedis = new Redis(location.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 1000 });
  for (const client of [queueRedis, healthRedis]) {
    client.on('error', (error: Error) => options.logger?.debug({ err: error }, 'dashboard Redis connection error'));
  }
  const queue = new Queue(location.queueName, { connection: queueRedis, prefix: location.prefix });
  const closeClients = async () => {
    await queue.close().catch(() => undefined);
    queueRedis.disconnect();
    healthRedis.disconnect();
  };
  try {
    const app = createDashboardApp({
      queue,
      redis: healthRedis,
      prefix: location.prefix,
      queueName: location.queueName,
      metrics: options.metrics,
      selfWorkerId: options.selfWorkerId,
      auth,
      minWorkers: options.minWorkers ?? 1,
      logger: options.logger,
    });
    const running = await listenDashboard(app, auth, options);
    options.logger?.info({ url: running.url, queue: location.queueName, prefix: location.prefix, auth: auth !== undefined }, 'dashboard listening');
    return {
      url: running.url,
      close: async () => {
        await running.close();
        await closeClients();
      },
    };
  } catch (error) {
    await closeClients();
    throw error;
  }
}
