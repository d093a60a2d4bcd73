import type { Config } from '../config/types.js';
import type { QueueSettings } from '../runtime/settings.js';
import { openRunQueue } from '../queue/run-queue.js';
import { syncSchedules, type ScheduleSync } from '../queue/schedules.js';
import { loadProjectConfig, needsRedis, requireQueue, type CommandContext } from './context.js';

/** Lines describing a schedule sync, for stderr. */
export function formatScheduleSync(sync: ScheduleSync, queue: string): string[] {
  const lines = sync.upserted.map(
    (s) => `scheduled ${s.job}: "${s.pattern}" (${s.timezone}), next run ${s.next === undefined ? 'unknown' : new Date(s.next).toISOString()}`,
  );
  for (const id of sync.removed) lines.push(`removed scheduler ${id} (job deleted or no longer scheduled)`);
  if (lines.length === 0) lines.push(`no scheduled jobs (queue "${queue}")`);
  return lines;
}

/** `restq schedule`: upsert a BullMQ job scheduler per scheduled job, remove stale ones. */
export async function scheduleCommand(config: Config, settings: QueueSettings): Promise<ScheduleSync> {
  const runQueue = await openRunQueue(settings);
  try {
    return await syncSchedules(runQueue.queue, config, settings);
  } finally {
    await runQueue.close();
  }
}

/** `restq schedule`: sync the schedulers and say what changed, on stderr. */
export async function scheduleCli(ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const settings = requireQueue(ctx, needsRedis('schedule'));
  const sync = await scheduleCommand(config, settings);
  for (const line of formatScheduleSync(sync, settings.queue)) process.stderr.write(`${line}\n`);
}
