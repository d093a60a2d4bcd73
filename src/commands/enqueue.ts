import type { Config, ParamValue } from '../config/types.js';
import { enqueueRun, waitForRun, type RunOutcome } from '../queue/enqueue-run.js';
import type { QueueSettings } from '../runtime/settings.js';
import { openRunQueue } from '../queue/run-queue.js';
import type { RunJobProgress } from '../queue/run-worker.js';
import { findJob } from '../config/lookup.js';
import { RunFailed } from '../errors/usage-error.js';
import { loadProjectConfig, needsRedis, requireQueue, type CommandContext } from './context.js';
import { formatSummary, ProgressLine } from './progress-line.js';

export interface EnqueueOptions {
  config: Config;
  settings: QueueSettings;
  job: string;
  params: Record<string, ParamValue>;
  /** Called with the run id as soon as the run is queued. */
  onQueued: (runId: string) => void;
  /** Given: wait for the run and report its progress. */
  onProgress?: (progress: RunJobProgress) => void;
}

/** `restq enqueue`: queue one run; with onProgress, wait for it and return its outcome. */
export async function enqueueCommand(options: EnqueueOptions): Promise<RunOutcome | undefined> {
  const runQueue = await openRunQueue(options.settings);
  try {
    const runId = await enqueueRun(runQueue, options.config, options.job, options.params);
    options.onQueued(runId);
    if (!options.onProgress) return undefined;
    return await waitForRun(runQueue, runId, options.onProgress);
  } finally {
    await runQueue.close();
  }
}

/** `restq enqueue JOB [--param k=v]… [--wait]`: the run id on stdout; with --wait, progress and the outcome. */
export async function enqueueCli(jobName: string, options: { param: Record<string, ParamValue>; wait?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  findJob(config, jobName);
  const settings = requireQueue(ctx, needsRedis('enqueue'));
  // A live line on a terminal while the run is read, as for `restq run`.
  const progress = new ProgressLine();
  const waitStarted = Date.now();
  const outcome = await enqueueCommand({
    config,
    settings,
    job: jobName,
    params: options.param,
    onQueued: (runId) => process.stdout.write(`${runId}\n`),
    onProgress: options.wait ? (p) => progress.update({ pages: p.pages, rows: p.rows, bytes: 0, elapsedMs: Date.now() - waitStarted, totalPages: p.totalPages }) : undefined,
  });
  progress.clear();
  if (outcome?.status === 'completed') process.stderr.write(`${formatSummary(outcome.result)}\n`);
  if (outcome?.status === 'failed') throw new RunFailed(`run ${outcome.error.code === 'E_RUN' ? 'failed' : `failed [${outcome.error.code}]`}: ${outcome.error.message}`);
}
