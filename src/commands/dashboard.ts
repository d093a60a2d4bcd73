import { isRestqError } from '../errors/restq-error.js';
import { UsageError } from '../errors/usage-error.js';
import { dashboardAuth } from '../ops/dashboard-auth.js';
import { serveDashboard, type ServedDashboard } from '../console/serve-dashboard.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';

export interface DashboardCliOptions {
  port: string;
  host: string;
  minWorkers: string;
}

/** `restq dashboard`: the console (SPEC 11), Bull Board at /queues with Redis, /metrics and /healthz, until SIGINT/SIGTERM. */
export async function dashboardCli(options: DashboardCliOptions, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const queue = ctx.settings.queue;
  const port = Number(options.port);
  const minWorkers = Number(options.minWorkers);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number, got "${options.port}"`);
  if (!Number.isInteger(minWorkers) || minWorkers < 0) throw new UsageError(`--min-workers expects a whole number, got "${options.minWorkers}"`);
  const logger = commandLogger(ctx, config);
  let dashboard: ServedDashboard;
  try {
    const auth = dashboardAuth(ctx.settings);
    if (queue) {
      const location = { redis: queue.redis, queueName: queue.queue, prefix: queue.prefix };
      dashboard = await serveDashboard({ location, auth, port, host: options.host, minWorkers, logger, console: { config, queueSettings: queue, historyLimit: ctx.settings.history } });
    } else {
      // Standalone: the console over .restq/; runs started from it run in this process.
      const { serveStandaloneConsole } = await import('../console/serve-console.js');
      dashboard = await serveStandaloneConsole({ config, settings: ctx.settings, logger, auth, port, host: options.host, createClients: (await import('./api-clients-for-mode.js')).createModeClients });
    }
  } catch (error) {
    if (isRestqError(error) && error.code === 'E_USAGE') throw new UsageError(error.message);
    throw error;
  }
  // Config reload (SIGHUP, file changes): the console shows the new jobs, "Run now" runs them.
  const { startConfigReloader } = await import('../runtime/config-reloader.js');
  const served = dashboard;
  const reloader = startConfigReloader({ dir: config.dir, env: ctx.settings.env, logger, current: config, watch: ctx.settings.configWatch, apply: (next) => served.setConfig(next) });
  process.stderr.write(`restq console on ${dashboard.url} (${queue ? `queues ${dashboard.url}/queues, ` : ''}metrics ${dashboard.url}/metrics, health ${dashboard.url}/healthz)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  reloader.close();
  await dashboard.close();
}
