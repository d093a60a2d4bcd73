import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { queueSettings, readSettings, type QueueSettings, type Settings } from '../../src/runtime/settings.js';
import { memoryLogger, type MemoryLogger } from './memory-logger.js';

export { createProject, demoProject, incrementalOrdersJob, stormProject, type TempProject as Project } from './temp-project.js';
export { until, within } from './wait-for.js';

/**
 * Queue settings with a random queue and prefix, fast backoff and short timers for tests; `env` for
 * CLI children, `all` for functions that take the whole settings object.
 */
export function testSettings(redisUrl: string, overrides: Record<string, string> = {}): QueueSettings & { env: Record<string, string>; all: Settings } {
  const id = randomUUID();
  const env = {
    REDIS_URL: redisUrl,
    RESTQ_QUEUE: `q-${id}`,
    RESTQ_PREFIX: `restq-test-${id}`,
    RESTQ_BACKOFF: '20ms',
    RESTQ_SHUTDOWN_GRACE: '5s',
    ...overrides,
  };
  const all = readSettings(env);
  return { ...queueSettings(all), env, all };
}

/** Deletes every key under the settings' prefix (only ours: never FLUSHDB). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

/** The memory logger without redaction at `level` (what the queue tests call it). */
export function captureLogger(level = 'info'): MemoryLogger {
  return memoryLogger({ level });
}
