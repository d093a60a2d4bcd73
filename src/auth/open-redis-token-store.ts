import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { checkRedisReachable, createRedisClient, type RedisRole } from '../redis/redis-connection.js';
import type { QueueSettings } from '../runtime/settings.js';
import { RedisTokenStore } from './redis-token-store.js';
import { createSecretBox } from './secret-box.js';

/** @default lock TTL when every token request is quick */
const MIN_LOCK_TTL_MS = 45_000;

export interface OpenRedisTokenStoreOptions {
  /** Where Redis is and the key prefix. */
  settings: QueueSettings;
  /** RESTQ_SECRET_KEY, parsed: encrypts token state in Redis. */
  secretKey?: Buffer | undefined;
  logger?: Logger | undefined;
  /** @default "command" */
  role?: RedisRole | undefined;
}

/**
 * The distributed token store for this process: its own long-lived connection, keys under the
 * settings' prefix, encrypted with RESTQ_SECRET_KEY when set. The lock outlives the slowest
 * configured token request by half again, and a refresh is aborted at two thirds of the lock's
 * life, so a refresh never outlives its lock. Fails fast, with a clear message, when Redis cannot
 * be reached.
 */
export async function openRedisTokenStore(config: Config, options: OpenRedisTokenStoreOptions): Promise<RedisTokenStore> {
  const { settings } = options;
  await checkRedisReachable(settings.redis);
  const slowest = Math.max(0, ...Object.values(config.connections).map((c) => c.refresh?.timeout ?? 0));
  const lockTtlMs = Math.max(MIN_LOCK_TTL_MS, Math.ceil(slowest * 1.5) + 1_000);
  return new RedisTokenStore({
    redis: createRedisClient(settings.redis, { role: options.role ?? 'command', name: 'restq-tokens', logger: options.logger }),
    ownsConnection: true,
    prefix: settings.prefix,
    secretBox: options.secretKey && createSecretBox(options.secretKey),
    lockTtlMs,
    logger: options.logger,
  });
}
