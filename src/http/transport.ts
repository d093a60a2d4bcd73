import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Redactor } from '../config/redactor.js';
import { HttpError } from '../errors/http-error.js';
import type { RunContext } from '../log/run-context.js';
import type { RuleMatch } from './response-rules.js';
import { safeUrl } from './safe-url.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body?: string | Buffer | undefined;
  /** Aborts the request (the run's deadline). */
  signal?: AbortSignal | undefined;
  /** 1-based try of this request, set by the retry wrapper (for the debug request log). */
  attempt?: number | undefined;
  /** The run that sends it: its log fields, its request count. @default none (e.g. `restq check`) */
  run?: RunContext | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Must be consumed or destroyed by the caller. */
  body: Readable & { text(): Promise<string>; dump?(): Promise<void> };
  url: URL;
  /** The connection's `responses:` rule this response matched, if any (see response-rules.ts). */
  rule?: RuleMatch | undefined;
}

/** Sends one request on a dispatcher: the seam that retries and rate limits wrap. */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
};

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** The error code of an error or of the first cause that has one. */
export function errorCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_REQ_RETRY') return e.code;
  }
  return undefined;
}

/** Marks an error whose message says what to change, so it is shown without the library's code. */
export function described<T extends Error>(error: T): T {
  return Object.assign(error, { restqDescribed: true });
}

function describedMessage(error: unknown): string | undefined {
  for (let e = error as { restqDescribed?: unknown; cause?: unknown; message?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.restqDescribed === true && typeof e.message === 'string') return e.message;
  }
  return undefined;
}

/** Maps an undici failure to a clear HttpError that names method and URL, never a secret. */
export function toHttpError(error: unknown, request: Pick<HttpRequest, 'method' | 'url' | 'signal'>, redactor: Redactor, timeoutMs: number): HttpError {
  if (error instanceof HttpError) return error;
  const method = request.method;
  const url = safeUrl(request.url, redactor);
  const code = errorCode(error);
  if (request.signal?.aborted) {
    const reason = request.signal.reason as { code?: string; message?: string } | undefined;
    const what = reason?.code === 'E_TIMEOUT' && reason.message ? reason.message : 'request aborted';
    return new HttpError('E_TIMEOUT', `${method} ${url} aborted: ${what}`, { method, url }, { cause: error, permanent: reason?.code === 'E_TIMEOUT' });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    const phase = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connecting' : code === 'UND_ERR_BODY_TIMEOUT' ? 'reading the body' : 'waiting for the response';
    return new HttpError('E_TIMEOUT', `${method} ${url} timed out after ${timeoutMs} ms ${phase} (connection timeout; raise it with timeout: in connections.yaml)`, { method, url }, { cause: error });
  }
  const message = redactor.redact(error instanceof Error ? error.message : String(error));
  if (code && /^ERR_TLS|^ERR_SSL|CERT|SSL|TLS|VERIFY_LEAF_SIGNATURE/i.test(code)) {
    // A failure restq already put in words (which version to set, which CA) needs no OpenSSL code.
    const described = describedMessage(error);
    if (described) return new HttpError('E_TLS', `${method} ${url} failed: ${redactor.redact(described)}`, { method, url }, { cause: error });
    return new HttpError('E_TLS', `${method} ${url} failed: TLS error ${code}: ${message}`, { method, url }, { cause: error });
  }
  const known = code ? NETWORK_CODES[code] : undefined;
  return new HttpError('E_NETWORK', `${method} ${url} failed: ${known ?? message}${code ? ` (${code})` : ''}`, { method, url }, { cause: error });
}

export function createTransport(dispatcher: Dispatcher, redactor: Redactor, timeoutMs: number): Transport {
  return async (request) => {
    try {
      const response = await dispatcher.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: request.signal ?? null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: response.body as HttpResponse['body'],
        url: request.url,
      };
    } catch (error) {
      throw toHttpError(error, request, redactor, timeoutMs);
    }
  };
}

/** Parses Retry-After (seconds or HTTP-date) into milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
