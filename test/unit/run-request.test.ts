import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { parseRunRequest } from '../../src/queue/run-request.js';

const config = { jobs: { orders: {}, count: {} } } as unknown as Config;

describe('run data of a queued run (SPEC 4.2)', () => {
  it('accepts {job, params} with scalar params, and takes the job from the BullMQ name when data has none', () => {
    expect(parseRunRequest({ job: 'orders', params: { status: 'open', limit: 5, all: false, since: null } }, 'orders', config)).toEqual({
      job: 'orders',
      params: { status: 'open', limit: 5, all: false, since: null },
    });
    expect(parseRunRequest({}, 'count', config)).toEqual({ job: 'count', params: {} });
  });

  it.each([
    [null, /invalid run data: got null/],
    [['orders'], /invalid run data: got an array/],
    [{ job: 42 }, /"job" is number 42/],
    [{ job: 'nope' }, /unknown job "nope": defined jobs are orders, count/],
    [{ job: 'orders', params: 'status=open' }, /"params" is string "status=open"/],
    [{ job: 'orders', params: { status: ['a'] } }, /params\.status is an array/],
    [{ job: 'orders', param: {} }, /unexpected key\(s\) param/],
  ])('fails %j without retries, saying what to send', (data, message) => {
    let error: unknown;
    try {
      parseRunRequest(data, 'whatever', config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(message);
  });
});
