import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RestqError } from '../../src/errors/restq-error.js';
import { runDeadline } from '../../src/run-deadline.js';
import { until } from '../helpers/wait-for.js';

const rejection = (promise: Promise<never>) => promise.catch((error: unknown) => error);

describe('runDeadline', () => {
  it('aborts a run with E_TIMEOUT naming the job, not before its timeout and at most the slack (1 %) after it', async () => {
    const job = { name: 'count', timeout: 300 };
    const started = Date.now();
    const deadline = runDeadline(job, undefined, started);
    const error = await rejection(deadline.aborted);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(RestqError);
    expect(error).toMatchObject({ code: 'E_TIMEOUT', permanent: true, message: 'run timeout of 300 ms exceeded (job "count" timeout:)' });
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(error);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    // Timers fire late on a loaded machine, never early: only the lower bound is exact.
    expect(elapsed).toBeLessThan(300 + 3 + 2_000);
    deadline.release();
  });

  it('shares one signal between runs of a job that start within one slack window, and not across jobs', () => {
    const outer = new AbortController().signal;
    // Windows are aligned to the slack (1 s at this timeout): now is the first millisecond of one.
    const now = Math.floor(Date.now() / 1000) * 1000 + 1;
    const a = runDeadline({ name: 'orders', timeout: 600_000 }, outer, now);
    const b = runDeadline({ name: 'orders', timeout: 600_000 }, outer, now + 999);
    const c = runDeadline({ name: 'orders', timeout: 600_000 }, outer, now + 1_000);
    const d = runDeadline({ name: 'invoices', timeout: 600_000 }, outer, now);
    const e = runDeadline({ name: 'orders', timeout: 600_000 }, undefined, now);
    expect(b.signal).toBe(a.signal);
    expect(c.signal).not.toBe(a.signal);
    expect(d.signal).not.toBe(a.signal);
    expect(e.signal).not.toBe(a.signal);
    // One listener on the outer signal per slot, not per run.
    expect(getEventListeners(outer, 'abort')).toHaveLength(3);
    for (const deadline of [a, b, c, d, e]) deadline.release();
  });

  it('passes the outer abort on to every run of every slot, and a run that starts after it is aborted at once', async () => {
    const outer = new AbortController();
    const a = runDeadline({ name: 'orders', timeout: 600_000 }, outer.signal);
    const b = runDeadline({ name: 'invoices', timeout: 600_000 }, outer.signal);
    outer.abort('restq worker shutting down');
    expect(await rejection(a.aborted)).toBe('restq worker shutting down');
    expect(await rejection(b.aborted)).toBe('restq worker shutting down');
    expect(b.signal.reason).toBe('restq worker shutting down');
    const late = runDeadline({ name: 'orders', timeout: 600_000 }, outer.signal);
    expect(late.signal.aborted).toBe(true);
    expect(await rejection(late.aborted)).toBe('restq worker shutting down');
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
  });

  it('lets go of the outer signal once its runs ended and the window closed, so a long-lived worker keeps nothing', async () => {
    const outer = new AbortController().signal;
    const job = { name: 'orders', timeout: 2_000 };
    const first = runDeadline(job, outer);
    const second = runDeadline(job, outer);
    first.release();
    first.release();
    second.release();
    // The window (20 ms at this timeout) is still open or just closed: the slot goes with it.
    await until(() => getEventListeners(outer, 'abort').length === 0, 'the slot letting go of the outer signal', 1_000);
    // A run released before the deadline is never aborted.
    expect(first.signal.aborted).toBe(false);
  });

  it('a slot whose runs all ended does not abort later, and the next run gets a live signal', async () => {
    const job = { name: 'short', timeout: 100 };
    const first = runDeadline(job, undefined);
    first.release();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(first.signal.aborted).toBe(false);
    const next = runDeadline(job, undefined);
    expect(next.signal.aborted).toBe(false);
    next.release();
  });
});
