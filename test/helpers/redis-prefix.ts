import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createRedisClient, type RedisClient } from '../../src/redis/redis-connection.js';

/** A Redis client and a random key prefix owned by one file or describe block. */
export interface RedisUnderPrefix {
  readonly prefix: string;
  /** Open from beforeAll to afterAll. */
  readonly redis: RedisClient;
}

/**
 * Call at the top of a file or describe block: opens a client before its tests; after them,
 * deletes every key whose name starts with `prefix` (so also `${prefix}-cli:…`), then closes it.
 */
export function redisUnderPrefix(url: string): RedisUnderPrefix {
  const prefix = `restq-test-${randomUUID()}`;
  let redis: RedisClient | undefined;
  beforeAll(() => {
    redis = createRedisClient({ kind: 'single', url });
  });
  afterAll(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return {
    prefix,
    get redis() {
      if (!redis) throw new Error('redisUnderPrefix: the client opens in beforeAll; use it from tests and hooks');
      return redis;
    },
  };
}
