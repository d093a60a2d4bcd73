import type { RedisOptions as BullRedisOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../logger.js';
import { createRedisClient } from '../redis-client.js';
import { safeRedisUrl, type QueueSettings } from './queue-settings.js';

/** @default 5000 */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * BullMQ connection options for workers and queue-event listeners: commands wait through a
 * Redis restart instead of failing (`maxRetriesPerRequest: null`, as BullMQ requires for
 * workers), reconnecting with a capped backoff. BullMQ opens these connections itself.
 */
export function workerRedisOptions(settings: QueueSettings): BullRedisOptions & { url: string } {
  return {
    url: settings.redisUrl,
    connectionName: 'restq-worker',
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(250 * times, 5_000),
  };
}

/** A long-lived client that waits through Redis restarts (run records of a worker). */
export function createWorkerRedis(settings: QueueSettings, logger?: Logger): Redis {
  return createRedisClient(settings.redisUrl, { mode: 'blocking', name: 'restq-worker', ...(logger ? { logger } : {}) });
}

function unreachable(settings: QueueSettings, error: unknown): RestqError {
  const reason = error instanceof Error ? error.message : String(error);
  return new RestqError(
    'E_QUEUE',
    `cannot reach Redis at ${safeRedisUrl(settings.redisUrl)} (REDIS_URL): ${reason}. Start Redis or fix REDIS_URL; without REDIS_URL, \`restq start\` runs standalone in one process`,
    { cause: error, permanent: true },
  );
}

/**
 * A connection for producers (enqueue, schedule, status) and start-up checks: fails within
 * seconds with a clear message when Redis is down, instead of waiting for it to come back.
 */
export async function connectProducerRedis(settings: QueueSettings, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Redis> {
  const redis = createRedisClient(settings.redisUrl, { name: 'restq-producer' });
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    throw unreachable(settings, lastError ?? error);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}
