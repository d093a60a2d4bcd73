import type { Config } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import { cursorOrder, toCursorValue } from '../state/cursor-value.js';
import type { CursorState, StateStore } from '../state/state-store.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { findIncrementalJob } from './job-lookup.js';
import { openJobState } from './open-job-state.js';

export interface StateCommandOptions {
  config: Config;
  state: StateStore;
  job: string;
  /** `--set V`: a value of the cursor's type. */
  set?: string | undefined;
  /** `--reset`: forget the cursor. */
  reset?: boolean | undefined;
}

/** `restq state JOB [--set V | --reset]`: the job's incremental cursor (SPEC 8). */
export async function stateCommand(options: StateCommandOptions): Promise<CursorState> {
  const { config, state } = options;
  const job = findIncrementalJob(config, options.job, 'state');
  if (options.set !== undefined && options.reset) throw new RestqError('E_USAGE', 'use either --set V or --reset, not both', { permanent: true });
  if (options.reset) return state.resetCursor(job.name);
  if (options.set !== undefined) {
    const type = job.incremental.type;
    const value = toCursorValue(type, options.set);
    if (!value) {
      const example = type === 'datetime' ? '2024-01-01T00:00:00Z or epoch seconds' : type === 'number' ? 'a number such as 1500' : 'a non-empty string';
      throw new RestqError('E_USAGE', `--set ${JSON.stringify(options.set)} is not a ${type} (incremental.type of job "${job.name}"): use ${example}`, { permanent: true });
    }
    return state.setCursor(job.name, { value: value.text, sortKey: String(value.sortKey), order: cursorOrder(type) });
  }
  return state.getCursor(job.name);
}

/** The human-readable form (stdout), e.g. "orders: cursor 2024-…Z (updated …, run …)". */
export function formatState(report: CursorState, start: string | number): string {
  if (report.cursor === null) return `${report.job}: no cursor yet: the next run starts at incremental.start ${String(start)}${report.updatedAt ? ` (reset ${report.updatedAt})` : ''}`;
  return `${report.job}: cursor ${report.cursor} (updated ${report.updatedAt ?? '?'} by ${report.runId === 'manual' ? 'restq state --set' : `run ${report.runId}`})`;
}

/** `restq state JOB [--json] [--set V | --reset]` from the command line. */
export async function stateCli(jobName: string, options: { json?: boolean; set?: string; reset?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const access = await openJobState(config, ctx.settings);
  try {
    const report = await stateCommand({ config, state: access.state, job: jobName, set: options.set, reset: options.reset });
    const job = config.jobs[jobName]!;
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatState(report, job.kind === 'grid' ? (job.incremental?.start ?? '') : '')}\n`);
  } finally {
    await access.close();
  }
}
