import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createLogger } from '../../src/log/logger.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { RunWorker } from '../../src/queue/run-worker.js';
import { syncSchedules } from '../../src/queue/schedules.js';
import { StandaloneScheduler } from '../../src/queue/standalone-scheduler.js';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { createProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';

const url = inject('redisUrl');
const TOKEN = 'at-schedule-test-1234';
let api: SampleApi;
let admin: Redis;

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: [TOKEN] });
  admin = new Redis(url);
});

afterAll(async () => {
  await api.close();
  admin.disconnect();
});

const connections = () => `connections:\n  demo:\n    baseUrl: ${api.url}\n    accessToken: ${TOKEN}\n`;
const countJob = (schedule?: string, timezone = 'UTC') => `connection: demo
${schedule ? `schedule: "${schedule}"\ntimezone: ${timezone}\n` : ''}scalar: { path: /v1/orders/count, value: $.count }
output: [{ csv: "out/{job}-{runId}.csv" }]
`;
const silent = createLogger({ level: 'silent' });

describe('job schedulers', () => {
  it('upserts one scheduler per scheduled job, even from concurrent syncs, and removes deleted jobs', async () => {
    const proj = createProject(connections(), { hourly: countJob('0 * * * *', 'Europe/Berlin'), nightly: countJob('0 3 * * *', 'Asia/Kolkata'), adhoc: countJob() });
    const settings = testSettings(url);
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    try {
      const config = loadConfig({ dir: proj.dir, env: {} });
      const syncs = await Promise.all([1, 2, 3].map(() => syncSchedules(queue, config, settings)));
      const schedulers = await queue.getJobSchedulers(0, -1);
      expect(schedulers.map((s) => s.key).sort()).toEqual(['hourly', 'nightly']);
      expect(schedulers.find((s) => s.key === 'hourly')).toMatchObject({ pattern: '0 * * * *', tz: 'Europe/Berlin' });
      expect(await queue.getDelayedCount()).toBe(2); // one next run per scheduler, not one per sync
      const next = syncs[0]!.upserted.find((u) => u.job === 'nightly')!.next!;
      // 03:00 in Kolkata (UTC+5:30) is 21:30 UTC: the timezone reached BullMQ.
      expect([new Date(next).getUTCHours(), new Date(next).getUTCMinutes()]).toEqual([21, 30]);
      expect(next).toBeGreaterThan(Date.now());

      proj.removeJob('nightly');
      proj.writeJob('hourly', countJob()); // lost its schedule
      const after = await syncSchedules(queue, loadConfig({ dir: proj.dir, env: {} }), settings);
      expect(after.removed.sort()).toEqual(['hourly', 'nightly']);
      expect(await queue.getJobSchedulersCount()).toBe(0);
      expect(await queue.getDelayedCount()).toBe(0);
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      proj.cleanup();
    }
  });

  it('a re-sync after downtime queues the overdue tick as one catch-up run, even from concurrent syncs', async () => {
    const proj = createProject(connections(), { tick: countJob('* * * * * *') });
    const settings = testSettings(url);
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    try {
      const config = loadConfig({ dir: proj.dir, env: {} });
      const first = await syncSchedules(queue, config, settings);
      const overdue = first.upserted[0]!.next!;
      expect(first.upserted[0]!.catchUp).toBeUndefined();
      // No worker runs: the pending run of that tick falls due and stays queued.
      await until(() => Date.now() > overdue + 200, 'the pending tick to be overdue', 5_000, 50);
      // Workers come back (a restart or a config reload): three sync at once.
      const again = await Promise.all([1, 2, 3].map(() => syncSchedules(queue, config, settings)));
      const catchUps = again.flatMap((sync) => sync.upserted.flatMap((u) => (u.catchUp === undefined ? [] : [u.catchUp])));
      expect(new Set(catchUps)).toEqual(new Set([overdue]));
      const job = await queue.getJob(`catchup-tick-${overdue}`);
      expect(job?.data).toEqual({ job: 'tick', params: {}, tick: overdue });
      // The tick is queued once: as the catch-up run, not also as the scheduler's own run.
      expect(await queue.getJobState(`repeat:tick:${overdue}`)).toBe('unknown');
      const queued = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
      expect(queued.filter((j) => j.data.tick === overdue || j.id === `repeat:tick:${overdue}`).map((j) => j.id)).toEqual([`catchup-tick-${overdue}`]);
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      proj.cleanup();
    }
  });

  it('runs a 1-second cron pattern with a timezone: one run per whole-second tick, none early', async () => {
    const proj = createProject(connections(), { tick: countJob('* * * * * *', 'America/New_York') });
    const settings = testSettings(url);
    const config = loadConfig({ dir: proj.dir, env: {} });
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    const redis = new Redis(url, { maxRetriesPerRequest: null });
    const clients = new ApiClients({ config, logger: silent });
    const worker = new RunWorker({ config, settings, clients, logger: silent, redis, concurrency: 2 });
    try {
      await worker.start();
      await syncSchedules(queue, config, settings);
      await until(async () => (await queue.getCompletedCount()) >= 3, 'three scheduled runs', 15_000);
      // The scheduler carries the job's pattern and timezone.
      expect(await queue.getJobScheduler('tick')).toMatchObject({ pattern: '* * * * * *', tz: 'America/New_York' });
      await queue.removeJobScheduler('tick');
      const runs = (await queue.getCompleted()).sort((a, b) => a.timestamp - b.timestamp);
      // What the schedule guarantees, however loaded the machine: one run per tick, ticks on whole
      // seconds and in order, and no run before its tick. (How late a run starts depends on load.)
      const ticks = runs.map((run) => Number(/:(\d+)$/.exec(run.id!)![1])); // repeat:<scheduler>:<epoch ms>
      expect(new Set(ticks).size).toBe(ticks.length);
      for (const [i, tick] of ticks.entries()) {
        expect(tick % 1000).toBe(0);
        if (i > 0) expect(tick).toBeGreaterThan(ticks[i - 1]!);
        expect(runs[i]!.processedOn!).toBeGreaterThanOrEqual(tick);
        expect(runs[i]!.returnvalue.runId).toBe(runs[i]!.id!.replace(/:/g, "-")); // run ids are safe as file names
      }
      // Each run wrote its own file, named by its run id.
      for (const run of runs) expect(readFileSync(path.join(proj.dir, 'out', `tick-${run.id!.replace(/:/g, "-")}.csv`), 'utf8')).toBe('value\r\n137\r\n');
    } finally {
      await worker.close(1_000);
      await clients.close();
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      redis.disconnect();
      proj.cleanup();
    }
  });
});

describe('standalone scheduler', () => {
  it('runs schedules in one process within its concurrency limit and stops cleanly', async () => {
    const proj = createProject(connections(), { a: countJob('* * * * * *'), b: countJob('* * * * * *'), c: countJob('* * * * * *'), manual: countJob() });
    const config = loadConfig({ dir: proj.dir, env: {} });
    const clients = new ApiClients({ config, logger: silent });
    let running = 0;
    let maxRunning = 0;
    const finished: string[] = [];
    // Each request takes a while, so the three jobs of a tick compete for the one slot.
    const slow = new ApiClients({
      config,
      logger: silent,
      wrapTransport: (transport) => async (request) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          await new Promise((r) => setTimeout(r, 150));
          return await transport(request);
        } finally {
          running--;
        }
      },
    });
    const scheduler = new StandaloneScheduler({ config, clients: slow, logger: silent, concurrency: 1, onRunFinished: (job, outcome) => outcome.result && finished.push(job) });
    try {
      const entries = await scheduler.start();
      expect(entries.map((e) => e.job).sort()).toEqual(['a', 'b', 'c']);
      for (const e of entries) expect(e.next - Date.now()).toBeLessThanOrEqual(1_000);
      await until(() => finished.length >= 4, 'four standalone runs', 8_000);
      expect(maxRunning).toBe(1);
    } finally {
      await scheduler.close(2_000);
      await clients.close();
      await slow.close();
    }
    expect(scheduler.activeRuns).toBe(0);
    proj.cleanup();
  });
});
