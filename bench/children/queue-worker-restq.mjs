// The queue bench's restq side: the worker `restq worker` runs (RunWorker: runJob per queued run,
// run records for `restq status`, progress, metrics), on the built code. argv: redisUrl prefix queue concurrency configDir
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createModeClients } from '../../dist/commands/api-clients-for-mode.js';
import { loadConfig } from '../../dist/config/load-config.js';
import { Metrics } from '../../dist/ops/metrics.js';
import { createRedisClient } from '../../dist/redis/redis-connection.js';
import { readSettings } from '../../dist/runtime/settings.js';
import { RunWorker } from '../../dist/queue/run-worker.js';
import { serveQueueBench } from '../lib/queue-bench-child.mjs';

const [redisUrl, prefix, queue, concurrency, dir] = process.argv.slice(2);
const all = readSettings({ REDIS_URL: redisUrl, RESTQ_PREFIX: prefix, RESTQ_QUEUE: queue });
const config = loadConfig({ dir, env: {} });
const settings = all.queue;
const logger = pino({ level: 'warn' });
const redis = createRedisClient(settings.redis, { role: 'blocking', name: 'restq-worker', logger });
// Counters as `restq worker` keeps them (in memory, for /metrics).
const metrics = new Metrics();
const mode = await createModeClients(config, logger, all, metrics);
// The scalar job prints its value on stdout: discard it, the bench measures the queue.
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const worker = new RunWorker({ config, settings, clients: mode.clients, logger, redis, concurrency: Number(concurrency), metrics, stdout: discard });
await serveQueueBench(worker.worker, {
  start: () => worker.start(),
  stop: async () => {
    await worker.close(1000);
    await mode.close();
    redis.disconnect();
  },
});
