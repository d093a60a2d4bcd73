import type { Redactor } from '../config/redactor.js';
import type { Logger } from '../log/logger.js';
import { runLogFields } from '../log/run-context.js';
import { parseRetryAfter, type Transport } from './transport.js';
import type { RateLimiter } from './rate-limiter.js';
import { safeUrl } from './safe-url.js';

export interface RateLimitOptions {
  logger: Logger;
  redactor?: Redactor | undefined;
  /** For Retry-After given as an HTTP-date. @default Date.now */
  now?: () => number;
  /** Pause after a 429 without Retry-After, doubled for each one in a row. @default 500 */
  baseDelay?: number;
  /** Cap of that pause. @default 30000 */
  maxDelay?: number;
}

/**
 * Takes one unit of the connection's budget before each request (each retry included), and
 * on a 429 pauses the whole budget, so every worker holds back, not only the one that was
 * told to: for Retry-After when the API sent one, else for `baseDelay` doubled with each 429
 * in a row (capped at `maxDelay`).
 */
export function withRateLimit(transport: Transport, limiter: RateLimiter, options: RateLimitOptions): Transport {
  const now = options.now ?? Date.now;
  const baseDelay = options.baseDelay ?? 500;
  const maxDelay = options.maxDelay ?? 30_000;
  let streak = 0;
  return async (request) => {
    await limiter.acquire(request.signal ?? undefined);
    const response = await transport(request);
    if (response.status !== 429) {
      streak = 0;
      return response;
    }
    streak++;
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
    const pauseMs = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : Math.min(maxDelay, baseDelay * 2 ** Math.min(streak - 1, 20));
    await limiter.pause(pauseMs);
    options.logger.info(
      { ...runLogFields(request.run), url: safeUrl(request.url, options.redactor), pauseMs, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      `API answered 429${retryAfterMs === undefined ? ' without Retry-After' : ''}: pausing the connection's rate budget for ${pauseMs} ms`,
    );
    return response;
  };
}
