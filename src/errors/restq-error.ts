/** Stable error codes: scripts and tests match on these, never on message text. */
export type RestqErrorCode =
  | 'E_CONFIG'
  | 'E_USAGE'
  | 'E_HTTP'
  | 'E_TIMEOUT'
  | 'E_NETWORK'
  | 'E_TLS'
  | 'E_PROXY'
  | 'E_TOKEN_REFRESH'
  | 'E_INVALID_GRANT'
  | 'E_UNAUTHORIZED'
  | 'E_JSONPATH'
  | 'E_RESPONSE'
  | 'E_RESPONSE_RULE'
  | 'E_SKIPPED'
  | 'E_TEMPLATE'
  | 'E_SINK'
  | 'E_PAGINATION'
  | 'E_STATE'
  | 'E_QUEUE'
  | 'E_JOB_DATA';

export interface RestqErrorOptions {
  cause?: unknown;
  /** A failure that a retry of the whole run cannot fix (bad config, 4xx, invalid_grant). */
  permanent?: boolean;
}

/**
 * Base of every error restq raises on purpose. Messages say what failed, where, and how to
 * fix it; they never carry a secret (callers pass values through the redactor first).
 */
export class RestqError extends Error {
  readonly code: RestqErrorCode;
  readonly permanent: boolean;

  constructor(code: RestqErrorCode, message: string, options: RestqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.permanent = options.permanent ?? false;
  }
}

export function isRestqError(error: unknown): error is RestqError {
  return error instanceof RestqError;
}
