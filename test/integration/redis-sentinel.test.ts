import { readdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { demoProject, until } from '../helpers/queue-fixture.js';
import { startSentinelSet, type SentinelSet } from '../helpers/redis-topology.js';
import { spawnRestq, type RestqProcess } from '../helpers/restq-process.js';

/**
 * Redis Sentinel with real processes: 1 master + 1 replica + 3 sentinels, 2 restq workers, 64
 * runs; the master is SIGKILLed mid-way. Every run must complete, with exactly one output file
 * per run id, and the workers must ride through the failover (no exit, no crash loop).
 */
const TOKEN = 'at-sentinel-test-51c0';
const RUNS = 64;
let set: SentinelSet;
let api: SampleApi;
const processes: RestqProcess[] = [];

beforeAll(async () => {
  [set, api] = await Promise.all([startSentinelSet(), startSampleApi({ staticTokens: [TOKEN], pageDelayMs: 40 })]);
}, 60_000);

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await api?.close();
  await set?.cleanup();
});

const sentinelNodes = () => set.sentinels.split(',').map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) }));

describe('Redis Sentinel', () => {
  it('a master SIGKILLed mid-way loses no run: every run completes once per run id, workers keep going', async () => {
    const queueName = `sentinel-${randomUUID().slice(0, 8)}`;
    const project = demoProject(api.url, TOKEN, {
      orders: 'connection: demo\ngrid:\n  path: /v1/orders\n  query: { per_page: 50, page: "1" }\n  rows: $.data[*]\n  columns: { id: $.id }\noutput: [{ csv: "out/{runId}.csv" }]\nattempts: 5\n',
    });
    const env = {
      REDIS_URL: '',
      REDIS_SENTINELS: set.sentinels,
      REDIS_SENTINEL_MASTER: set.master,
      RESTQ_QUEUE: queueName,
      RESTQ_PREFIX: queueName,
      // A run whose worker lost its lock in the failover is handed to a worker again quickly.
      RESTQ_LOCK_DURATION: '4s',
      RESTQ_STALLED_INTERVAL: '2s',
      RESTQ_BACKOFF: '500ms',
    };
    const queue = new Queue<RunRequest>(queueName, {
      connection: { sentinels: sentinelNodes(), name: set.master, maxRetriesPerRequest: null },
      prefix: queueName,
    });
    queue.on('error', () => undefined);
    try {
      const workers = [0, 1].map(() => spawnRestq(['worker', '--concurrency', '2'], env, project.dir));
      processes.push(...workers);
      await Promise.all(workers.map((w) => w.waitForStderr(/worker ready/, 30_000)));
      for (let i = 0; i < RUNS; i++) await queue.add('orders', { job: 'orders', params: {} }, { jobId: `run-${i}`, attempts: 5, backoff: { type: 'fixed', delay: 500 } });
      // The replica has every queued run before the master dies (replication is asynchronous).
      const admin = new Redis({ sentinels: sentinelNodes(), name: set.master, lazyConnect: true });
      admin.on('error', () => undefined);
      await admin.connect();
      await admin.call('WAIT', '1', '5000');
      admin.disconnect();

      const outDir = path.join(project.dir, 'out');
      const done = () => readdirSync(outDir, { withFileTypes: true }).filter((f) => f.isFile() && /^run-\d+\.csv$/.test(f.name)).length;
      await until(() => { try { return done() >= RUNS / 4; } catch { return false; } }, 'a quarter of the runs', 60_000, 100);

      const killedAt = Date.now();
      const oldPort = await set.killMaster();
      const completedAtKill = done();
      const newPort = await set.waitForFailover(oldPort);
      const failoverMs = Date.now() - killedAt;
      await until(() => done() > completedAtKill, 'a run completed after the failover', 60_000, 50);
      const recoveredMs = Date.now() - killedAt;
      await until(() => done() === RUNS, `all ${RUNS} runs`, 120_000, 100);

      const files = readdirSync(outDir);
      expect(files.filter((f) => /^run-\d+\.csv$/.test(f)).sort()).toEqual(Array.from({ length: RUNS }, (_, i) => `run-${i}.csv`).sort());
      // No temp file of an interrupted attempt left behind, no run written under another id.
      expect(files.filter((f) => !/^run-\d+\.csv$/.test(f))).toEqual([]);
      // Both workers rode through the failover.
      for (const w of workers) expect(w.child.exitCode).toBeNull();
      const logs = () => workers.map((w) => w.stderr()).join('');
      const completionsIn = (log: string) => [...log.matchAll(/"runId":"(run-\d+)"[^\n]*"msg":"run completed"/g)].map((m) => m[1]!);
      // A run's CSV is renamed into place before its history record is written and it is logged
      // as completed: the last file can appear a moment before the last log line.
      await until(() => new Set(completionsIn(logs())).size === RUNS, `all ${RUNS} runs logged as completed`, 30_000, 100).catch(() => undefined);
      const log = logs();
      expect(log).not.toMatch(/worker stopped|FATAL|Unhandled/i);
      const completions = completionsIn(log);
      const retried = completions.length - new Set(completions).size;
      // Failover figures for docs/operations-redis.md.
      process.stderr.write(
        `sentinel failover: master ${oldPort} -> ${newPort} promoted after ${failoverMs} ms, first run completed ${recoveredMs} ms after the kill; ${completedAtKill}/${RUNS} done at kill; ${retried} runs ran twice\n`,
      );
      const missing = Array.from({ length: RUNS }, (_, i) => `run-${i}`).filter((id) => !completions.includes(id));
      // On a miss, every log line of the missing runs (which attempt did what) names the cause.
      const linesOf = (id: string) => log.split('\n').filter((l) => l.includes(`"${id}"`) || l.includes(`${id}.csv`));
      expect(missing.map((id) => ({ id, lines: linesOf(id) }))).toEqual([]);
      expect(new Set(completions).size).toBe(RUNS);
    } finally {
      await queue.close().catch(() => undefined);
      for (const w of processes) w.child.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
      project.cleanup();
    }
  }, 240_000);
});
