import type { Redis } from 'ioredis';
import { openTokenStore } from '../auth/open-token-store.js';
import { tokenProviders } from '../auth/token-providers.js';
import type { TokenStore } from '../auth/token-store.js';
import type { Config } from '../config/types.js';
import { ApiClients } from '../http/api-clients.js';
import { httpPolicy } from '../http/http-policy.js';
import { RedisRateLimiters } from '../http/redis-rate-limiter.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../ops/metrics.js';
import { createRedisClient } from '../redis/redis-connection.js';
import type { Settings } from '../runtime/settings.js';

export interface ModeClients {
  clients: ApiClients;
  tokenStore: TokenStore;
  close(): Promise<void>;
}

/**
 * API clients for a long-running process (worker, start). Distributed (Redis configured): tokens
 * in the Redis store and rate budgets in Redis, both shared by every worker; standalone: tokens
 * in `.restq/state.json`, budgets in memory. Retries per the connection's `retry` either way.
 */
export async function createModeClients(
  config: Config,
  logger: Logger,
  settings: Settings,
  metrics?: Metrics,
): Promise<ModeClients> {
  const tokenStore = await openTokenStore({ config, logger, settings, redisRole: 'blocking' });
  const rateLimited = Object.values(config.connections).some((c) => c.rateLimit);
  // Workers wait through a Redis restart rather than failing runs (blocking client).
  let redis: Redis | undefined;
  let rateLimiters: RedisRateLimiters | undefined;
  if (settings.queue && rateLimited) {
    redis = createRedisClient(settings.queue.redis, { role: 'blocking', name: 'restq-worker', logger });
    rateLimiters = new RedisRateLimiters({ redis, prefix: settings.queue.prefix });
  }
  const clients = new ApiClients({
    config,
    logger,
    metrics,
    tokens: tokenProviders({ config, store: tokenStore, logger, metrics }),
    wrapTransport: httpPolicy({ logger, redactor: config.redactor, metrics, ...(rateLimiters ? { rateLimiters } : {}) }),
  });
  return {
    clients,
    tokenStore,
    async close() {
      await clients.close();
      await tokenStore.close();
      redis?.disconnect();
    },
  };
}
