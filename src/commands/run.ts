import { openTokenStore } from '../auth/open-token-store.js';
import { tokenProviders } from '../auth/token-providers.js';
import type { ParamValue } from '../config/types.js';
import { findConnection, findJob } from '../config/lookup.js';
import { ApiClients } from '../http/api-clients.js';
import { httpPolicy } from '../http/http-policy.js';
import type { Logger } from '../logger.js';
import { runJob } from '../runner.js';
import type { QueueSettings } from '../runtime/settings.js';
import { commandLogger } from './command-logger.js';
import { loadProjectConfig, type CommandContext } from './context.js';
import { formatSummary, ProgressLine } from './progress-line.js';

export interface RunCliOptions {
  /** `--param key=value`, repeatable. */
  param?: Record<string, ParamValue>;
  /** `--dry-run`: print the resolved request instead of sending it. */
  dryRun?: boolean;
}

/**
 * `restq run JOB`: one run now, in this process. With Redis configured it spends the same rate
 * budget as the workers (Redis is only loaded then). Progress on a TTY, the summary on stderr.
 */
export async function runCli(jobName: string, options: RunCliOptions, ctx: CommandContext): Promise<void> {
  const params = options.param ?? {};
  const config = loadProjectConfig(ctx);
  const job = findJob(config, jobName);
  if (options.dryRun) {
    const { describeDryRun } = await import('./dry-run.js');
    process.stdout.write(`${JSON.stringify(describeDryRun(config, jobName, params), null, 2)}\n`);
    return;
  }
  const log = commandLogger(ctx, config);
  for (const warning of config.warnings) log.warn(warning);
  const store = await openTokenStore({ config, settings: ctx.settings, logger: log });
  const queue = ctx.settings.queue;
  const rateLimited = findConnection(config, job.connection).rateLimit !== undefined;
  const shared = queue && rateLimited ? await sharedRateBudget(queue, log) : undefined;
  const clients = new ApiClients({
    config,
    logger: log,
    tokens: tokenProviders({ config, store, logger: log }),
    wrapTransport: httpPolicy({ logger: log, redactor: config.redactor, rateLimiters: shared?.rateLimiters }),
  });
  const progress = new ProgressLine();
  try {
    const result = await runJob({ config, job: jobName, params, clients, logger: log, onProgress: (p) => progress.update(p) });
    progress.clear();
    // runJob already logged result.warnings (at warn level); printing them again would say it twice.
    process.stderr.write(`${formatSummary(result)}\n`);
  } catch (error) {
    progress.clear();
    throw error;
  } finally {
    await clients.close();
    await store.close();
    shared?.close();
  }
}

/** Rate budgets in Redis, shared with the workers. */
async function sharedRateBudget(queue: QueueSettings, logger: Logger) {
  const [{ createRedisClient }, { RedisRateLimiters }] = await Promise.all([import('../redis/redis-connection.js'), import('../http/redis-rate-limiter.js')]);
  const redis = createRedisClient(queue.redis, { logger });
  return { rateLimiters: new RedisRateLimiters({ redis, prefix: queue.prefix }), close: () => redis.disconnect() };
}
