import { Queue } from 'bullmq';
import type { Logger } from '../log/logger.js';
import { checkRedisReachable, createRedisClient } from '../redis/redis-connection.js';
import { redisErrorForLog } from '../redis/describe-redis.js';
import type { RedisTopology } from '../redis/topology.js';
import type { QueueSettings } from '../runtime/settings.js';
import type { Config } from '../config/types.js';
import { QueuedRuns } from './run-starters.js';
import { openRunQueue } from '../queue/run-queue.js';
import { openStateStore } from '../state/open-state-store.js';
import type { DashboardAuth } from '../ops/dashboard-auth.js';
import { createDashboardApp, listenDashboard, type ListenOptions } from './dashboard.js';
import type { Metrics } from '../ops/metrics.js';

/** Where the restq queue lives (from the queue settings: Redis topology, RESTQ_QUEUE, RESTQ_PREFIX). */
export interface QueueLocation {
  redis: RedisTopology;
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
  /** Basic auth (RESTQ_DASHBOARD_USER/PASSWORD); required off loopback. @default none */
  auth?: DashboardAuth | undefined;
  /** Serve the console (jobs, history, run now) for this project. @default Bull Board only */
  console?: { config: Config; queueSettings: QueueSettings; historyLimit?: number | undefined } | undefined;
}

export interface ServedDashboard {
  url: string;
  /** Shows `config` from now on (a config reload): the console's jobs, and what "Run now" may queue. */
  setConfig(config: Config): Promise<void>;
  close(): Promise<void>;
}

/** Opens the queue and a fail-fast Redis client, and serves the dashboard until `close`. */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const { location } = options;
  const { auth } = options;
  // A wrong REDIS_URL (down, refused login, untrusted certificate) is a clear error now, not a
  // console that waits for Redis forever.
  await checkRedisReachable(location.redis);
  // BullMQ wants a connection that retries forever; health checks want one that fails fast.
  const queueRedis = createRedisClient(location.redis, { role: 'blocking', name: 'restq-dashboard' });
  const healthRedis = createRedisClient(location.redis, { role: 'probe', name: 'restq-health' });
  for (const client of [queueRedis, healthRedis]) {
    client.on('error', (error: Error) => options.logger?.debug({ err: redisErrorForLog(error) }, 'dashboard Redis connection error'));
  }
  const queue = new Queue(location.queueName, { connection: queueRedis, prefix: location.prefix });
  // Without a listener BullMQ prints the error object, and a refused login's holds `AUTH user password`.
  queue.on('error', (error: Error) => options.logger?.debug({ err: redisErrorForLog(error) }, 'dashboard queue error'));
  // The console: run history and cursors from the Redis state store, "Run now" queues a run.
  const runQueue = options.console ? await openRunQueue(options.console.queueSettings) : undefined;
  const state =
    options.console && runQueue
      ? openStateStore({ configDir: options.console.config.dir, redis: { client: runQueue.redis, prefix: location.prefix, queue: location.queueName }, historyLimit: options.console.historyLimit })
      : undefined;
  const runs = options.console && runQueue ? new QueuedRuns(runQueue, options.console.config) : undefined;
  let config = options.console?.config;
  const closeClients = async () => {
    await state?.close().catch(() => undefined);
    await runs?.close().catch(() => undefined);
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
      console: config && state && runs ? { config: () => config!, state, runs } : undefined,
    });
    const running = await listenDashboard(app, auth, options);
    options.logger?.info({ url: running.url, queue: location.queueName, prefix: location.prefix, auth: auth !== undefined }, 'dashboard listening');
    return {
      url: running.url,
      setConfig: async (next) => {
        config = next;
        runs?.setConfig(next);
      },
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
