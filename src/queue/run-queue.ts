import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection.js';
import type { Job } from '../config/types.js';
import { connectRedis } from '../redis/redis-connection.js';
import type { QueueSettings } from '../runtime/settings.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import type { StateStore } from '../state/state-store.js';
import type { RunRequest } from './run-request.js';

/** BullMQ options of one run of `job`: its attempts with exponential backoff, and retention. */
export function runJobOptions(job: Job, settings: QueueSettings): JobsOptions {
  return {
    attempts: job.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    removeOnComplete: { count: settings.keepCompleted.count, age: settings.keepCompleted.ageSeconds },
    removeOnFail: { count: settings.keepFailed.count, age: settings.keepFailed.ageSeconds },
  };
}

/** The producer side of distributed mode: the BullMQ queue and the job state, on one connection. */
export interface RunQueue {
  readonly settings: QueueSettings;
  readonly queue: Queue<RunRequest>;
  readonly redis: RedisClient;
  /** Cursors, run history, pause flags (SPEC 8) in Redis under the prefix. */
  readonly state: StateStore;
  close(): Promise<void>;
}

/** Connects (failing fast with a clear message when Redis is down) and opens the queue. */
export async function openRunQueue(settings: QueueSettings): Promise<RunQueue> {
  const redis = await connectRedis(settings.redis);
  const queue = new Queue<RunRequest>(settings.queue, { connection: redis, prefix: settings.prefix });
  queue.on('error', () => undefined); // surfaced by the awaited calls themselves
  return {
    settings,
    queue,
    redis,
    state: new RedisStateStore({ redis, prefix: settings.prefix, queue: settings.queue, historyLimit: settings.history }),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
