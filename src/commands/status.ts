import type { Config } from '../config/types.js';
import type { QueueSettings } from '../runtime/settings.js';
import { queueStatus, type StatusReport } from '../queue/queue-status.js';
import { openRunQueue } from '../queue/run-queue.js';
import { loadProjectConfig, needsRedis, requireQueue, type CommandContext } from './context.js';
import { formatTable } from './table.js';

/** `restq status`: schedules, next and last runs, queue counts. */
export async function statusCommand(config: Config, settings: QueueSettings): Promise<StatusReport> {
  const runQueue = await openRunQueue(settings);
  try {
    return await queueStatus(runQueue, config);
  } finally {
    await runQueue.close();
  }
}

type StatusJob = StatusReport['jobs'][number];

/** "2026-11-29T01:45:00.000Z" → "2026-11-29 01:45:00Z": a table column, not a log line. */
const shortTime = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : null);

function duration(last: NonNullable<StatusJob['lastRun']>): string {
  const ms = Date.parse(last.finishedAt) - Date.parse(last.startedAt);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)}s` : '-';
}

/** Error messages can be long: the table shows their start, `--json` the whole text. */
const ERROR_WIDTH = 60;

/** A human-readable report: an aligned table, one line per job, then the queue counts. */
export function formatStatus(report: StatusReport): string {
  const table = formatTable<StatusJob>(
    [
      { header: 'JOB', value: (j) => j.name },
      { header: 'SCHEDULE', value: (j) => (j.schedule ? `${j.schedule} (${j.timezone})` : 'on demand') },
      { header: 'NEXT RUN', value: (j) => shortTime(j.nextRunAt) },
      { header: 'LAST RUN', value: (j) => shortTime(j.lastRun?.startedAt) ?? 'never' },
      { header: 'RESULT', value: (j) => j.lastRun?.status },
      { header: 'ROWS', value: (j) => j.lastRun?.rows, align: 'right' },
      { header: 'TOOK', value: (j) => (j.lastRun ? duration(j.lastRun) : null), align: 'right' },
      { header: 'RUN ID', value: (j) => j.lastRun?.runId },
      {
        header: 'ERROR',
        value: (j) => {
          const error = j.lastRun?.error?.replace(/\s+/g, ' ');
          return error && error.length > ERROR_WIDTH ? `${error.slice(0, ERROR_WIDTH - 1)}…` : error;
        },
      },
    ],
    report.jobs,
  );
  const q = report.queue;
  return `${table}\n\nqueue: ${q.waiting} waiting, ${q.active} active, ${q.delayed} delayed, ${q.completed} completed, ${q.failed} failed`;
}

/** `restq status [--json]`: the report as a table, or as JSON on stdout. */
export async function statusCli(options: { json?: boolean }, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const report = await statusCommand(config, requireQueue(ctx, needsRedis('status')));
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
}
