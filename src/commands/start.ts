import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { describeRedis } from '../redis/describe-redis.js';
import type { Settings } from '../runtime/settings.js';
import { UsageError } from '../errors/usage-error.js';
import { dashboardAuth, isLoopbackHost } from '../ops/dashboard-auth.js';
import { onShutdownSignal } from '../queue/shutdown.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';

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
    // The mode decides what is loaded: BullMQ here, only the cron scheduler standalone.
    const [{ formatScheduleSync, scheduleCommand }, { runWorkerService }] = await Promise.all([import('./schedule.js'), import('./worker.js')]);
    const sync = await scheduleCommand(config, queue);
    for (const line of formatScheduleSync(sync, queue.queue)) print(line);
    // A reloaded config re-syncs the schedulers first (upserts, removes deleted ones).
    const onReload = async (next: Config) => {
      const resync = await scheduleCommand(next, queue);
      for (const line of formatScheduleSync(resync, queue.queue)) logger.info(line);
    };
    await runWorkerService({ config, settings, logger, concurrency, dashboard: options.dashboard, onReload });
    return;
  }
  print('restq start: standalone mode (REDIS_URL is not set): schedules run in this process, tokens in .restq/state.json; set REDIS_URL to queue runs in BullMQ and scale out with `restq worker`');
  const [{ StandaloneScheduler }, { createModeClients }] = await Promise.all([import('../queue/standalone-scheduler.js'), import('./api-clients-for-mode.js')]);
  const graceMs = settings.shutdownGraceMs;
  const { Replaceable, startConfigReloader } = await import('../runtime/config-reloader.js');
  const mode = new Replaceable(await createModeClients(config, logger, settings), logger);
  // History, cursors, pause flags and lastSuccessAt in .restq/, so they survive restarts.
  const { openStateStore } = await import('../state/open-state-store.js');
  const state = openStateStore({ configDir: config.dir, historyLimit: settings.history });
  const scheduler = new StandaloneScheduler({ config, clients: mode.current.clients, logger, concurrency, state });
  const entries = await scheduler.start();
  // The console in this process: history from .restq/, "Run now" runs here too.
  const consoleServer = options.dashboard
    ? await (await import('../console/serve-console.js')).serveStandaloneConsole({ config, settings, logger, auth: dashboardAuth(settings), ...options.dashboard, createClients: createModeClients })
    : undefined;
  // Config reload (SIGHUP, file changes): the cron timers restart for the new set of jobs,
  // the console shows them.
  const reloader = startConfigReloader({
    dir: config.dir,
    env: settings.env,
    logger,
    current: config,
    watch: settings.configWatch,
    apply: async (next) => {
      const nextMode = await createModeClients(next, logger, settings);
      // The console first: if its clients cannot be built, nothing has switched yet and the
      // reloader keeps the last good config for both (the scheduler's switch cannot fail).
      try {
        await consoleServer?.setConfig(next);
      } catch (error) {
        await nextMode.close();
        throw error;
      }
      const { entries: now, retired } = scheduler.setConfig(next, nextMode.clients);
      for (const e of now) logger.info(`scheduled ${e.job}: "${e.pattern}" (${e.timezone}), next run ${new Date(e.next).toISOString()}`);
      mode.swap(nextMode, retired);
    },
  });
  for (const e of entries) {
    const missed = e.missed === undefined ? '' : `; tick ${new Date(e.missed).toISOString()} was missed while stopped: ${config.jobs[e.job]!.misfire === 'skip' ? 'misfire: skip decides' : 'one catch-up run now'}`;
    print(`scheduled ${e.job}: "${e.pattern}" (${e.timezone}), next run ${new Date(e.next).toISOString()}${missed}`);
  }
  if (consoleServer) print(`console on ${consoleServer.url}`);
  if (entries.length === 0) print('no scheduled jobs: add `schedule:` to a job in jobs/ (or use `restq run JOB`)');
  await new Promise<void>((resolve, reject) => {
    const removeHandlers = onShutdownSignal(async () => {
      try {
        reloader.close();
        await consoleServer?.close();
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

export interface StartCliOptions {
  concurrency: number;
  dashboard?: boolean;
  dashboardPort: string;
  dashboardHost: string;
}

/** `restq start [--concurrency N] [--dashboard …]`: checks the dashboard flags, then {@link startCommand}. */
export async function startCli(options: StartCliOptions, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  let dashboard: { port: number; host: string } | undefined;
  if (options.dashboard) {
    const port = Number(options.dashboardPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--dashboard-port expects a port number, got "${options.dashboardPort}"`);
    if (!isLoopbackHost(options.dashboardHost) && !dashboardAuth(ctx.settings)) {
      throw new UsageError(`refusing to serve the dashboard on ${options.dashboardHost} without authentication: set RESTQ_DASHBOARD_USER and RESTQ_DASHBOARD_PASSWORD`);
    }
    dashboard = { port, host: options.dashboardHost };
  }
  await startCommand({ config, settings: ctx.settings, logger: commandLogger(ctx, config), concurrency: options.concurrency, dashboard });
}
