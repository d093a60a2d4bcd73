import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Connection } from '../../src/config/types.js';
import { RedisRateLimiters } from '../../src/http/redis-rate-limiter.js';
import { createRedisClient, type RedisClient } from '../../src/redis/redis-connection.js';

/** A Redis client and a random key prefix owned by one file or describe block. */
export interface RedisUnderPrefix {
  readonly prefix: string;
  /** Open from beforeAll to afterAll. */
  readonly redis: RedisClient;
  /**
   * Another worker (its own client, the same prefix) takes one grant of `connection`'s shared
   * rate budget: the waits it was told, each cut short by deleting the budget key, as if the
   * time had passed.
   */
  waitsOfAnotherWorker(connection: Connection): Promise<number[]>;
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
    async waitsOfAnotherWorker(connection) {
      const other = createRedisClient({ kind: 'single', url });
      const waits: number[] = [];
      try {
        const theirs: RedisRateLimiters = new RedisRateLimiters({
          redis: other,
          prefix,
          sleep: async (ms) => {
            waits.push(ms);
            await other.del(theirs.key(connection.name));
          },
        });
        await theirs.forConnection(connection)!.acquire();
        return waits;
      } finally {
        other.disconnect();
      }
    },
  };
}
