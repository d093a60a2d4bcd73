import type { Redactor } from '../config/redactor.js';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import { runLogFields } from '../log/run-context.js';
import { backoffDelay, sleep as realSleep } from './backoff.js';
import { parseRetryAfter, type HttpMethod, type HttpRequest, type HttpResponse, type Transport } from './transport.js';
import { safeUrl } from './safe-url.js';

/** Gateways that are busy or restarting: worth another try whatever the method. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** A 500 is retried only when repeating the request cannot do harm twice. */
export const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'PUT', 'DELETE']);
/** Failures before or while talking to the server (RestqError codes set by toHttpError). */
export const RETRY_ERROR_CODES: ReadonlySet<string> = new Set(['E_NETWORK', 'E_TIMEOUT']);

export interface RetryOptions {
  /** Tries in all, including the first. @default 4 */
  attempts: number;
  /** First backoff ceiling before jitter. @default 500 */
  baseDelay: number;
  /** Cap of any wait, Retry-After included. @default 30000 */
  maxDelay: number;
  logger: Logger;
  redactor?: Redactor | undefined;
  /** Which answers are retried. @default API policy: 429/502/503/504, and 500 for GET/PUT/DELETE */
  retryStatus?: (status: number, method: HttpMethod) => boolean;
  /** Injected for tests. @default backoff.sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Math.random */
  random?: () => number;
  /** For Retry-After given as an HTTP-date. @default Date.now */
  now?: () => number;
  /** Called before each wait (metrics, tests). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  waitMs: number;
  status?: number | undefined;
  code?: string | undefined;
  retryAfterMs?: number | undefined;
}

export function apiRetryStatus(status: number, method: HttpMethod): boolean {
  return RETRY_STATUSES.has(status) || (status === 500 && IDEMPOTENT_METHODS.has(method));
}

function retryableError(error: unknown, request: HttpRequest): error is RestqError {
  // An aborted request (run timeout, shutdown) is never retried: the reason must reach the runner.
  if (request.signal?.aborted) return false;
  return error instanceof RestqError && !error.permanent && RETRY_ERROR_CODES.has(error.code);
}

async function discard(response: HttpResponse): Promise<void> {
  if (response.body.dump) await response.body.dump().catch(() => undefined);
  else response.body.destroy();
}

/**
 * Wraps a transport with retries: network errors and timeouts (by RestqError code, never by
 * message text), and the statuses `retryStatus` accepts. Waits use exponential backoff with
 * full jitter, or the server's Retry-After (seconds or HTTP-date) when it sent one, capped at
 * `maxDelay`. The last answer is returned as is, so the caller's error carries its status and
 * excerpt; any other 4xx is returned at once.
 */
export function withRetry(transport: Transport, options: RetryOptions): Transport {
  const sleep = options.sleep ?? realSleep;
  const retryStatus = options.retryStatus ?? apiRetryStatus;
  const now = options.now ?? Date.now;
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= options.attempts;
      let info: RetryInfo;
      try {
        const response = await transport(attempt === 1 ? request : { ...request, attempt });
        // A matching `responses:` rule decides (first match wins); otherwise the status does.
        const retryable = response.rule ? response.rule.action === 'retry' : retryStatus(response.status, request.method);
        if (last || !retryable) return response;
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
        await discard(response);
        info = { attempt, status: response.status, retryAfterMs, waitMs: 0 };
      } catch (error) {
        if (last || !retryableError(error, request)) throw error;
        info = { attempt, code: error.code, waitMs: 0 };
      }
      const backoff = backoffDelay(attempt, { baseDelay: options.baseDelay, maxDelay: options.maxDelay }, options.random);
      info.waitMs = Math.min(options.maxDelay, info.retryAfterMs ?? backoff);
      options.logger.warn(
        {
          ...runLogFields(request.run),
          method: request.method,
          url: safeUrl(request.url, options.redactor),
          ...(info.status === undefined ? { code: info.code } : { status: info.status }),
          ...(info.retryAfterMs === undefined ? {} : { retryAfterMs: info.retryAfterMs }),
          attempt,
          attempts: options.attempts,
          waitMs: info.waitMs,
        },
        `${request.method} ${info.status === undefined ? `failed (${info.code})` : `answered ${info.status}`}: retry ${attempt} of ${options.attempts - 1} in ${info.waitMs} ms${info.retryAfterMs === undefined ? '' : ' (Retry-After)'}`,
      );
      options.onRetry?.(info);
      await sleep(info.waitMs, request.signal ?? undefined);
    }
  };
}
