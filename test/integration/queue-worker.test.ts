import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/types.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { enqueueCommand } from '../../src/commands/enqueue.js';
import { RedisStateStore } from '../../src/state/redis-state-store.js';
import { statusCommand } from '../../src/commands/status.js';
import type { RunJobProgress } from '../../src/queue/run-worker.js';
import { RunWorker } from '../../src/queue/run-worker.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { startTestServer, type TestServer } from '../helpers/http-test-server.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { createProject, type TempProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';
import { scanKeysAndValues } from '../helpers/redis-scan.js';

const url = inject('redisUrl');
const ACCESS_TOKEN = 'at-queue-test-7f3a9c1d2e';
const API_SECRET = 'sec-queue-test-5b8e0a4f';

let api: SampleApi;
let flaky: TestServer;
let flakyCalls = 0;
const sinceSeen: string[] = [];
let admin: Redis;

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: [ACCESS_TOKEN] });
  // Answers 503 to the first two requests of each `fail=` group, 404 on /missing, and records ?since=.
  flaky = await startTestServer((_req, res, { url: u }) => {
    flakyCalls++;
    if (u.pathname === '/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such thing"}');
    if (u.pathname === '/flaky' && flakyCalls <= 2) return void res.writeHead(503).end('busy');
    sinceSeen.push(u.searchParams.get('since') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 42 }));
  });
  admin = new Redis(url);
});

afterAll(async () => {
  await api.close();
  await flaky.close();
  admin.disconnect();
});

function project(): TempProject {
  return createProject(
    `connections:
  demo:
    baseUrl: ${api.url}
    accessToken: ${ACCESS_TOKEN}
    apiSecret: ${API_SECRET}
    retry: { attempts: 1 }
  side:
    baseUrl: ${flaky.url}
    accessToken: ${ACCESS_TOKEN}
    retry: { attempts: 1 }
`,
    {
      orders: `connection: demo
params: { status: open }
grid:
  path: /v1/orders
  query: { status: "{{params.status}}", per_page: 1000 }
  rows: $.data[*]
  columns: { id: $.id, status: $.status }
output:
  - csv: out/{job}-{runId}.csv
attempts: 3
`,
      missing: `connection: side
scalar: { path: /missing, value: $.count }
output: [{ csv: "out/missing.csv" }]
attempts: 3
`,
      flaky: `connection: side
scalar: { path: /flaky, value: $.count }
output: [{ csv: "out/flaky.csv" }]
attempts: 3
`,
      since: `connection: side
scalar:
  path: /since
  query: { since: "{{lastSuccessAt}}" }
  value: $.count
output: [{ csv: "out/since.csv" }]
`,
    },
  );
}

async function withWorker<T>(
  fn: (ctx: { config: Config; settings: ReturnType<typeof testSettings>; queue: Queue<RunRequest>; dir: string; logs: string[] }) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const proj = project();
  const settings = testSettings(url, env);
  const config = loadConfig({ dir: proj.dir, env: {} });
  const { logger, lines } = memoryLogger({ level: 'debug' });
  const clients = new ApiClients({ config, logger });
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const worker = new RunWorker({ config, settings, clients, logger, redis, concurrency: 2, progressIntervalMs: 0 });
  // Another system's producer: a plain BullMQ queue, nothing from restq.
  const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
  try {
    await worker.start();
    return await fn({ config, settings, queue, dir: proj.dir, logs: lines });
  } finally {
    await worker.close(1_000);
    await queue.close();
    await clients.close();
    await deletePrefix(redis, settings.prefix);
    redis.disconnect();
    proj.cleanup();
  }
}

async function finished(queue: Queue<RunRequest>, id: string) {
  await until(async () => ['completed', 'failed'].includes(await queue.getJobState(id)), `run ${id} to finish`);
  return (await queue.getJob(id))!;
}

describe('BullMQ worker', () => {
  it('runs a run added by a plain BullMQ Queue.add, reports it in status, and leaks no secret', async () => {
    await withWorker(async ({ config, settings, queue, dir, logs }) => {
      const added = await queue.add('orders', { job: 'orders', params: { status: 'closed' } });
      const job = await finished(queue, added.id!);
      expect(job.failedReason).toBeUndefined();
      expect(job.returnvalue).toMatchObject({ runId: added.id, job: 'orders', rows: 45, pages: 1 });
      expect(job.progress).toEqual({ pages: 1, rows: 45 });
      const csv = readFileSync(path.join(dir, 'out', `orders-${added.id}.csv`), 'utf8').trim().split('\r\n');
      expect(csv).toHaveLength(46);
      expect(csv.slice(1).every((line) => line.endsWith(',closed'))).toBe(true);

      const status = await statusCommand(config, settings.all);
      expect(Object.keys(status)).toEqual(['mode', 'jobs', 'queue']);
      const orders = status.jobs.find((j) => j.name === 'orders')!;
      expect(Object.keys(orders)).toEqual(['name', 'schedule', 'timezone', 'nextRunAt', 'paused', 'lastRun']);
      expect(Object.keys(orders.lastRun!)).toEqual(['runId', 'status', 'startedAt', 'finishedAt', 'rows', 'error']);
      expect(orders).toMatchObject({ schedule: null, timezone: 'UTC', nextRunAt: null, lastRun: { runId: added.id, status: 'succeeded', rows: 45, error: null } });
      expect(status.queue).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 0 });

      for (const text of [...(await scanKeysAndValues(admin, `${settings.prefix}:*`)), ...logs, JSON.stringify(job.data), JSON.stringify(job.returnvalue)]) {
        expect(text).not.toContain(ACCESS_TOKEN);
        expect(text).not.toContain(API_SECRET);
      }
    });
  });

  it('fails bad data at once with a clear reason and keeps working', async () => {
    await withWorker(async ({ queue }) => {
      const opts = { attempts: 3, backoff: { type: 'fixed', delay: 10 } };
      const unknown = await queue.add('nope', { job: 'nope', params: {} }, opts);
      const badParams = await queue.add('orders', { job: 'orders', params: { status: { $ne: 1 } } } as unknown as RunRequest, opts);
      const notObject = await queue.add('orders', 'orders please' as unknown as RunRequest, opts);
      const good = await queue.add('orders', { job: 'orders', params: {} }, opts);
      const [a, b, c, d] = [await finished(queue, unknown.id!), await finished(queue, badParams.id!), await finished(queue, notObject.id!), await finished(queue, good.id!)];
      expect(a.failedReason).toMatch(/unknown job "nope": defined jobs are .*orders/);
      expect(b.failedReason).toMatch(/params\.status is an object; params are strings, numbers, booleans or null/);
      expect(c.failedReason).toMatch(/invalid run data: got string .*expected data \{"job"/);
      for (const job of [a, b, c]) expect(job.attemptsMade).toBe(1); // UnrecoverableError: no retries spent
      expect(d.returnvalue.rows).toBe(92);
    });
  });

  it('does not retry a 4xx, retries a 5xx with backoff', async () => {
    await withWorker(async ({ config, settings }) => {
      const ids: string[] = [];
      await enqueueCommand({ config, settings, job: 'missing', params: {}, onQueued: (id) => ids.push(id) });
      await enqueueCommand({ config, settings, job: 'flaky', params: {}, onQueued: (id) => ids.push(id) });
      const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
      try {
        const missing = await finished(queue, ids[0]!);
        expect(missing.failedReason).toMatch(/GET .*\/missing answered 404/);
        expect(missing.attemptsMade).toBe(1);
        const flakyJob = await finished(queue, ids[1]!);
        expect(flakyJob.returnvalue.rows).toBe(1);
        expect(flakyJob.attemptsMade).toBe(2); // two failed attempts (503), the third succeeded
      } finally {
        await queue.close();
      }
      const status = await statusCommand(config, settings.all);
      expect(status.jobs.find((j) => j.name === 'missing')!.lastRun).toMatchObject({ status: 'failed', error: expect.stringContaining('404') });
      expect(status.jobs.find((j) => j.name === 'flaky')!.lastRun).toMatchObject({ status: 'succeeded', rows: 1 });
    });
  });

  it('streams progress to enqueue --wait and passes lastSuccessAt to the next run', async () => {
    await withWorker(async ({ config, settings }) => {
      const progress: RunJobProgress[] = [];
      const outcome = await enqueueCommand({ config, settings, job: 'orders', params: { status: 'open' }, onQueued: () => undefined, onProgress: (p) => progress.push(p) });
      expect(outcome).toMatchObject({ status: 'completed', result: { rows: 92, pages: 1 } });
      expect(progress.at(-1)).toEqual({ pages: 1, rows: 92 });

      sinceSeen.length = 0;
      const first = await enqueueCommand({ config, settings, job: 'since', params: {}, onQueued: () => undefined, onProgress: () => undefined });
      await enqueueCommand({ config, settings, job: 'since', params: {}, onQueued: () => undefined, onProgress: () => undefined });
      expect(first?.status).toBe('completed');
      expect(sinceSeen).toEqual(['', first?.status === 'completed' ? first.result.startedAt : 'x']);
    });
  });

  it('reports a failed run to enqueue --wait', async () => {
    await withWorker(async ({ config, settings, dir }) => {
      const outcome = await enqueueCommand({ config, settings, job: 'missing', params: {}, onQueued: () => undefined, onProgress: () => undefined });
      expect(outcome).toMatchObject({ status: 'failed', error: { code: 'E_HTTP', message: expect.stringContaining('answered 404') } });
      expect(readdirSync(dir)).not.toContain('out.csv');
    });
  });

  it('keeps only as many finished runs as RESTQ_KEEP_COMPLETED / RESTQ_KEEP_FAILED say, and a bounded run history', async () => {
    await withWorker(
      async ({ config, settings, queue }) => {
        for (let i = 0; i < 4; i++) await enqueueCommand({ config, settings, job: 'since', params: {}, onQueued: () => undefined, onProgress: () => undefined });
        for (let i = 0; i < 3; i++) await enqueueCommand({ config, settings, job: 'missing', params: {}, onQueued: () => undefined, onProgress: () => undefined });
        expect(await queue.getCompletedCount()).toBe(2);
        expect(await queue.getFailedCount()).toBe(1);
        expect(await admin.llen(`${settings.prefix}:${settings.queue}:state:history:since`)).toBe(3);
        // The history keeps the final outcome of every run, newest first: 3 of the 4 succeeded runs.
        expect((await new RedisStateStore({ redis: admin, prefix: settings.prefix, queue: settings.queue }).history('since')).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      },
      { RESTQ_KEEP_COMPLETED: '2', RESTQ_KEEP_FAILED: '1', RESTQ_HISTORY: '3' },
    );
  });
});
