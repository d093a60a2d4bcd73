import { CronExpressionParser } from 'cron-parser';
import type { Config } from '../config/types.js';
import type { RunQueue } from './run-queue.js';
import type { RunStatus } from './run-records.js';
import { listSchedulers } from './schedules.js';

/** The shape of `restq status --json` (SPEC 4): keep these names. */
export interface StatusReport {
  jobs: Array<{
    name: string;
    schedule: string | null;
    timezone: string;
    nextRunAt: string | null;
    lastRun: {
      runId: string;
      status: RunStatus;
      startedAt: string;
      finishedAt: string;
      rows: number;
      error: string | null;
    } | null;
  }>;
  queue: { waiting: number; active: number; delayed: number; completed: number; failed: number };
}

/** Per job: schedule, next run (from its BullMQ scheduler), last run; plus queue counts. */
export async function queueStatus(runQueue: RunQueue, config: Config): Promise<StatusReport> {
  const schedulers = new Map((await listSchedulers(runQueue.queue)).map((s) => [s.id ?? s.key, s]));
  const jobs: StatusReport['jobs'] = [];
  for (const job of Object.values(config.jobs)) {
    const last = await runQueue.records.last(job.name);
    const scheduler = schedulers.get(job.name);
    let next = scheduler?.next;
    if (next === undefined && job.schedule) {
      // Not synced yet (`restq schedule` not run): say when it would run.
      next = CronExpressionParser.parse(job.schedule, { tz: job.timezone }).next().getTime();
    }
    jobs.push({
      name: job.name,
      schedule: job.schedule ?? null,
      timezone: job.timezone,
      nextRunAt: next === undefined ? null : new Date(next).toISOString(),
      lastRun: last
        ? { runId: last.runId, status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, rows: last.rows, error: last.error }
        : null,
    });
  }
  const counts = await runQueue.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  const queue = {
    waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
    active: counts['active'] ?? 0,
    delayed: counts['delayed'] ?? 0,
    completed: counts['completed'] ?? 0,
    failed: counts['failed'] ?? 0,
  };
  return { jobs, queue };
}
