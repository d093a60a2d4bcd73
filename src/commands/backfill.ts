import type { Config } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-client-registry.js';
import type { Logger } from '../log/logger.js';
import { runJobOptions, type RunQueue } from '../queue/run-queue.js';
import type { RunRequest } from '../queue/run-request.js';
import { newRunId } from '../run-id.js';
import { runJob } from '../runner.js';
import { parseInstant } from '../state/cursor-value.js';
import type { RunWindow, StateStore } from '../state/state-store.js';
import { findIncrementalJob } from './job-lookup.js';

/** `restq backfill`'s window size when neither --slice nor incremental.slice is set. */
export const DEFAULT_BACKFILL_SLICE_MS = 86_400_000;

export interface BackfillPlan {
  job: string;
  windows: Array<{ start: string; end: string }>;
}

/**
 * The windows [T1, T1+slice), [T1+slice, T1+2·slice), … up to `to` (the last may be shorter).
 * Usage errors (bad times, --from not before --to) are E_USAGE; a job without `incremental`
 * is E_CONFIG.
 */
export function planBackfill(config: Config, jobName: string, from: string, to: string | undefined, sliceMs: number | undefined, now = new Date()): BackfillPlan {
  const job = findIncrementalJob(config, jobName, 'backfill');
  if (job.incremental.type !== 'datetime') {
    throw new RestqError('E_CONFIG', `job "${job.name}": backfill windows are time windows, but incremental.type is ${job.incremental.type}; backfill needs type: datetime`, { permanent: true });
  }
  const start = parseInstant(from);
  if (start === undefined) throw new RestqError('E_USAGE', `--from ${JSON.stringify(from)} is not a time: use ISO 8601 such as 2024-01-01 or 2024-01-01T00:00:00Z`, { permanent: true });
  const end = to === undefined ? now.getTime() : parseInstant(to);
  if (end === undefined) throw new RestqError('E_USAGE', `--to ${JSON.stringify(to)} is not a time: use ISO 8601 such as 2024-02-01T00:00:00Z`, { permanent: true });
  if (start >= end) {
    throw new RestqError('E_USAGE', `--from ${new Date(start).toISOString()} is not before ${to === undefined ? 'now' : '--to'} ${new Date(end).toISOString()}: nothing to backfill`, { permanent: true });
  }
  const slice = sliceMs ?? job.incremental.slice ?? DEFAULT_BACKFILL_SLICE_MS;
  if (!(slice > 0)) throw new RestqError('E_USAGE', '--slice must be longer than 0, e.g. 1h or 1d', { permanent: true });
  const windows: BackfillPlan['windows'] = [];
  for (let t = start; t < end; t += slice) windows.push({ start: new Date(t).toISOString(), end: new Date(Math.min(t + slice, end)).toISOString() });
  if (windows.length > 10_000) throw new RestqError('E_USAGE', `${windows.length} windows: use a larger --slice (at most 10000 windows per backfill)`, { permanent: true });
  return { job: job.name, windows };
}

export interface BackfillRun {
  runId: string;
  window: RunWindow;
}

/** Distributed: one queued run per window, so the workers fill them in parallel. */
export async function enqueueBackfill(runQueue: RunQueue, config: Config, plan: BackfillPlan): Promise<BackfillRun[]> {
  const job = config.jobs[plan.job]!;
  const options = runJobOptions(job, runQueue.settings);
  const runs = plan.windows.map((window) => ({ runId: `${newRunId()}-bf`, window }));
  await runQueue.queue.addBulk(
    runs.map(({ runId, window }) => ({ name: job.name, data: { job: job.name, params: {}, trigger: 'backfill', window } satisfies RunRequest, opts: { ...options, jobId: runId } })),
  );
  return runs;
}

export type WindowOutcome = { runId: string; window: RunWindow; status: 'succeeded' | 'failed'; rows: number; error?: string };

/**
 * Waits for queued backfill runs, calling `onDone` as each ends (windows done / total). Reads
 * BullMQ's job states, falling back on the job history for runs already removed from the queue.
 */
export async function waitForBackfill(runQueue: RunQueue, state: StateStore, jobName: string, runs: readonly BackfillRun[], onDone: (outcome: WindowOutcome, done: number) => void, pollMs = 500): Promise<WindowOutcome[]> {
  const pending = new Map(runs.map((r) => [r.runId, r]));
  const outcomes: WindowOutcome[] = [];
  while (pending.size > 0) {
    let history: Map<string, { status: string; rows: number; error: { message: string } | null }> | undefined;
    for (const run of [...pending.values()]) {
      const job = await runQueue.queue.getJob(run.runId);
      let outcome: WindowOutcome | undefined;
      if (job) {
        const jobState = await job.getState();
        if (jobState === 'completed') outcome = { ...run, status: 'succeeded', rows: (job.returnvalue as { rows?: number } | undefined)?.rows ?? 0 };
        else if (jobState === 'failed') outcome = { ...run, status: 'failed', rows: 0, error: job.failedReason };
      } else {
        history ??= new Map((await state.history(jobName)).map((r) => [r.runId, r]));
        const record = history.get(run.runId);
        if (record) outcome = { ...run, status: record.status === 'succeeded' ? 'succeeded' : 'failed', rows: record.rows, ...(record.error ? { error: record.error.message } : {}) };
        else outcome = { ...run, status: 'failed', rows: 0, error: `run ${run.runId} is no longer in the queue and has no history record` };
      }
      if (outcome) {
        pending.delete(run.runId);
        outcomes.push(outcome);
        onDone(outcome, outcomes.length);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
  }
  return outcomes;
}

/** Standalone: the windows one after another in this process, each its own run and history record. */
export async function runBackfillInProcess(
  options: { config: Config; clients: ApiClients; logger: Logger; state: StateStore; stdout?: NodeJS.WritableStream },
  plan: BackfillPlan,
  onStart: (run: BackfillRun) => void,
  onDone: (outcome: WindowOutcome, done: number) => void,
): Promise<WindowOutcome[]> {
  const outcomes: WindowOutcome[] = [];
  for (const window of plan.windows) {
    const runId = `${newRunId()}-bf`;
    onStart({ runId, window });
    let outcome: WindowOutcome;
    try {
      const result = await runJob({ config: options.config, job: plan.job, clients: options.clients, logger: options.logger, state: options.state, trigger: 'backfill', window, runId, stdout: options.stdout as NodeJS.WriteStream | undefined });
      outcome = { runId, window, status: 'succeeded', rows: result.rows };
    } catch (error) {
      outcome = { runId, window, status: 'failed', rows: 0, error: options.config.redactor.redact(error instanceof Error ? error.message : String(error)) };
    }
    outcomes.push(outcome);
    onDone(outcome, outcomes.length);
  }
  return outcomes;
}
