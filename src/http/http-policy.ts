import type { Redactor } from '../config/redactor.js';
import type { Connection } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Transport } from './http-client.js';
import { withRateLimit } from './rate-limit.js';
import { MemoryRateLimiters, type RateLimiters } from './rate-limiter.js';
import { withResponseRules } from './response-rules.js';
import { withRetry, type RetryInfo, type RetryOptions } from './retry.js';

export interface HttpPolicyOptions {
  logger: Logger;
  redactor?: Redactor | undefined;
  /** Where budgets live: RedisRateLimiters when REDIS_URL is set. @default in-process limiters */
  rateLimiters?: RateLimiters;
  /** Injected for tests. */
  sleep?: RetryOptions['sleep'];
  random?: RetryOptions['random'];
  /** Counts retries per connection and reason (status or error code). @default no metrics */
  metrics?: Metrics | undefined;
}

/**
 * The `wrapTransport` of ApiClients: the connection's rate budget around each attempt, its
 * `responses:` rules on each answer, and its `retry` settings around that (so a retry waits for
 * the budget like any request, and a rule with `action: retry` backs off like a 503).
 * Compose with other wrappers as `(t, c) => mine(httpPolicy(o)(t, c), c)`.
 */
export function httpPolicy(options: HttpPolicyOptions): (transport: Transport, connection: Connection) => Transport {
  const limiters = options.rateLimiters ?? new MemoryRateLimiters();
  return (transport, connection) => {
    const logger = options.logger.child({ connection: connection.name });
    const limiter = limiters.forConnection(connection);
    const limited = limiter ? withRateLimit(transport, limiter, { logger, redactor: options.redactor, baseDelay: connection.retry.baseDelay, maxDelay: connection.retry.maxDelay }) : transport;
    const ruled = withResponseRules(limited, connection.responses, { redactor: options.redactor });
    const metrics = options.metrics;
    const onRetry = metrics ? (info: RetryInfo) => metrics.retry(connection.name, String(info.status ?? info.code ?? 'error')) : undefined;
    return withRetry(ruled, { ...connection.retry, logger, redactor: options.redactor, sleep: options.sleep, random: options.random, onRetry });
  };
}
