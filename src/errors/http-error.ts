import { RestqError, type RestqErrorCode } from './restq-error.js';

export interface HttpErrorContext {
  method: string;
  /** Already stripped of credentials and secret query values. */
  url: string;
  status?: number;
  /** A short, redacted excerpt of the response body. */
  excerpt?: string;
  /** Seconds or HTTP-date from Retry-After, parsed to milliseconds. */
  retryAfterMs?: number;
}

/** A request that failed: non-2xx status, unreadable body, timeout or network error. */
export class HttpError extends RestqError {
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly excerpt: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: RestqErrorCode,
    message: string,
    context: HttpErrorContext,
    options: { cause?: unknown; permanent?: boolean } = {},
  ) {
    super(code, message, options);
    this.method = context.method;
    this.url = context.url;
    this.status = context.status;
    this.excerpt = context.excerpt;
    this.retryAfterMs = context.retryAfterMs;
  }
}
