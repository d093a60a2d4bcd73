import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { createProject, stormProject, until, within } from '../helpers/queue-fixture.js';
import { startCluster, type ClusterSet } from '../helpers/redis-topology.js';
import { spawnRestq, type RestqProcess } from '../helpers/restq-process.js';

/**
 * A real 3-master Redis Cluster (no mocks): workers, schedules, status, enqueue --wait and a
 * refresh storm of 1-second tokens. Every key of restq lives under the `{prefix}` hash tag, so
 * the token store's Lua scripts, locks and BullMQ's scripts all run in one slot.
 */
const LIFETIME_MS = 1_000;
const USABLE_MS = LIFETIME_MS * 0.8;
const RUNS = 48;
let cluster: ClusterSet;
let api: SampleApi;
const processes: RestqProcess[] = [];

beforeAll(async () => {
  [cluster, api] = await Promise.all([startCluster(), startSampleApi({ tokenLifetimeSeconds: LIFETIME_MS / 1000, pageDelayMs: 250, staticTokens: [] })]);
}, 60_000);

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await api?.close();
  await cluster?.cleanup();
});

function restq(args: string[], env: Record<string, string>, dir: string): RestqProcess {
  const p = spawnRestq(args, env, dir);
  processes.push(p);
  return p;
}

describe('Redis Cluster', () => {
  it('workers, schedules, status, enqueue and a 1-second-token refresh storm work across 3 masters', async () => {
    const name = `cl-${randomUUID().slice(0, 8)}`;
    const project = stormProject(api.url, {
      tick: 'connection: storm\nschedule: "* * * * * *"\nscalar: { path: /v1/orders/count, value: $.count }\noutput: [{ stdout: }]\nattempts: 1\n',
    });
    const env = { REDIS_URL: '', REDIS_CLUSTER: cluster.nodes, RESTQ_QUEUE: name, RESTQ_PREFIX: name };
    const prefix = `{${name}}`;
    const admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    admin.on('error', () => undefined);
    const queue = new Queue<RunRequest>(name, { connection: new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: null } }), prefix });
    queue.on('error', () => undefined);
    try {
      const workers = [0, 1].map(() => restq(['worker', '--concurrency', '6'], env, project.dir));
      await Promise.all(workers.map((w) => w.waitForStderr(/worker ready/, 30_000)));

      // The refresh storm: 48 runs of 3 pages × 250 ms over 12 slots outlive several 1 s tokens.
      const started = Date.now();
      await queue.addBulk(Array.from({ length: RUNS }, () => ({ name: 'orders', data: { job: 'orders', params: {} } })));
      await until(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) >= RUNS, `${RUNS} runs finished`, 90_000, 100);
      const runs = (await queue.getCompleted(0, -1)).filter((r) => r.name === 'orders');
      const elapsed = Math.max(...runs.map((r) => r.finishedOn!)) - started;
      const expiries = Math.ceil(elapsed / USABLE_MS);
      process.stderr.write(`cluster storm: ${RUNS} runs in ${elapsed} ms, ${api.stats.tokenRequests} refresh calls for ${expiries} token lifetimes, ${api.stats.invalidGrants} invalid_grant\n`);
      expect(await queue.getFailedCount()).toBe(0);
      expect(runs).toHaveLength(RUNS);
      expect(api.stats.invalidGrants).toBe(0);
      expect(api.stats.tokenRequests).toBeGreaterThanOrEqual(2);
      expect(api.stats.tokenRequests).toBeLessThanOrEqual(expiries + 1);
      // The token state hash lives under the hash tag (one slot with its lock).
      expect(await admin.hget(`${prefix}:token:storm`, 'version')).toMatch(/^\d+$/);

      // Schedules: synced into the cluster, run by the workers, shown by status.
      const schedule = restq(['schedule'], env, project.dir);
      expect(await schedule.exitWithin(30_000)).toBe(0);
      await until(async () => {
        const status = restq(['status', '--json'], env, project.dir);
        if ((await status.exitWithin(30_000)) !== 0) return false;
        const report = JSON.parse(status.stdout()) as { jobs: { name: string; nextRunAt: string | null; lastRun: { status: string } | null }[] };
        const tick = report.jobs.find((j) => j.name === 'tick');
        return tick?.nextRunAt !== null && tick?.lastRun?.status === 'succeeded';
      }, 'the scheduled tick job to run and show in status', 60_000, 500);

      // A producer command end to end: enqueue --wait returns the run's result.
      const enqueue = restq(['enqueue', 'orders', '--wait'], env, project.dir);
      expect(await enqueue.exitWithin(30_000)).toBe(0);
      expect(enqueue.stderr()).toMatch(/orders \S+: 3 rows/);

      // `restq token` reads the same cluster state.
      const token = restq(['token', 'storm'], env, project.dir);
      expect(await token.exitWithin(30_000)).toBe(0);
      expect(token.stdout()).toMatch(/version:\s+\d+/);

      for (const w of workers) expect(w.child.exitCode).toBeNull();
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) expect(await w.exitWithin(30_000)).toBe(0);
    } finally {
      await within(queue.close().catch(() => undefined), 'the test queue to close');
      const keys: string[] = [];
      for (const node of admin.nodes('master')) keys.push(...(await within(node.keys(`${prefix}*`), 'the keys of a master')));
      for (const key of keys) await within(admin.del(key), `deleting ${key}`);
      admin.disconnect();
      project.cleanup();
    }
  }, 240_000);

  it('REDIS_CLUSTER pointing at a plain Redis server is a clear error, exit 1', async () => {
    const plain = new URL(inject('redisUrl'));
    const project = createProject('connections:\n  demo:\n    baseUrl: http://127.0.0.1:9\n', {});
    try {
      const status = restq(['status'], { REDIS_URL: '', REDIS_CLUSTER: `${plain.hostname}:${plain.port || 6379}` }, project.dir);
      expect(await status.exited).toBe(1);
      expect(status.stderr()).toContain(`REDIS_CLUSTER points at cluster ${plain.hostname}:${plain.port || 6379}, which is not a Redis Cluster (cluster support disabled): for one server use REDIS_URL=redis://host:port instead`);
    } finally {
      project.cleanup();
    }
  });
});
