import type { Config } from '../config/types.js';
import { parseDuration } from '../config/duration.js';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import type { Settings } from '../runtime/settings.js';
import { createModeClients } from './api-clients-for-mode.js';
import { enqueueBackfill, planBackfill, runBackfillInProcess, waitForBackfill, type WindowOutcome } from './backfill.js';
import { openJobState } from './open-job-state.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { RunFailed } from '../errors/usage-error.js';

/** The command line's `restq backfill JOB --from T [--to T] [--slice D] [--wait]`; exit 1 when a window failed. */
export async function backfillCli(jobName: string, options: { from: string; to?: string; slice?: string; wait?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const failed = await backfill({ config, settings: ctx.settings, logger: commandLogger(ctx, config), job: jobName, from: options.from, to: options.to, slice: options.slice, wait: options.wait === true });
  if (failed > 0) throw new RunFailed(`backfill: ${failed} window${failed === 1 ? '' : 's'} failed; re-run one alone with --from/--to of that window`);
}

export interface BackfillOptions {
  config: Config;
  logger: Logger;
  job: string;
  from: string;
  to?: string | undefined;
  slice?: string | undefined;
  wait: boolean;
  settings: Settings;
  /** Data (run ids) go here. @default stdout */
  out?: (line: string) => void;
  /** Progress goes here. @default stderr */
  err?: (line: string) => void;
}

/**
 * `restq backfill`: plans the windows, then queues one run per window (distributed) or runs
 * them in order (standalone). Prints `RUNID START END` per window on stdout and windows
 * done/total on stderr. Returns the number of failed windows (0 when not waiting).
 */
export async function backfill(options: BackfillOptions): Promise<number> {
  const { config, logger } = options;
  const { settings } = options;
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  let sliceMs: number | undefined;
  if (options.slice !== undefined) {
    sliceMs = parseDuration(options.slice);
    if (sliceMs === undefined || sliceMs <= 0) throw new RestqError('E_USAGE', `--slice ${JSON.stringify(options.slice)} is not a duration: use e.g. 6h or 1d`, { permanent: true });
  }
  const plan = planBackfill(config, options.job, options.from, options.to, sliceMs);
  const total = plan.windows.length;
  const report = (o: WindowOutcome, done: number) =>
    err(`backfill ${plan.job}: ${done}/${total} windows done — [${o.window.start}, ${o.window.end}) ${o.status}${o.status === 'succeeded' ? `, ${o.rows} rows` : `: ${o.error ?? ''}`}`);
  const access = await openJobState(config, settings);
  try {
    if (access.runQueue) {
      const runs = await enqueueBackfill(access.runQueue, config, plan);
      for (const run of runs) out(`${run.runId} ${run.window.start} ${run.window.end}`);
      err(`backfill ${plan.job}: ${total} window${total === 1 ? '' : 's'} queued; workers run them in parallel${options.wait ? '' : ' (--wait to follow them)'}`);
      if (!options.wait) return 0;
      const outcomes = await waitForBackfill(access.runQueue, access.state, plan.job, runs, report);
      return outcomes.filter((o) => o.status === 'failed').length;
    }
    err(`backfill ${plan.job}: ${total} window${total === 1 ? '' : 's'}, run in order in this process (standalone mode)`);
    const mode = await createModeClients(config, logger, settings);
    try {
      const outcomes = await runBackfillInProcess({ config, clients: mode.clients, logger, state: access.state }, plan, (run) => out(`${run.runId} ${run.window.start} ${run.window.end}`), report);
      return outcomes.filter((o) => o.status === 'failed').length;
    } finally {
      await mode.close();
    }
  } finally {
    await access.close();
  }
}
