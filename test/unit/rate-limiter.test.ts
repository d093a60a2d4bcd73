import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../src/http/transport.js';
import { withRateLimit } from '../../src/http/rate-limited-transport.js';
import { MemoryRateLimiter } from '../../src/http/rate-limiter.js';
import { memoryLogger } from '../helpers/temp-project.js';

/** A fake clock whose sleep advances time. */
function fakeTime() {
  const clock = { now: 0, slept: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
    },
  };
}

describe('MemoryRateLimiter (GCRA, no burst)', () => {
  it('spaces requests evenly: 5 per second → one every 200 ms', async () => {
    const time = fakeTime();
    const limiter = new MemoryRateLimiter({ requests: 5, per: 1000 }, time);
    const grants: number[] = [];
    for (let i = 0; i < 6; i++) {
      await limiter.acquire();
      grants.push(time.clock.now);
    }
    expect(grants).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  it('a pause holds everyone until it ends', async () => {
    const time = fakeTime();
    const limiter = new MemoryRateLimiter({ requests: 100, per: 1000 }, time);
    await limiter.acquire();
    await limiter.pause(1_500);
    await limiter.acquire();
    expect(time.clock.now).toBe(1_500);
  });

  it('a waiting acquire rejects with the abort reason', async () => {
    const limiter = new MemoryRateLimiter({ requests: 1, per: 60_000 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('run timeout of 5 ms exceeded'));
    await expect(waiting).rejects.toThrow('run timeout of 5 ms exceeded');
  });
});

describe('withRateLimit', () => {
  it('a 429 with Retry-After pauses the budget for the next request of anyone', async () => {
    const time = fakeTime();
    const limiter = new MemoryRateLimiter({ requests: 100, per: 1000 }, time);
    const statuses = [429, 200];
    const transport = async (): Promise<HttpResponse> => ({
      status: statuses.shift()!,
      headers: { 'retry-after': '2' },
      body: Object.assign(Readable.from([]), { text: async () => '' }),
      url: new URL('http://api.test/'),
    });
    const send = withRateLimit(transport, limiter, { logger: memoryLogger().logger });
    const request = { method: 'GET' as const, url: new URL('http://api.test/'), headers: {} };
    expect((await send(request)).status).toBe(429);
    expect((await send(request)).status).toBe(200);
    expect(time.clock.slept).toEqual([2_000]);
  });
});
