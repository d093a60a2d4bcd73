import { isRestqError } from '../errors/restq-error.js';
import { UsageError } from '../errors/usage-error.js';
import { dashboardAuth } from '../ops/dashboard-auth.js';
import { serveDashboard, type ServedDashboard } from '../ops/serve-dashboard.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, requireQueue, type CommandContext } from './context.js';

export interface DashboardCliOptions {
  port: string;
  host: string;
  minWorkers: string;
}

/** `restq dashboard`: serves Bull Board, /metrics and /healthz until SIGINT/SIGTERM. */
export async function dashboardCli(options: DashboardCliOptions, ctx: CommandContext): Promise<void> {
  const config = loadProjectConfig(ctx);
  const queue = requireQueue(ctx, 'dashboard needs REDIS_URL (e.g. redis://127.0.0.1:6379): it shows the BullMQ queue that workers share');
  const port = Number(options.port);
  const minWorkers = Number(options.minWorkers);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number, got "${options.port}"`);
  if (!Number.isInteger(minWorkers) || minWorkers < 0) throw new UsageError(`--min-workers expects a whole number, got "${options.minWorkers}"`);
  const logger = commandLogger(ctx, config);
  let dashboard: ServedDashboard;
  try {
    const location = { redis: queue.redis, queueName: queue.queue, prefix: queue.prefix };
    dashboard = await serveDashboard({ location, auth: dashboardAuth(ctx.settings), port, host: options.host, minWorkers, logger });
  } catch (error) {
    if (isRestqError(error) && error.code === 'E_USAGE') throw new UsageError(error.message);
    throw error;
  }
  process.stderr.write(`restq dashboard on ${dashboard.url} (metrics ${dashboard.url}/metrics, health ${dashboard.url}/healthz)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dashboard.close();
}
