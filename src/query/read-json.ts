import type { Redactor } from '../config/redactor.js';
import { HttpError } from '../errors/http-error.js';
import { toHttpError, type HttpRequest, type HttpResponse } from '../http/transport.js';
import { safeUrl } from '../http/safe-url.js';

/** Reads and parses a whole JSON body; a non-JSON body (an HTML error page) is a clear error. */
export async function readJson(
  response: HttpResponse,
  request: HttpRequest,
  redactor: Redactor,
  timeoutMs: number,
): Promise<{ json: unknown; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      bytes += chunk.length;
    }
  } catch (error) {
    throw toHttpError(error, request, redactor, timeoutMs);
  }
  // Some servers (often .NET ones) start JSON with a UTF-8 BOM, which JSON.parse rejects.
  const text = Buffer.concat(chunks, bytes).toString('utf8').replace(/^\uFEFF/, '');
  try {
    return { json: JSON.parse(text) as unknown, bytes };
  } catch (error) {
    throw notJsonError({ request, response, redactor, bytes, head: text, cause: error });
  }
}

/**
 * The error for a body that does not parse as JSON (an HTML maintenance page, a truncated
 * body), shared by the buffered and the streaming reader so both read the same.
 */
export function notJsonError(options: {
  request: HttpRequest;
  response: HttpResponse;
  redactor: Redactor;
  bytes: number;
  /** The start of the body, for the excerpt. */
  head: string;
  cause: unknown;
}): HttpError {
  const { request, response, redactor } = options;
  const url = safeUrl(request.url, redactor);
  const type = String(response.headers['content-type'] ?? 'no content-type');
  const excerpt = redactor.redact(options.head.replace(/\s+/g, ' ').trim().slice(0, 200));
  // For a body that starts like JSON the parser's own words say where it broke.
  const detail = /^\s*[[{]/.test(options.head) && options.cause instanceof Error ? ` (${redactor.redact(options.cause.message)})` : '';
  return new HttpError(
    'E_RESPONSE',
    `${request.method} ${url} answered ${response.status} with a body that is not JSON (${type}, ${options.bytes} bytes): ${excerpt || '(empty body)'}${detail}`,
    { method: request.method, url, status: response.status, excerpt },
    { cause: options.cause },
  );
}
