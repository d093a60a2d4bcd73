import type { Redactor } from '../config/redactor.js';
import type { Logger } from '../log/logger.js';
import { parseRetryAfter, type Transport } from './transport.js';
import type { RateLimiter } from './rate-limiter.js';
import { safeUrl } from './safe-url.js';

export interface RateLimitOptions {
  logger: Logger;
  redactor?: Redactor | undefined;
  /** For Retry-After given as an HTTP-date. @default Date.now */
  now?: () => number;
}

/**
 * Takes one unit of the connection's budget before each request (each retry included), and
 * on a 429 with Retry-After pauses the whole budget, so every worker holds back, not only the
 * one that was told to.
 */
export function withRateLimit(transport: Transport, limiter: RateLimiter, options: RateLimitOptions): Transport {
  const now = options.now ?? Date.now;
  return async (request) => {
    await limiter.acquire(request.signal ?? undefined);
    const response = await transport(request);
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
      if (retryAfterMs !== undefined && retryAfterMs > 0) {
        await limiter.pause(retryAfterMs);
        options.logger.info({ url: safeUrl(request.url, options.redactor), retryAfterMs }, `API answered 429: pausing the connection's rate budget for ${retryAfterMs} ms`);
      }
    }
    return response;
  };
}
