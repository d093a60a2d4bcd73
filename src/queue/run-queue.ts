import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Job } from '../config/types.js';
import { connectRedis } from '../redis/redis-connection.js';
import type { QueueSettings } from '../runtime/settings.js';
import { RunRecords } from './run-records.js';
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

/** The producer side of distributed mode: the BullMQ queue and the run records, on one connection. */
export interface RunQueue {
  readonly settings: QueueSettings;
  readonly queue: Queue<RunRequest>;
  readonly redis: Redis;
  readonly records: RunRecords;
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
    records: new RunRecords(redis, settings.prefix, settings.queue, settings.runHistory),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
