import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { RunWorker } from '../../src/queue/run-worker.js';
import { RedisStateStore } from '../../src/state/redis-state-store.js';
import { captureLogger, demoProject, deletePrefix, incrementalOrdersJob, testSettings, until } from '../helpers/queue-fixture.js';
import { spawnRestq, type RestqProcess } from '../helpers/restq-process.js';

const url = inject('redisUrl');
const TOKEN = 'at-state-distributed-4d1e';

let api: SampleApi;
let slowApi: SampleApi;
let admin: Redis;
const prefixes: string[] = [];
const children: RestqProcess[] = [];

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: [TOKEN] });
  slowApi = await startSampleApi({ staticTokens: [TOKEN], pageDelayMs: 1200 });
  admin = new Redis(url);
});

afterAll(async () => {
  for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGKILL');
  await api.close();
  await slowApi.close();
  for (const prefix of prefixes) await deletePrefix(admin, prefix);
  admin.disconnect();
});

function setup(baseUrl: string, env: Record<string, string> = {}) {
  const proj = demoProject(baseUrl, TOKEN, {
    orders: incrementalOrdersJob(),
    hourly: incrementalOrdersJob('schedule: "0 * * * *"\nmisfire: skip\n'),
    hourlyonce: incrementalOrdersJob('schedule: "0 * * * *"\n'),
  });
  const settings = testSettings(url, env);
  prefixes.push(settings.prefix);
  const state = new RedisStateStore({ redis: admin, prefix: settings.prefix, queue: settings.queue });
  return { proj, settings, state };
}

const query = (request: string) => Object.fromEntries(new URL(request, 'http://x').searchParams);

async function startWorker(dir: string, env: Record<string, string>): Promise<RestqProcess> {
  const worker = spawnRestq(['worker', '--concurrency', '1'], env, dir);
  children.push(worker);
  await worker.waitForStderr(/worker ready/, 60_000);
  return worker;
}

describe('backfill on 2 worker processes', () => {
  it('runs one queued run per window, in parallel, with exact request windows, never moving the cursor', async () => {
    const { proj, settings, state } = setup(slowApi.url);
    try {
      const workers = [await startWorker(proj.dir, settings.env), await startWorker(proj.dir, settings.env)];
      const mark = slowApi.orderRequests.length;
      const backfill = spawnRestq(['backfill', 'orders', '--from', '2026-01-02', '--to', '2026-01-06', '--slice', '1d', '--wait'], settings.env, proj.dir);
      children.push(backfill);
      expect(await backfill.exited).toBe(0);
      const runIds = backfill.stdout().trim().split('\n').map((l) => l.split(' ')[0]!);
      expect(runIds).toHaveLength(4);
      expect(backfill.stderr()).toMatch(/4\/4 windows done/);

      const windows = slowApi.orderRequests.slice(mark).map((r) => `${query(r).updated_since} ${query(r).updated_before}`).sort();
      expect(windows).toEqual([
        '2026-01-02T00:00:00.000Z 2026-01-03T00:00:00.000Z',
        '2026-01-03T00:00:00.000Z 2026-01-04T00:00:00.000Z',
        '2026-01-04T00:00:00.000Z 2026-01-05T00:00:00.000Z',
        '2026-01-05T00:00:00.000Z 2026-01-06T00:00:00.000Z',
      ]);
      const history = await state.history('orders');
      expect(history).toHaveLength(4);
      expect(new Set(history.map((r) => r.runId))).toEqual(new Set(runIds));
      for (const record of history) expect(record).toMatchObject({ trigger: 'backfill', status: 'succeeded', rows: 24, cursorBefore: null, cursorAfter: null });
      // Two workers: at least two windows ran at the same time.
      const spans = history.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)] as const);
      const overlapping = spans.some((a, i) => spans.some((b, j) => i !== j && a[0] < b[1] && b[0] < a[1]));
      expect(overlapping).toBe(true);
      expect((await state.getCursor('orders')).cursor).toBeNull();
      // Each window its own atomic output.
      expect(readdirSync(path.join(proj.dir, 'out')).filter((f) => f.endsWith('.csv')).sort()).toEqual(runIds.map((id) => `orders-${id}.csv`).sort());

      // One window again, alone (as after a failure).
      const again = spawnRestq(['backfill', 'orders', '--from', '2026-01-03T00:00:00Z', '--to', '2026-01-04T00:00:00Z', '--wait'], settings.env, proj.dir);
      children.push(again);
      expect(await again.exited).toBe(0);
      expect(query(slowApi.orderRequests.at(-1)!)).toMatchObject({ updated_since: '2026-01-03T00:00:00.000Z', updated_before: '2026-01-04T00:00:00.000Z' });
      for (const worker of workers) worker.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    } finally {
      proj.cleanup();
    }
  }, 180_000);

  it('refuses --from after --to (exit 2) and a job without incremental (exit 1)', async () => {
    const { proj, settings } = setup(api.url);
    proj.writeJob('plain', 'connection: demo\ngrid: { path: /v1/orders, rows: "$.data[*]" }\n');
    try {
      const reversed = spawnRestq(['backfill', 'orders', '--from', '2026-02-01', '--to', '2026-01-01'], settings.env, proj.dir);
      const plain = spawnRestq(['backfill', 'plain', '--from', '2026-01-01'], settings.env, proj.dir);
      children.push(reversed, plain);
      expect(await reversed.exited).toBe(2);
      expect(reversed.stderr()).toMatch(/--from 2026-02-01T00:00:00.000Z is not before --to/);
      expect(await plain.exited).toBe(1);
      expect(plain.stderr()).toMatch(/job "plain" has no incremental: section/);
    } finally {
      proj.cleanup();
    }
  }, 120_000);
});

describe('a worker killed mid-run (SIGKILL)', () => {
  it('leaves the cursor untouched; the recovered run asks for the same window and then moves it', async () => {
    const env = { RESTQ_LOCK_DURATION: '2s', RESTQ_STALLED_INTERVAL: '1s' };
    const { proj, settings, state } = setup(slowApi.url, env);
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    try {
      await state.setCursor('orders', { value: '2026-01-03T00:00:00.000Z', sortKey: String(Date.parse('2026-01-03T00:00:00.000Z')), order: 'number' });
      const victim = await startWorker(proj.dir, settings.env);
      const mark = slowApi.orderRequests.length;
      const added = await queue.add('orders', { job: 'orders', params: {} }, { jobId: 'killed-run', attempts: 3 });
      await until(async () => slowApi.orderRequests.length > mark, 'the run to send its first request', 30_000);
      victim.child.kill('SIGKILL');
      await victim.exited;
      expect((await state.getCursor('orders')).cursor).toBe('2026-01-03T00:00:00.000Z');
      expect(await state.history('orders')).toEqual([]);

      const rescuer = await startWorker(proj.dir, settings.env);
      await until(async () => (await queue.getJobState(added.id!)) === 'completed', 'the stalled run to be recovered and finish', 60_000, 200);
      const windows = slowApi.orderRequests.slice(mark).map((r) => query(r).updated_since);
      expect(new Set(windows)).toEqual(new Set(['2026-01-03T00:00:00.000Z']));
      const [record] = await state.history('orders');
      expect(record).toMatchObject({ runId: 'killed-run', status: 'succeeded', cursorBefore: '2026-01-03T00:00:00.000Z', cursorAfter: '2026-01-06T17:30:00.000Z' });
      expect((await state.getCursor('orders')).cursor).toBe('2026-01-06T17:30:00.000Z');
      rescuer.child.kill('SIGTERM');
      await rescuer.exited;
    } finally {
      await queue.close();
      proj.cleanup();
    }
  }, 180_000);
});

describe('misfire and pause on the worker', () => {
  it('skip records a late tick as skipped (E_MISFIRE), once runs it, a paused job\'s tick is skipped (E_PAUSED)', async () => {
    const { proj, settings, state } = setup(api.url);
    const config = loadConfig({ dir: proj.dir, env: {} });
    const { logger } = captureLogger('warn');
    const clients = new ApiClients({ config, logger });
    const redis = new Redis(url, { maxRetriesPerRequest: null });
    const worker = new RunWorker({ config, settings, clients, logger, redis, concurrency: 1 });
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    const done = async (id: string) => until(async () => (await queue.getJobState(id)) === 'completed', `run ${id}`, 30_000);
    try {
      await worker.start();
      const threeHoursAgo = Date.now() - 3 * 3_600_000;
      const mark = api.orderRequests.length;
      await queue.add('hourly', { job: 'hourly', params: {}, tick: threeHoursAgo }, { jobId: 'late-skip' });
      await done('late-skip');
      expect(api.orderRequests.length).toBe(mark);
      expect((await state.history('hourly'))[0]).toMatchObject({ runId: 'late-skip', trigger: 'schedule', status: 'skipped', error: { code: 'E_MISFIRE' } });

      // The latest tick of "0 * * * *" (this hour), late by less than one interval: runs even under skip.
      await queue.add('hourly', { job: 'hourly', params: {}, tick: Math.floor(Date.now() / 3_600_000) * 3_600_000 }, { jobId: 'slightly-late' });
      await done('slightly-late');
      expect((await state.history('hourly'))[0]).toMatchObject({ runId: 'slightly-late', status: 'succeeded', rows: 137 });

      // misfire: once: the catch-up run runs, once.
      await queue.add('hourlyonce', { job: 'hourlyonce', params: {}, tick: threeHoursAgo }, { jobId: 'catch-up' });
      await done('catch-up');
      expect((await state.history('hourlyonce'))[0]).toMatchObject({ runId: 'catch-up', trigger: 'schedule', status: 'succeeded' });

      await state.setPaused('hourlyonce', true);
      await queue.add('hourlyonce', { job: 'hourlyonce', params: {}, tick: Date.now() }, { jobId: 'paused-tick' });
      await done('paused-tick');
      expect((await state.history('hourlyonce'))[0]).toMatchObject({ runId: 'paused-tick', status: 'skipped', error: { code: 'E_PAUSED' } });
    } finally {
      await worker.close(1_000);
      await queue.close();
      await clients.close();
      redis.disconnect();
      proj.cleanup();
    }
  }, 60_000);
});
