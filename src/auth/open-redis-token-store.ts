import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { readQueueSettings } from '../queue/queue-settings.js';
import { connectProducerRedis } from '../queue/redis-connection.js';
import { createRedisClient } from '../redis-client.js';
import { RedisTokenStore } from './redis-token-store.js';
import { createSecretBox, parseSecretKey } from './secret-box.js';

/** @default lock TTL when every token request is quick */
const MIN_LOCK_TTL_MS = 45_000;

/**
 * The distributed token store for this process (REDIS_URL set): its own long-lived connection,
 * keys under RESTQ_PREFIX, encrypted with RESTQ_SECRET_KEY when set. The lock outlives the
 * slowest configured token request by half again, and a refresh is aborted at two thirds of
 * the lock's life, so a refresh never outlives its lock. Fails fast, with a clear message, when
 * Redis cannot be reached.
 */
export async function openRedisTokenStore(
  config: Config,
  options: { env?: Readonly<Record<string, string | undefined>>; logger?: Logger | undefined; mode?: 'command' | 'blocking' | undefined } = {},
): Promise<RedisTokenStore> {
  const env = options.env ?? process.env;
  const settings = readQueueSettings(env);
  (await connectProducerRedis(settings)).disconnect();
  const key = parseSecretKey(env['RESTQ_SECRET_KEY']);
  const slowest = Math.max(0, ...Object.values(config.connections).map((c) => c.refresh?.timeout ?? 0));
  const lockTtlMs = Math.max(MIN_LOCK_TTL_MS, Math.ceil(slowest * 1.5) + 1_000);
  return new RedisTokenStore({
    redis: createRedisClient(settings.redisUrl, { mode: options.mode ?? 'command', name: 'restq-tokens', ...(options.logger ? { logger: options.logger } : {}) }),
    ownsConnection: true,
    prefix: settings.prefix,
    secretBox: key && createSecretBox(key),
    lockTtlMs,
    logger: options.logger,
  });
}
