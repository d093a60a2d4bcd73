import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { freePort, startOwnRedis } from '../helpers/own-redis.js';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { demoProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';
import { spawnRestq, type RestqProcess } from '../helpers/run-cli.js';

const url = inject('redisUrl');
const TOKEN = 'at-process-test-9d2c';
let fast: SampleApi;
let slow: SampleApi;
let admin: Redis;
const processes: RestqProcess[] = [];

beforeAll(async () => {
  fast = await startSampleApi({ staticTokens: [TOKEN] });
  slow = await startSampleApi({ staticTokens: [TOKEN], pageDelayMs: 1_000 });
  admin = new Redis(url);
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await fast.close();
  await slow.close();
  admin.disconnect();
});

function restq(args: string[], env: Record<string, string | undefined>, dir: string): RestqProcess {
  const p = spawnRestq(args, env, dir);
  processes.push(p);
  return p;
}

const project = (api: SampleApi, jobs: Record<string, string>) => demoProject(api.url, TOKEN, jobs);
const ordersJob = `connection: demo
grid:
  path: /v1/orders
  query: { per_page: 1000 }
  rows: $.data[*]
  columns: { id: $.id, status: $.status }
output: [{ csv: "out/orders.csv" }]
`;

function openQueue(settings: { queue: string; prefix: string }, redisUrl = url) {
  return new Queue<RunRequest>(settings.queue, { connection: { url: redisUrl }, prefix: settings.prefix });
}

describe('restq processes', () => {
  it('worker without REDIS_URL exits 2 pointing to start; producers fail fast when Redis is down', async () => {
    const proj = project(fast, { orders: ordersJob });
    try {
      const down = `redis://127.0.0.1:${await freePort()}`;
      const started = Date.now();
      const worker = restq(['worker'], { REDIS_URL: '' }, proj.dir);
      const enqueue = restq(['enqueue', 'orders'], { REDIS_URL: down }, proj.dir);
      expect(await worker.exited).toBe(2);
      expect(worker.stderr()).toMatch(/needs REDIS_URL.*use `restq start`/);
      expect(await enqueue.exited).toBe(1);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(enqueue.stderr()).toContain(`cannot reach Redis at ${down}`);
      expect(enqueue.stdout()).toBe('');
    } finally {
      proj.cleanup();
    }
  });

  it('start without REDIS_URL runs the schedules standalone, says so, and stops on SIGTERM', async () => {
    const proj = project(fast, {
      tick: `connection: demo
schedule: "* * * * * *"
scalar: { path: /v1/orders/count, value: $.count }
output: [{ csv: { path: "out/tick.csv", append: true } }]
`,
    });
    try {
      const start = restq(['start', '--concurrency', '2'], { REDIS_URL: '' }, proj.dir);
      await start.waitForStderr(/standalone mode \(REDIS_URL is not set\)/);
      const csv = path.join(proj.dir, 'out', 'tick.csv');
      await until(() => {
        try {
          return readFileSync(csv, 'utf8').trim().split('\r\n').length >= 3;
        } catch {
          return false;
        }
      }, 'two standalone runs', 10_000, 100);
      start.child.kill('SIGTERM');
      expect(await start.exited).toBe(0);
      expect(start.stderr()).toContain('scheduled tick: "* * * * * *" (UTC)');
    } finally {
      proj.cleanup();
    }
  });

  it('several replicas running `start` produce exactly one run per tick, and stop on SIGTERM', async () => {
    const proj = project(fast, {
      tick: `connection: demo
schedule: "* * * * * *"
timezone: Europe/Berlin
scalar: { path: /v1/orders/count, value: $.count }
output: [{ csv: "out/{runId}.csv" }]
`,
    });
    const settings = testSettings(url);
    const queue = openQueue(settings);
    try {
      const replicas = [1, 2, 3].map(() => restq(['start', '--concurrency', '2'], settings.env, proj.dir));
      for (const r of replicas) await r.waitForStderr(/worker ready/);
      expect(replicas[0]!.stderr()).toMatch(/distributed mode \(REDIS_URL is set/);
      await until(async () => (await queue.getCompletedCount()) >= 3, 'three scheduled runs', 15_000, 100);
      for (const r of replicas) r.child.kill('SIGTERM');
      for (const r of replicas) expect(await r.exited).toBe(0);
      const runs = await queue.getCompleted(0, -1);
      // A scheduler's run is repeat:<job>:<tick>; a tick that fell due while the replicas were
      // still syncing is run once as catchup-<job>-<tick> (misfire: once). Either way one per tick.
      const ticks = runs.map((run) => Number(/^(?:repeat:tick:|catchup-tick-)(\d+)$/.exec(run.id!)?.[1] ?? Number.NaN));
      expect(ticks.filter((t) => Number.isNaN(t)), runs.map((r) => r.id).join(' ')).toEqual([]);
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(ticks.every((t) => t % 1000 === 0)).toBe(true);
      expect(await queue.getJobSchedulersCount()).toBe(1);
      // One output file per run, named by its run id (= its tick): no tick ran twice.
      expect(readdirSync(path.join(proj.dir, 'out')).sort()).toEqual(runs.map((r) => `${r.id!.replace(/:/g, '-')}.csv`).sort());
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      proj.cleanup();
    }
  });

  it('recovers a run whose worker was SIGKILLed: another worker completes it, one complete CSV', async () => {
    const proj = project(slow, { orders: ordersJob });
    const settings = testSettings(url, { RESTQ_LOCK_DURATION: '1s', RESTQ_STALLED_INTERVAL: '300ms' });
    const queue = openQueue(settings);
    try {
      const a = restq(['worker'], settings.env, proj.dir);
      await a.waitForStderr(/worker ready/);
      const added = await queue.add('orders', { job: 'orders', params: {} }, { attempts: 1 });
      await until(async () => (await queue.getJobState(added.id!)) === 'active', 'run active on worker A');
      a.child.kill('SIGKILL');
      expect(await a.exited).toBe('SIGKILL');
      const b = restq(['worker'], settings.env, proj.dir);
      await until(async () => (await queue.getJobState(added.id!)) === 'completed', 'run recovered and completed by worker B', 20_000, 100);
      const job = (await queue.getJob(added.id!))!;
      expect(job.returnvalue).toMatchObject({ runId: added.id, rows: 137 });
      expect(job.stalledCounter).toBe(1);
      expect(readdirSync(path.join(proj.dir, 'out'))).toEqual(['orders.csv']);
      const lines = readFileSync(path.join(proj.dir, 'out', 'orders.csv'), 'utf8').trim().split('\r\n');
      expect(lines).toHaveLength(138);
      expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(137);
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      proj.cleanup();
    }
  });

  it('reconnects after a Redis restart mid-run and loses no queued run (AOF)', async () => {
    const redis = await startOwnRedis({ aof: true });
    const proj = project(slow, { orders: ordersJob.replace('[{ csv: "out/orders.csv" }]', '[{ stdout: {} }]') });
    const settings = testSettings(redis.url);
    const queue = openQueue(settings, redis.url);
    queue.on('error', () => undefined);
    try {
      const worker = restq(['worker', '--concurrency', '3'], settings.env, proj.dir);
      await worker.waitForStderr(/worker ready/);
      await queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'orders', data: { job: 'orders', params: {} } })));
      await until(async () => (await queue.getActiveCount()) === 3, 'three runs in flight');
      // Redis goes away while 3 runs are active and 3 are queued, and comes back from its AOF.
      await redis.stop();
      await redis.start();
      await until(async () => (await queue.getCompletedCount()) === 6, 'all 6 runs completed after the restart', 30_000, 100);
      expect(await queue.getFailedCount()).toBe(0);
      expect(worker.child.exitCode).toBeNull();
      expect(worker.stdout().trim().split('\n')).toHaveLength(6 * 137);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    } finally {
      await queue.close();
      await redis.cleanup();
      proj.cleanup();
    }
  });

  it('on SIGTERM lets the active run finish; past the grace period hands it back; a second signal exits at once', async () => {
    const proj = project(slow, { orders: ordersJob });
    const settings = testSettings(url);
    const queue = openQueue(settings);
    try {
      // 1. Finish within the grace period.
      const a = restq(['worker'], settings.env, proj.dir);
      await a.waitForStderr(/worker ready/);
      // The CLI producers against this worker: enqueue --wait and status --json.
      const enqueue = restq(['enqueue', 'orders', '--wait'], settings.env, proj.dir);
      expect(await enqueue.exited).toBe(0);
      const runId = enqueue.stdout().trim();
      expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
      // Not a terminal: no progress line, only the summary (the live line is tested on a pty).
      expect(enqueue.stderr()).not.toContain('pages 1 ·');
      expect(enqueue.stderr()).toContain(`orders ${runId}: 137 rows`);
      const status = restq(['status', '--json'], settings.env, proj.dir);
      expect(await status.exited).toBe(0);
      expect(JSON.parse(status.stdout())).toMatchObject({
        jobs: [{ name: 'orders', schedule: null, timezone: 'UTC', nextRunAt: null, lastRun: { runId, status: 'succeeded', rows: 137, error: null } }],
        queue: { waiting: 0, active: 0, delayed: 0, completed: 1, failed: 0 },
      });
      const first = await queue.add('orders', { job: 'orders', params: {} });
      await until(async () => (await queue.getJobState(first.id!)) === 'active', 'first run active');
      a.child.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      expect(await queue.getJobState(first.id!)).toBe('completed');

      // 2. Grace period shorter than the run: it goes back to the queue, no attempt spent.
      const b = restq(['worker'], { ...settings.env, RESTQ_SHUTDOWN_GRACE: '100ms' }, proj.dir);
      await b.waitForStderr(/worker ready/);
      const second = await queue.add('orders', { job: 'orders', params: {} }, { attempts: 1 });
      await until(async () => (await queue.getJobState(second.id!)) === 'active', 'second run active');
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      expect(await queue.getJobState(second.id!)).toBe('waiting');
      expect((await queue.getJob(second.id!))!.attemptsMade).toBe(0);
      expect(readdirSync(path.join(proj.dir, 'out')).filter((f) => f.includes('.tmp-'))).toEqual([]);

      // 3. A second signal does not wait.
      const c = restq(['worker'], settings.env, proj.dir);
      await c.waitForStderr(/worker ready/);
      await until(async () => (await queue.getJobState(second.id!)) === 'active', 'second run picked up again');
      c.child.kill('SIGTERM');
      await c.waitForStderr(/shutting down/);
      c.child.kill('SIGTERM');
      expect(await c.exited).toBe(130);
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      proj.cleanup();
    }
  });
});
