import type { Queue } from 'bullmq';
import type { Config } from '../config/types.js';
import { runJobOptions } from './run-queue.js';
import type { QueueSettings } from './queue-settings.js';
import type { RunRequest } from './run-request.js';

export interface ScheduleEntry {
  job: string;
  pattern: string;
  timezone: string;
  /** Epoch ms of the next run BullMQ will create, when known. */
  next: number | undefined;
}

export interface ScheduleSync {
  upserted: ScheduleEntry[];
  /** Scheduler ids removed because their job is gone or lost its schedule. */
  removed: string[];
}

/**
 * Makes the BullMQ job schedulers match the configuration: one per scheduled job (id = job
 * name, so concurrent or repeated syncs upsert the same scheduler), and none for jobs that
 * were deleted or lost their `schedule`. BullMQ creates each tick's run with a deterministic
 * id, so several replicas syncing at once still produce one run per tick.
 */
export async function syncSchedules(queue: Queue<RunRequest>, config: Config, settings: QueueSettings): Promise<ScheduleSync> {
  const wanted = Object.values(config.jobs).filter((job) => job.schedule);
  const upserted: ScheduleEntry[] = [];
  for (const job of wanted) {
    const pattern = job.schedule!;
    const { attempts, backoff, removeOnComplete, removeOnFail } = runJobOptions(job, settings);
    await queue.upsertJobScheduler(
      job.name,
      { pattern, tz: job.timezone },
      { name: job.name, data: { job: job.name, params: {} }, opts: { attempts, backoff, removeOnComplete, removeOnFail } },
    );
    const scheduler = await queue.getJobScheduler(job.name);
    upserted.push({ job: job.name, pattern, timezone: job.timezone, next: scheduler?.next });
  }
  const keep = new Set(wanted.map((job) => job.name));
  const removed: string[] = [];
  for (const scheduler of await listSchedulers(queue)) {
    const id = scheduler.id ?? scheduler.key;
    if (keep.has(id)) continue;
    if (await queue.removeJobScheduler(id)) removed.push(id);
  }
  return { upserted, removed };
}

export async function listSchedulers(queue: Queue<RunRequest>) {
  return queue.getJobSchedulers(0, -1, true);
}
