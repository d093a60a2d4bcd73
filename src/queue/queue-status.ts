import type { Config } from '../config/types.js';
import { nextTick } from '../schedule/next-tick.js';
import type { HistoryStatus, StateStore } from '../state/state-store.js';
import type { RunQueue } from './run-queue.js';
import { listSchedulers } from './schedules.js';

/** The shape of `restq status --json` (SPEC 4): keep these names. */
export interface StatusReport {
  /** `distributed` (REDIS_URL) or `standalone` (state in .restq/, no queue). */
  mode: 'distributed' | 'standalone';
  jobs: Array<{
    name: string;
    schedule: string | null;
    timezone: string;
    nextRunAt: string | null;
    /** Paused jobs' ticks are recorded as skipped (`restq resume JOB`). */
    paused: boolean;
    lastRun: {
      runId: string;
      status: HistoryStatus;
      startedAt: string;
      finishedAt: string;
      rows: number;
      error: string | null;
    } | null;
  }>;
  /** BullMQ counts; all 0 in standalone mode, which has no queue. */
  queue: { waiting: number; active: number; delayed: number; completed: number; failed: number };
}

/**
 * Per job: schedule, next run (from its BullMQ scheduler when there is a queue, else from the
 * cron pattern), pause flag and last run (from the job's history); plus queue counts.
 */
export async function jobStatus(config: Config, state: StateStore, runQueue?: RunQueue, now = Date.now()): Promise<StatusReport> {
  const schedulers = runQueue ? new Map((await listSchedulers(runQueue.queue)).map((s) => [s.id ?? s.key, s])) : new Map<string, { next?: number }>();
  const jobs: StatusReport['jobs'] = [];
  for (const job of Object.values(config.jobs)) {
    const [last, pause] = await Promise.all([state.lastRun(job.name), state.getPause(job.name)]);
    let next = schedulers.get(job.name)?.next;
    // Not synced yet (`restq schedule` not run), or standalone: say when it would run.
    if (next === undefined && job.schedule) next = nextTick(job.schedule, job.timezone, now);
    jobs.push({
      name: job.name,
      schedule: job.schedule ?? null,
      timezone: job.timezone,
      nextRunAt: next === undefined ? null : new Date(next).toISOString(),
      paused: pause.paused,
      lastRun: last
        ? { runId: last.runId, status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, rows: last.rows, error: last.error ? `${last.error.code}: ${last.error.message}` : null }
        : null,
    });
  }
  if (!runQueue) return { mode: 'standalone', jobs, queue: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 } };
  const counts = await runQueue.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  const queue = {
    waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
    active: counts['active'] ?? 0,
    delayed: counts['delayed'] ?? 0,
    completed: counts['completed'] ?? 0,
    failed: counts['failed'] ?? 0,
  };
  return { mode: 'distributed', jobs, queue };
}
