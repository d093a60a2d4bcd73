/**
 * A "worker" process for the shared rate budget test: runs job CHILD_JOB CHILD_RUNS times with
 * CHILD_CONCURRENCY runs at once, through the real ApiClients + httpPolicy + RedisRateLimiters.
 * Prints {runs, sentAt} (epoch ms at which the budget released each request).
 * Env: CHILD_CONFIG_DIR, REDIS_URL, RESTQ_PREFIX, CHILD_WORKER (sent as params.worker).
 */
import { loadConfig } from '../../src/config/load-config.js';
import { ApiClients } from '../../src/http/api-clients.js';
import { httpPolicy } from '../../src/http/http-policy.js';
import { RedisRateLimiters } from '../../src/http/redis-rate-limiter.js';
import { createLogger } from '../../src/logger.js';
import { createRedisClient } from '../../src/redis/redis-connection.js';
import { queueSettings, readSettings } from '../../src/runtime/settings.js';
import { runJob } from '../../src/runner.js';
import { Writable } from 'node:stream';

const env = process.env;
const settings = queueSettings(readSettings(env));
const config = loadConfig({ dir: env['CHILD_CONFIG_DIR']!, env });
const logger = createLogger({ level: 'warn', redactor: config.redactor, pretty: false });
const redis = createRedisClient(settings.redis);
const rateLimiters = new RedisRateLimiters({ redis, prefix: settings.prefix });
const policy = httpPolicy({ logger, redactor: config.redactor, rateLimiters });
// When the budget let each request go: the moment the limiter is accountable for. Arrival times
// at the server add the scheduling jitter of a loaded machine on top.
const sentAt: number[] = [];
const clients = new ApiClients({
  config,
  logger,
  wrapTransport: (transport, connection) =>
    policy((request) => {
      sentAt.push(Date.now());
      return transport(request);
    }, connection),
});
const sink = new Writable({ write: (_c, _e, done) => done() });
let runs = 0;
try {
  const total = Number(env['CHILD_RUNS']);
  await Promise.all(
    Array.from({ length: Number(env['CHILD_CONCURRENCY']) }, async () => {
      while (runs < total) {
        runs++;
        await runJob({ config, job: env['CHILD_JOB']!, clients, logger, stdout: sink, params: { worker: env['CHILD_WORKER']! } });
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ runs, sentAt })}\n`);
} finally {
  await clients.close();
  redis.disconnect();
}
