import { ErrorCode, type Queue } from 'bullmq';
import { setTimeout as delay } from 'node:timers/promises';
import { RestqError } from '../errors/restq-error.js';
import type { Config } from '../config/types.js';
import { runJobOptions } from './run-queue.js';
import type { QueueSettings } from '../runtime/settings.js';
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
    const template = { name: job.name, data: { job: job.name, params: {} }, opts: { attempts, backoff, removeOnComplete, removeOnFail } };
    await upsertScheduler(queue, job.name, { pattern, tz: job.timezone }, template);
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

/** Tries before giving up on a scheduler whose next run another process keeps creating. */
const UPSERT_TRIES = 10;

/**
 * Upserts one scheduler. When another replica (or a worker moving the scheduler on) created
 * this tick's run first, BullMQ refuses with SchedulerJobIdCollision: that is fine if the stored
 * scheduler already has our pattern and timezone; otherwise try again shortly.
 */
async function upsertScheduler(
  queue: Queue<RunRequest>,
  id: string,
  repeat: { pattern: string; tz: string },
  template: Parameters<Queue<RunRequest>['upsertJobScheduler']>[2],
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await queue.upsertJobScheduler(id, repeat, template);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== ErrorCode.SchedulerJobIdCollision) throw error;
      const stored = await queue.getJobScheduler(id);
      if (stored?.pattern === repeat.pattern && (stored.tz ?? 'UTC') === repeat.tz) return;
      if (attempt >= UPSERT_TRIES) {
        throw new RestqError('E_QUEUE', `cannot update the job scheduler of job "${id}": its next run keeps being created by another process; try \`restq schedule\` again`, { cause: error });
      }
      await delay(100 * attempt);
    }
  }
}

export async function listSchedulers(queue: Queue<RunRequest>) {
  return queue.getJobSchedulers(0, -1, true);
}
