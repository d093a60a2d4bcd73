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
let done = 0;
worker.worker.on('completed', () => {
  done++;
});
// This process's CPU time so far (µs), for the bench's CPU-per-run figure: sent when ready and
// when asked (not with every count: getrusage 20 times a second would weigh on the figure).
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
process.on('message', (m) => {
  if (m === 'cpu') process.send?.({ cpu: cpu() });
});
const report = setInterval(() => process.send?.({ done }), 50);
await worker.start();
process.send?.({ ready: true, cpu: cpu() });
process.on('SIGTERM', async () => {
  clearInterval(report);
  await worker.close(1000);
  await mode.close();
  redis.disconnect();
  process.exit(0);
});
