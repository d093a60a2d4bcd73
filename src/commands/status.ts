import type { Config } from '../config/types.js';
import { jobStatus, type StatusReport } from '../queue/queue-status.js';
import type { Settings } from '../runtime/settings.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { openJobState } from './open-job-state.js';
import { formatTable, tableWidth, truncate } from './table.js';

/**
 * `restq status`: schedules, next and last runs (from the job history), pause flags, queue
 * counts. Works in both modes: standalone reads `.restq/`.
 */
export async function statusCommand(config: Config, settings: Settings): Promise<StatusReport> {
  const access = await openJobState(config, settings);
  try {
    return await jobStatus(config, access.state, access.runQueue);
  } finally {
    await access.close();
  }
}

type StatusJob = StatusReport['jobs'][number];


/** "2026-11-29T01:45:00.000Z" → "11-29 01:45" (UTC, said under the table): a column, not a log line. */
const shortTime = (iso: string | null | undefined) => (iso ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : null);

function duration(last: NonNullable<StatusJob['lastRun']>): string {
  const ms = Date.parse(last.finishedAt) - Date.parse(last.startedAt);
  if (!Number.isFinite(ms)) return '-';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/**
 * A human-readable report that fits `width` (80 columns, or a wider COLUMNS): one line per job,
 * a failed last run's error on an indented line below it (cut to the width; `--json` has the
 * whole text and the run id), then the queue counts.
 */
export function formatStatus(report: StatusReport, width = tableWidth()): string {
  const table = formatTable<StatusJob>(
    [
      { header: 'JOB', value: (j) => j.name, shrink: true },
      { header: 'SCHEDULE', value: (j) => `${j.schedule ? `${j.schedule}${j.timezone === 'UTC' ? '' : ` ${j.timezone}`}` : 'on demand'}${j.paused ? ' PAUSED' : ''}`, shrink: true },
      { header: 'NEXT RUN', value: (j) => shortTime(j.nextRunAt) },
      { header: 'LAST RUN', value: (j) => shortTime(j.lastRun?.startedAt) ?? 'never' },
      { header: 'RESULT', value: (j) => j.lastRun?.status },
      { header: 'ROWS', value: (j) => j.lastRun?.rows, align: 'right' },
      { header: 'TOOK', value: (j) => (j.lastRun ? duration(j.lastRun) : null), align: 'right' },
    ],
    report.jobs,
    { width },
  );
  const lines = table.split('\n');
  const out = [lines[0]!];
  report.jobs.forEach((job, i) => {
    out.push(lines[i + 1]!);
    const error = job.lastRun?.error?.replace(/\s+/g, ' ');
    if (error) out.push(truncate(`  └ ${error}`, width));
  });
  const q = report.queue;
  if (report.mode === 'standalone') return `${out.join('\n')}\n\ntimes in UTC · standalone mode (no REDIS_URL): state in .restq/, no queue`;
  // Large counts would push the footer past the width: it wraps, continuation lines indented.
  const items = [`${q.waiting} waiting`, `${q.active} active`, `${q.delayed} delayed`, `${q.completed} completed`, `${q.failed} failed`];
  const footer = [`times in UTC · queue: ${items[0]!}`];
  for (const item of items.slice(1)) {
    const last = footer.length - 1;
    if ([...`${footer[last]!}, ${item}`].length <= width) footer[last] = `${footer[last]!}, ${item}`;
    else {
      footer[last] = `${footer[last]!},`;
      footer.push(`  ${item}`);
    }
  }
  return `${out.join('\n')}\n\n${footer.join('\n')}`;
}

/** `restq status [--json]`: the report as a table, or as JSON on stdout. */
export async function statusCli(options: { json?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const report = await statusCommand(config, ctx.settings);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
}
