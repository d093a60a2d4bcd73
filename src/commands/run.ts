import { constants } from 'node:os';
import { openTokenStore } from '../auth/open-token-store.js';
import { tokenProviders } from '../auth/token-provider-factory.js';
import type { ParamValue } from '../config/types.js';
import { findConnection, findJob } from '../config/lookup.js';
import { RestqError } from '../errors/restq-error.js';
import { RunFailed } from '../errors/usage-error.js';
import { ApiClients } from '../http/api-client-registry.js';
import { httpPolicy } from '../http/http-policy.js';
import type { Logger } from '../log/logger.js';
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
  // config.warnings (legacy TLS) are said by the connection when it is used: once, and only for this job's.
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
  // Ctrl-C (or SIGTERM) stops the run the way a failure does: requests aborted, temp files removed,
  // the previous outputs kept. A second signal exits at once.
  const interrupt = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + constants.signals[signal]);
    received = signal;
    interrupt.abort(new RestqError('E_INTERRUPTED', `interrupted by ${signal}`, { permanent: true }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // History, cursor and lastSuccessAt (SPEC 8): Redis when configured, else .restq/.
  const { openJobState } = await import('./open-job-state.js');
  const jobState = await openJobState(config, ctx.settings).catch(async (error: unknown) => {
    // Nothing ran yet: close what was opened (Redis clients would keep the process alive).
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await clients.close();
    await store.close();
    shared?.close();
    throw error;
  });
  try {
    const lastSuccessAt = await jobState.state.lastSuccessAt(jobName);
    const result = await runJob({ config, job: jobName, params, clients, logger: log, state: jobState.state, trigger: 'cli', lastSuccessAt, signal: interrupt.signal, onProgress: (p) => progress.update(p) });
    progress.clear();
    // runJob already logged result.warnings (at warn level); printing them again would say it twice.
    process.stderr.write(`${formatSummary(result)}\n`);
  } catch (error) {
    progress.clear();
    if (received) {
      throw new RunFailed(`error [E_INTERRUPTED]: job "${jobName}" interrupted by ${received}: the run stopped and wrote no output (CSV files keep their previous version)`, 128 + constants.signals[received]);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await clients.close();
    await store.close();
    await jobState.close();
    shared?.close();
  }
}

/** Rate budgets in Redis, shared with the workers. */
async function sharedRateBudget(queue: QueueSettings, logger: Logger) {
  const [{ createRedisClient }, { RedisRateLimiters }] = await Promise.all([import('../redis/redis-connection.js'), import('../http/redis-rate-limiter.js')]);
  const redis = createRedisClient(queue.redis, { logger });
  return { rateLimiters: new RedisRateLimiters({ redis, prefix: queue.prefix }), close: () => redis.disconnect() };
}
