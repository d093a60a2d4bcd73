import type { Config } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { HistoryRecord, StateStore } from '../state/state-store.js';
import { UsageError } from '../errors/usage-error.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { findJob } from './job-lookup.js';
import { openJobState } from './open-job-state.js';
import { formatTable, tableWidth, truncate } from './table.js';

/** `restq history JOB [--limit N]`: the job's recent runs, newest first (SPEC 8). */
export async function historyCommand(options: { config: Config; state: StateStore; job: string; limit?: number | undefined }): Promise<HistoryRecord[]> {
  const job = findJob(options.config, options.job);
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) throw new RestqError('E_USAGE', `--limit expects a positive whole number, got ${String(options.limit)}`, { permanent: true });
  return options.state.history(job.name, limit);
}

const when = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');

function took(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 1000)}s`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

function detail(r: HistoryRecord): string {
  if (r.error) return `${r.error.code} ${r.error.message}`;
  if (r.cursorAfter !== null && r.cursorAfter !== r.cursorBefore) return `cursor ${r.cursorAfter}`;
  if (r.window) return `window ${r.window.start ?? ''}`;
  return r.runId;
}

/**
 * An aligned table that fits `width` (80 columns, or a wider COLUMNS): the DETAIL column (run
 * id, cursor, error message) is cut with "…"; `--json` has every value whole.
 */
export function formatHistory(records: readonly HistoryRecord[], width = tableWidth()): string {
  if (records.length === 0) return 'no runs recorded yet';
  const table = formatTable<HistoryRecord>(
    [
      { header: 'STARTED', value: (r) => when(r.startedAt) },
      { header: 'TRIGGER', value: (r) => r.trigger },
      { header: 'STATUS', value: (r) => r.status },
      { header: 'ROWS', value: (r) => r.rows, align: 'right' },
      { header: 'TOOK', value: (r) => took(r.durationMs), align: 'right' },
      { header: 'DETAIL', value: detail, shrink: true },
    ],
    records,
    { width },
  );
  // Only a row count of absurd width can still overflow: cut the line itself then.
  return table
    .split('\n')
    .map((line) => truncate(line, width))
    .join('\n');
}

/** `restq history JOB [--limit N] [--json]` from the command line. */
export async function historyCli(jobName: string, options: { limit: string; json?: boolean }, ctx: CommandContext): Promise<void> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit expects a positive whole number, got "${options.limit}"`);
  const config = loadProjectConfig(ctx);
  const access = await openJobState(config, ctx.settings);
  try {
    const records = await historyCommand({ config, state: access.state, job: jobName, limit });
    process.stdout.write(options.json ? `${JSON.stringify(records, null, 2)}\n` : `${formatHistory(records)}\n`);
  } finally {
    await access.close();
  }
}
