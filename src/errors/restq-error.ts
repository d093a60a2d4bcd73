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
  | 'E_AUTHORIZE'
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
  | 'E_JOB_DATA'
  | 'E_INTERRUPTED'
  /** restq init found files it would overwrite. */
  | 'E_INIT'
  /** A scheduled tick found late by more than one interval under `misfire: skip` (not run). */
  | 'E_MISFIRE'
  /** A scheduled tick of a paused job (not run). */
  | 'E_PAUSED'

  | 'E_REDIS'
  | 'E_INTERNAL';

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

/**
 * Any error as a RestqError: an unexpected one (a TypeError from a bug, a raw file-system error)
 * keeps its message but gets a code and a sentence saying what it is, so no bare internal error
 * reaches the user.
 */
export function toRestqError(error: unknown, where: string): RestqError {
  if (error instanceof RestqError) return error;
  const errno = error as NodeJS.ErrnoException;
  if (error instanceof Error && typeof errno.code === 'string' && typeof errno.syscall === 'string') {
    const target = errno.path ? ` ${errno.path}` : '';
    return new RestqError('E_SINK', `${where}: ${errno.syscall}${target} failed: ${errno.code} (${error.message})`, { cause: error });
  }
  if (error instanceof Error && error.name === 'AbortError') return new RestqError('E_TIMEOUT', `${where}: aborted (${error.message})`, { cause: error });
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new RestqError('E_INTERNAL', `${where}: unexpected internal error (${message}); this is a restq bug, please report it with the command and LOG_LEVEL=debug output`, { cause: error });
}
