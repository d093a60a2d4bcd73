import type { Config } from '../config/types.js';
import type { PauseState, StateStore } from '../state/state-store.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { findJob } from './job-lookup.js';
import { openJobState } from './open-job-state.js';

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

/** `restq pause JOB` / `restq resume JOB` from the command line. */
export async function pauseCli(jobName: string, paused: boolean, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const access = await openJobState(config, ctx.settings);
  try {
    process.stderr.write(`${formatPause(jobName, await pauseCommand({ config, state: access.state, job: jobName, paused }))}\n`);
  } finally {
    await access.close();
  }
}
