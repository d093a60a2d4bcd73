import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Connection } from '../../src/config/types.js';
import { RedisRateLimiters } from '../../src/http/redis-rate-limiter.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/http-test-server.js';
import { redisUnderPrefix } from '../helpers/redis-prefix.js';
import { writeProject, type TempProject } from '../helpers/temp-project.js';

const run = promisify(execFile);
const CHILD = path.resolve('test/helpers/rate-limited-child.ts');
const redisUrl = inject('redisUrl');
const keyspace = redisUnderPrefix(redisUrl);
const { prefix } = keyspace;

/** Most requests in any window of `windowMs` starting at a request. */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++;
    max = Math.max(max, j - i);
  }
  return max;
}

describe('rate budget shared through Redis', () => {
  let server: TestServer;
  let project: TempProject;
  const seen: { at: number; worker: string }[] = [];
  beforeAll(async () => {
    server = await startTestServer((req, res) => {
      seen.push({ at: performance.now(), worker: new URL(req.url!, 'http://x').searchParams.get('worker') ?? '?' });
      sendJson(res, 200, { count: seen.length });
    });
    project = writeProject(
      { api: { baseUrl: server.url, accessToken: 'rate-token-1234', rateLimit: { requests: 10, per: '1s' } } },
      { ping: { connection: 'api', scalar: { path: '/count', query: { worker: '{{params.worker}}' }, value: '$.count' }, params: { worker: '' } } },
    );
  });
  afterAll(async () => {
    await server.close();
    project.cleanup();
  });

  it('two worker processes never exceed 10 requests per second together', async () => {
    const worker = (name: string) =>
      run(process.execPath, ['--import', 'tsx', CHILD], {
        env: { ...process.env, CHILD_CONFIG_DIR: project.dir, CHILD_JOB: 'ping', CHILD_RUNS: '18', CHILD_CONCURRENCY: '4', CHILD_WORKER: name, REDIS_URL: redisUrl, RESTQ_PREFIX: prefix },
      });
    const [a, b] = await Promise.all([worker('a'), worker('b')]);
    const reportA = JSON.parse(a.stdout) as { runs: number; sentAt: number[] };
    const reportB = JSON.parse(b.stdout) as { runs: number; sentAt: number[] };
    expect([reportA.runs, reportB.runs]).toEqual([18, 18]);
    expect(seen).toHaveLength(36);
    // The budget governs when requests leave the workers; arrival at the server adds the
    // scheduling jitter of a loaded CI machine, so the window check uses the send times.
    const times = [...reportA.sentAt, ...reportB.sentAt];
    expect(times).toHaveLength(36);
    const perSecond = new Map<number, number>();
    for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    console.log(`requests per second: ${[...perSecond.values()].join(', ')}; most in any 1 s window: ${maxInWindow(times, 1000)}`);
    // Any 1-second window: the budget, plus one at its edge.
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(11);
    for (const count of perSecond.values()) expect(count).toBeLessThanOrEqual(11);
    // Both workers were sending during the same stretch (so the budget really was shared).
    const lastStart = Math.max(...['a', 'b'].map((w) => Math.min(...seen.filter((s) => s.worker === w).map((s) => s.at))));
    expect(seen.filter((s) => s.at > lastStart).map((s) => s.worker)).toEqual(expect.arrayContaining(['a', 'b']));
    // 36 requests at 10/s take at least 3.5 s once the budget is warm.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(3_000);
  }, 40_000);

  it('a 429 pause taken by one worker holds back another', async () => {
    const connection = { name: `pause-${randomUUID()}`, rateLimit: { requests: 100, per: 1000 } } as Connection;
    const first = new RedisRateLimiters({ redis: keyspace.redis, prefix });
    await first.forConnection(connection)!.pause(1_000);
    const waits = await keyspace.waitsOfAnotherWorker(connection);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(900);
    expect(waits[0]).toBeLessThanOrEqual(1_000);
  });

  it('spaces requests by per/requests on the Redis clock', async () => {
    const waits: number[] = [];
    const connection = { name: `space-${randomUUID()}`, rateLimit: { requests: 4, per: 2000 } } as Connection;
    const limiters = new RedisRateLimiters({ redis: keyspace.redis, prefix, sleep: async (ms) => void waits.push(ms) });
    const limiter = limiters.forConnection(connection)!;
    await limiter.acquire();
    // The second request is told to wait about 500 ms; the fake sleep returns at once, so it asks again.
    const second = limiter.acquire();
    await expect.poll(() => waits.length).toBeGreaterThan(0);
    expect(waits[0]).toBeGreaterThan(400);
    expect(waits[0]).toBeLessThanOrEqual(500);
    await keyspace.redis.del(limiters.key(connection.name));
    await second;
  });

  it('`restq run` spends the same Redis budget when REDIS_URL is set', async () => {
    const cliPrefix = `${prefix}-cli`;
    // One request per 10 s: the CLI's grant leaves a TAT ~10 s ahead that outlives the process.
    const cliProject = writeProject(
      { api: { baseUrl: server.url, accessToken: 'rate-token-1234', rateLimit: { requests: 1, per: '10s' } } },
      { ping: { connection: 'api', scalar: { path: '/count', query: { worker: 'cli' }, value: '$.count' } } },
    );
    try {
      const limiters = new RedisRateLimiters({ redis: keyspace.redis, prefix: cliPrefix });
      // A worker was told to back off for 1.5 s: the CLI must wait for that too.
      await limiters.forConnection({ name: 'api', rateLimit: { requests: 1, per: 10_000 } } as Connection)!.pause(1_500);
      const pausedUntilUs = Number(await keyspace.redis.get(limiters.key('api')));
      const { stderr } = await run(process.execPath, ['--import', 'tsx', path.resolve('src/cli.ts'), '--config', cliProject.dir, 'run', 'ping'], {
        env: { ...process.env, REDIS_URL: redisUrl, RESTQ_PREFIX: cliPrefix, LOG_LEVEL: 'warn' },
      });
      expect(stderr).toMatch(/ping .*1 rows?/);
      expect(seen.some((s) => s.worker === 'cli')).toBe(true);
      // Its grant came after the pause and moved the shared TAT one interval past it.
      const tatUs = Number(await keyspace.redis.get(limiters.key('api')));
      expect(tatUs).toBeGreaterThanOrEqual(pausedUntilUs + 10_000_000);
    } finally {
      cliProject.cleanup();
    }
  }, 20_000);

  it('`restq run` with an unreachable Redis fails quickly with a message naming the budget', async () => {
    const error = (await run(process.execPath, ['--import', 'tsx', path.resolve('src/cli.ts'), '--config', project.dir, 'run', 'ping'], {
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', RESTQ_PREFIX: prefix, LOG_LEVEL: 'silent' },
      timeout: 15_000,
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(1);
    // With REDIS_URL set, `restq run` also keeps its run history there: whichever Redis use comes first names the problem.
    expect(error.stderr).toMatch(/error \[E_QUEUE\]: (the shared rate budget \(.*:ratelimit:api\) is unavailable: Redis did not answer|cannot reach Redis at (redis:\/\/)?127\.0\.0\.1:1)/);
  }, 20_000);
});
