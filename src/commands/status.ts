import type { Config } from '../config/types.js';
import type { QueueSettings } from '../queue/queue-settings.js';
import { queueStatus, type StatusReport } from '../queue/queue-status.js';
import { openRunQueue } from '../queue/run-queue.js';

/** `restq status`: schedules, next and last runs, queue counts. */
export async function statusCommand(config: Config, settings: QueueSettings): Promise<StatusReport> {
  const runQueue = await openRunQueue(settings);
  try {
    return await queueStatus(runQueue, config);
  } finally {
    await runQueue.close();
  }
}

/** A human-readable report: one block per job, then the queue counts. */
export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  for (const job of report.jobs) {
    const schedule = job.schedule ? `"${job.schedule}" (${job.timezone}), next ${job.nextRunAt ?? 'unknown'}` : 'on demand';
    lines.push(`${job.name}: ${schedule}`);
    const last = job.lastRun;
    if (!last) {
      lines.push('  last run: never');
      continue;
    }
    const seconds = ((Date.parse(last.finishedAt) - Date.parse(last.startedAt)) / 1000).toFixed(2);
    lines.push(`  last run: ${last.status} at ${last.startedAt} (${seconds}s, ${last.rows} rows) ${last.runId}`);
    if (last.error) lines.push(`  error: ${last.error}`);
  }
  const q = report.queue;
  lines.push(`queue: ${q.waiting} waiting, ${q.active} active, ${q.delayed} delayed, ${q.completed} completed, ${q.failed} failed`);
  return lines.join('\n');
}
