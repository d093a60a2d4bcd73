import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startSampleApi } from '../../src/demo/sample-api.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { stormProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';
import { scanKeysAndValues } from '../helpers/redis-scan.js';
import { spawnRestq, type RestqProcess } from '../helpers/run-cli.js';

const url = inject('redisUrl');
const WORKERS = 4;
const CONCURRENCY = 8;
const RUNS = 200;
const LIFETIME_MS = 1_000;
/** A token is used until expiry minus the skew, which is capped at 20% of its lifetime. */
const USABLE_MS = LIFETIME_MS * 0.8;
const TOKEN_SHAPES = [/at-[0-9a-f]{24}/, /rt-[0-9a-f]{24}/, /demo-refresh-token-0/];

const processes: RestqProcess[] = [];
afterAll(() => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

describe('refresh storm', () => {
  it(`${WORKERS} workers × ${CONCURRENCY} runs share one token: one refresh per lifetime, rotation never breaks`, async () => {
    // Single-use rotating refresh tokens, 1 s access tokens, 300 ms per API page (7 rounds of 32: the storm outlives 2 tokens).
    const api = await startSampleApi({ tokenLifetimeSeconds: LIFETIME_MS / 1000, pageDelayMs: 300, staticTokens: [] });
    const proj = stormProject(api.url);
    const settings = testSettings(url, { RESTQ_SECRET_KEY: randomBytes(32).toString('hex') });
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    const admin = new Redis(url);
    try {
      const workers = Array.from({ length: WORKERS }, () => spawnRestq(['worker', '--concurrency', String(CONCURRENCY)], settings.env, proj.dir));
      processes.push(...workers);
      for (const w of workers) await w.waitForStderr(/worker ready/);
      const started = Date.now();
      await queue.addBulk(Array.from({ length: RUNS }, () => ({ name: 'orders', data: { job: 'orders', params: {} } })));
      await until(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) === RUNS, `${RUNS} runs finished`, 60_000, 100);
      const runs = await queue.getCompleted(0, -1);
      const elapsed = Math.max(...runs.map((r) => r.finishedOn!)) - started;
      const expiries = Math.ceil(elapsed / USABLE_MS);
      console.log(`storm: ${RUNS} runs in ${elapsed} ms, ${api.stats.tokenRequests} refresh calls for ${expiries} token lifetimes, ${api.stats.invalidGrants} invalid_grant, ${api.stats.unauthorized} 401s`);

      expect(await queue.getFailedCount()).toBe(0);
      expect(runs).toHaveLength(RUNS);
      expect(api.stats.invalidGrants).toBe(0);
      expect(api.stats.tokenRequests).toBeLessThanOrEqual(expiries + 1);
      expect(api.stats.tokenRequests).toBeGreaterThanOrEqual(2); // the storm outlived a token
      // Every worker did some of the work, each with rows on its stdout.
      for (const w of workers) expect(w.stdout().length).toBeGreaterThan(0);

      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) expect(await w.exited).toBe(0);
      // Secrets: not in Redis (keys or values, RESTQ_SECRET_KEY set), job data, results or logs.
      const texts = [
        ...(await scanKeysAndValues(admin, `${settings.prefix}:*`)),
        ...runs.map((r) => JSON.stringify({ data: r.data, result: r.returnvalue })),
        ...workers.map((w) => w.stderr()),
      ];
      for (const text of texts) for (const shape of TOKEN_SHAPES) expect(text).not.toMatch(shape);
      expect(await admin.hget(`${settings.prefix}:token:storm`, 'refreshToken')).toMatch(/^enc:v1:/);

      // `restq token` reads and refreshes the same Redis state: the rotation chain continues
      // (a file store would present the long-used YAML seed and get invalid_grant).
      const version = Number(await admin.hget(`${settings.prefix}:token:storm`, 'version'));
      const show = spawnRestq(['token', 'storm'], settings.env, proj.dir);
      expect(await show.exited).toBe(0);
      expect(show.stdout()).toContain(`version:         ${version}`);
      expect(workers.some((w) => show.stdout().includes(`:${w.child.pid}`))).toBe(true);
      const refresh = spawnRestq(['token', 'storm', '--refresh'], settings.env, proj.dir);
      expect(await refresh.exited).toBe(0);
      expect(refresh.stdout()).toContain('(refreshed now)');
      expect(api.stats.invalidGrants).toBe(0);
      expect(Number(await admin.hget(`${settings.prefix}:token:storm`, 'version'))).toBe(version + 1);
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
      admin.disconnect();
      await api.close();
      proj.cleanup();
    }
  });
});
