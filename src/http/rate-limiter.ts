import type { Connection } from '../config/types.js';
import { sleep as realSleep } from './backoff.js';

/**
 * One connection's request budget (`rateLimit: {requests, per}`), shared by everyone who sends
 * on that connection: the in-process limiter by the runs of one process, the Redis limiter by
 * every worker and `restq run`.
 */
export interface RateLimiter {
  /** Resolves when one more request may be sent; rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Nobody sends for `ms` (the API answered 429 with Retry-After). */
  pause(ms: number): Promise<void>;
}

/** Hands out the limiter of each rate-limited connection. */
export interface RateLimiters {
  forConnection(connection: Connection): RateLimiter | undefined;
  close?(): Promise<void>;
}

/** Milliseconds between two requests: the budget is spread evenly rather than spent in bursts. */
export function emissionInterval(rateLimit: { requests: number; per: number }): number {
  return rateLimit.per / rateLimit.requests;
}

export interface MemoryRateLimiterOptions {
  /** @default performance.now */
  now?: () => number;
  /** @default backoff.sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * GCRA (generic cell rate algorithm) without burst, in memory: a request may go when the
 * "theoretical arrival time" has passed, and each one moves it `interval` ms further. Any
 * window of `per` ms thus holds at most `requests` requests (one more at its very edge).
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #interval: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #tat = -Infinity;

  constructor(rateLimit: { requests: number; per: number }, options: MemoryRateLimiterOptions = {}) {
    this.#interval = emissionInterval(rateLimit);
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? realSleep;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#now();
      if (this.#tat <= now) {
        this.#tat = now + this.#interval;
        return;
      }
      await this.#sleep(Math.ceil(this.#tat - now), signal);
    }
  }

  async pause(ms: number): Promise<void> {
    this.#tat = Math.max(this.#tat, this.#now() + ms);
  }
}

/** Standalone mode: one in-process limiter per rate-limited connection. */
export class MemoryRateLimiters implements RateLimiters {
  readonly #limiters = new Map<string, MemoryRateLimiter>();
  readonly #options: MemoryRateLimiterOptions;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.#options = options;
  }

  forConnection(connection: Connection): RateLimiter | undefined {
    if (!connection.rateLimit) return undefined;
    let limiter = this.#limiters.get(connection.name);
    if (!limiter) {
      limiter = new MemoryRateLimiter(connection.rateLimit, this.#options);
      this.#limiters.set(connection.name, limiter);
    }
    return limiter;
  }
}
