import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { describeRedis } from '../redis/redis-connection.js';
import type { Settings } from '../runtime/settings.js';
import { StandaloneScheduler } from '../queue/standalone-scheduler.js';
import { onShutdownSignal } from '../queue/shutdown.js';
import { createModeClients } from './api-clients-for-mode.js';
import { formatScheduleSync, scheduleCommand } from './schedule.js';
import { runWorkerService } from './worker.js';

export interface StartOptions {
  config: Config;
  logger: Logger;
  concurrency: number;
  settings: Settings;
  /** Serve the dashboard from this process (distributed mode only). @default none */
  dashboard?: { port: number; host: string } | undefined;
  /** Where start-up lines go. @default stderr */
  print?: (line: string) => void;
}

/**
 * `restq start`, the long-running service. With REDIS_URL: sync the BullMQ schedulers, then
 * work the queue (any number of replicas may do this). Without: run the same schedules in this
 * process (standalone). Says which mode runs and why.
 */
export async function startCommand(options: StartOptions): Promise<void> {
  const { config, logger, concurrency } = options;
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { settings } = options;
  if (settings.queue) {
    const queue = settings.queue;
    const how = queue.redis.kind === 'single' ? 'REDIS_URL is set' : queue.redis.kind === 'sentinel' ? 'REDIS_SENTINELS is set' : 'REDIS_CLUSTER is set';
    print(`restq start: distributed mode (${how}: ${describeRedis(queue.redis)}, queue "${queue.queue}", prefix "${queue.prefix}")`);
    const sync = await scheduleCommand(config, queue);
    for (const line of formatScheduleSync(sync, queue.queue)) print(line);
    await runWorkerService({ config, settings, logger, concurrency, dashboard: options.dashboard });
    return;
  }
  print('restq start: standalone mode (REDIS_URL is not set): schedules run in this process, tokens in .restq/state.json; set REDIS_URL to queue runs in BullMQ and scale out with `restq worker`');
  const graceMs = settings.shutdownGraceMs;
  const mode = await createModeClients(config, logger, settings);
  const scheduler = new StandaloneScheduler({ config, clients: mode.clients, logger, concurrency });
  const entries = scheduler.start();
  for (const e of entries) print(`scheduled ${e.job}: "${e.pattern}" (${e.timezone}), next run ${new Date(e.next).toISOString()}`);
  if (entries.length === 0) print('no scheduled jobs: add `schedule:` to a job in jobs/ (or use `restq run JOB`)');
  await new Promise<void>((resolve, reject) => {
    const removeHandlers = onShutdownSignal(async () => {
      try {
        await scheduler.close(graceMs);
        await mode.close();
        removeHandlers();
        resolve();
      } catch (error) {
        reject(error);
      }
    }, logger);
  });
}
