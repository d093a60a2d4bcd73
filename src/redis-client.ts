import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export interface RedisClientOptions {
  /**
   * `blocking` for BullMQ workers (commands wait for Redis to come back: maxRetriesPerRequest
   * null, which BullMQ requires); `command` for everything else, which fails fast with an
   * error when Redis is down instead of hanging. @default "command"
   */
  mode?: 'command' | 'blocking';
  /** Shown in `CLIENT LIST`, to tell restq's connections apart. @default "restq" */
  name?: string;
  /** Connection errors are logged here (once per distinct message) instead of on the console. */
  logger?: Logger;
}

/** RESTQ_PREFIX: the prefix of every restq key (queues, tokens, rate budgets). @default "restq" */
export function redisPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return env['RESTQ_PREFIX'] || 'restq';
}

/** One ioredis client for REDIS_URL; the single place where restq opens a Redis connection. */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const blocking = options.mode === 'blocking';
  const client = new Redis(url, {
    connectionName: options.name ?? 'restq',
    maxRetriesPerRequest: blocking ? null : 2,
    connectTimeout: 5_000,
    // Reconnect with a capped backoff; commands of a `command` client fail after 2 tries meanwhile.
    retryStrategy: (times) => Math.min(200 * times, 2_000),
    lazyConnect: false,
  });
  // Without a listener ioredis prints every reconnect failure; commands still fail on their own.
  let last = '';
  client.on('error', (error: Error) => {
    if (error.message === last) return;
    last = error.message;
    options.logger?.warn({ err: error }, `Redis connection error: ${error.message}`);
  });
  return client;
}
