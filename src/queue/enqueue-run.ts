import { QueueEvents } from 'bullmq';
import type { Config, ParamValue } from '../config/types.js';
import { findJob } from '../config/lookup.js';
import type { RunResult } from '../runner.js';
import { newRunId } from '../run-id.js';
import { bullConnection, releaseBullConnection } from '../redis/redis-connection.js';
import { runJobOptions, type RunQueue } from './run-queue.js';
import type { RunJobProgress } from './run-worker.js';
import type { RunRequest } from './run-request.js';
import type { RunTrigger } from '../state/state-store.js';

/**
 * Queues one run of `jobName` now and returns its run id (the BullMQ job id). `trigger` goes
 * into the run's data for the worker's history record (the console's "Run now" says `console`);
 * without it the worker records `enqueue`.
 */
export async function enqueueRun(runQueue: RunQueue, config: Config, jobName: string, params: Record<string, ParamValue> = {}, trigger?: RunTrigger): Promise<string> {
  const job = findJob(config, jobName);
  const runId = newRunId();
  const data: RunRequest = trigger ? { job: job.name, params, trigger } : { job: job.name, params };
  const added = await runQueue.queue.add(job.name, data, { ...runJobOptions(job, runQueue.settings), jobId: runId });
  return added.id ?? runId;
}

export interface RunFailure {
  /** Stable error code (E_HTTP, E_CONFIG…); E_RUN when the worker recorded none. */
  code: string;
  message: string;
}

export type RunOutcome = { status: 'completed'; result: RunResult } | { status: 'failed'; error: RunFailure };

/**
 * Why a run failed: its run record (code and message, written by the worker before BullMQ
 * marks the job failed), else the job's failedReason read again now (a Job read before the
 * failure has none: that was "run failed: undefined").
 */
async function failureOf(runQueue: RunQueue, jobName: string, runId: string): Promise<RunFailure> {
  const history = await runQueue.state.history(jobName).catch(() => []);
  const record = history.find((r) => r.runId === runId);
  if (record?.error) return record.error;
  const job = await runQueue.queue.getJob(runId);
  return { code: 'E_RUN', message: job?.failedReason || `run ${runId} failed without a recorded reason (see the worker's log)` };
}

/**
 * Waits for a queued run to finish, calling `onProgress` with its progress. Listens to the
 * queue's events and also checks the job's state, so a run that finished before the listener
 * started is not missed.
 */
export async function waitForRun(runQueue: RunQueue, runId: string, onProgress: (progress: RunJobProgress) => void): Promise<RunOutcome> {
  const { settings, queue } = runQueue;
  const connection = bullConnection(settings.redis, 'restq-events');
  const events = new QueueEvents(settings.queue, { connection, prefix: settings.prefix });
  events.on('error', () => undefined);
  let poll: NodeJS.Timeout | undefined;
  try {
    let last: RunJobProgress | undefined;
    const outcome = new Promise<RunOutcome>((resolve, reject) => {
      const check = async () => {
        const job = await queue.getJob(runId);
        if (!job) return resolve({ status: 'failed', error: { code: 'E_RUN', message: `run ${runId} is not in queue "${settings.queue}" (never added, or already removed)` } });
        const state = await job.getState();
        if (state === 'completed') resolve({ status: 'completed', result: (await queue.getJob(runId))?.returnvalue ?? job.returnvalue });
        else if (state === 'failed') resolve({ status: 'failed', error: await failureOf(runQueue, job.name, runId) });
      };
      // Events can be missed between connecting and the first read: also look every second.
      poll = setInterval(() => void check().catch(reject), 1_000);
      events.on('progress', ({ jobId, data }) => {
        if (jobId === runId && typeof data === 'object' && data !== null) onProgress((last = data as unknown as RunJobProgress));
      });
      // The events carry the outcome, so a run removed at once (RESTQ_KEEP_COMPLETED=0) still reports.
      events.on('completed', ({ jobId, returnvalue }) => {
        if (jobId === runId) resolve({ status: 'completed', result: returnvalue as unknown as RunResult });
      });
      events.on('failed', ({ jobId }) => {
        if (jobId === runId) void check().catch(reject); // a failed attempt may still be retried
      });
      void events.waitUntilReady().then(check).catch(reject);
    });
    const result = await outcome;
    // A quick run can finish before the events stream is read: end on its final figures anyway.
    if (result.status === 'completed' && (last?.pages !== result.result.pages || last.rows !== result.result.rows)) {
      onProgress({ pages: result.result.pages, rows: result.result.rows });
    }
    return result;
  } finally {
    clearInterval(poll);
    await events.close();
    await releaseBullConnection(connection);
  }
}
