import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { RestqError } from '../errors/restq-error.js';
import { safeRedisUrl, type QueueSettings } from './queue-settings.js';

/** @default 5000 */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Options for long-lived connections (workers, their token store): commands wait through a
 * Redis restart instead of failing (`maxRetriesPerRequest: null`, as BullMQ requires for
 * workers), and reconnects back off up to 5 s.
 */
export function workerRedisOptions(settings: QueueSettings): BullRedisOptions & { url: string } {
  return {
    url: settings.redisUrl,
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(250 * times, 5_000),
  };
}

/** A long-lived client with workerRedisOptions (e.g. for the token store). */
export function createWorkerRedis(settings: QueueSettings): Redis {
  const { url, ...options } = workerRedisOptions(settings);
  const redis = new Redis(url, options);
  // Connection errors surface as retries; without a listener ioredis prints them itself.
  redis.on('error', () => undefined);
  return redis;
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
 * A connection for producers (enqueue, schedule, status): fails within seconds with a clear
 * message when Redis is down, instead of queueing commands until it comes back.
 */
export async function connectProducerRedis(settings: QueueSettings, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Redis> {
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw unreachable(settings, lastError ?? error);
  }
  return redis;
}
