import type { Config } from '../config/types.js';
import type { PauseState, StateStore } from '../state/state-store.js';
import { findJob } from './job-lookup.js';

/**
 * `restq pause JOB` / `restq resume JOB`: while paused, the job's scheduled ticks are recorded
 * as `skipped` (E_PAUSED) instead of run, in both modes; `enqueue`, `run` and `backfill` still run.
 */
export async function pauseCommand(options: { config: Config; state: StateStore; job: string; paused: boolean }): Promise<PauseState> {
  const job = findJob(options.config, options.job);
  return options.state.setPaused(job.name, options.paused);
}

export function formatPause(job: string, pause: PauseState): string {
  return pause.paused ? `${job}: paused since ${pause.since} (scheduled ticks are recorded as skipped; restq resume ${job} to undo)` : `${job}: resumed (scheduled ticks run again)`;
}
