import type { Config, ParamValue } from '../config/types.js';
import { enqueueRun, waitForRun, type RunOutcome } from '../queue/enqueue-run.js';
import type { QueueSettings } from '../runtime/settings.js';
import { openRunQueue } from '../queue/run-queue.js';
import type { RunJobProgress } from '../queue/run-worker.js';

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
