import { afterEach, describe, expect, it, vi } from 'vitest';
import { settlesWithin } from '../../src/queue/shutdown.js';

afterEach(() => vi.useRealTimers());

describe('settlesWithin: the shutdown grace period of the worker and the standalone scheduler', () => {
  it('is true when the work settles (either way) before the grace period ends', async () => {
    expect(await settlesWithin(Promise.resolve('done'), 1_000)).toBe(true);
    expect(await settlesWithin(Promise.reject(new Error('run failed')), 1_000)).toBe(true);
  });

  it('is false once the grace period is over while the work still runs', async () => {
    vi.useFakeTimers();
    let finish: () => void = () => undefined;
    const work = new Promise<void>((resolve) => (finish = resolve));
    const verdict = settlesWithin(work, 30_000);
    await vi.advanceTimersByTimeAsync(29_999);
    let settled = false;
    void verdict.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await verdict).toBe(false);
    finish();
    expect(vi.getTimerCount()).toBe(0);
  });
});
