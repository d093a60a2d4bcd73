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
  let body: Buffer;
  try {
    body = await readBody(response.body);
  } catch (error) {
    throw toHttpError(error, request, redactor, timeoutMs);
  }
  const bytes = body.length;
  // Some servers (often .NET ones) start JSON with a UTF-8 BOM, which JSON.parse rejects.
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return { json: JSON.parse(text) as unknown, bytes };
  } catch (error) {
    throw notJsonError({ request, response, redactor, bytes, head: body.subarray(0, EXCERPT_BYTES), cause: error });
  }
}

/** The whole body: in one piece from undici's body (no stream iteration per small answer), else chunk by chunk. */
async function readBody(body: HttpResponse['body']): Promise<Buffer> {
  const whole = (body as { arrayBuffer?: () => Promise<ArrayBuffer> }).arrayBuffer;
  if (typeof whole === 'function') return Buffer.from(await whole.call(body));
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Bytes of a bad body shown in the error. */
export const EXCERPT_BYTES = 200;

/**
 * The first bytes of a body as safe one-line text: valid UTF-8 stays readable, whitespace runs
 * become one space, and control or invalid bytes (a gzip or binary body) are shown as \xHH.
 */
export function escapeExcerpt(head: Buffer, max = 120): string {
  let out = '';
  let shown = 0;
  for (let i = 0; i < head.length && shown < max; ) {
    const b = head[i]!;
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) {
      if (!out.endsWith(' ')) out += ' ';
      i++;
    } else if (b > 0x20 && b < 0x7f) {
      out += String.fromCharCode(b);
      i++;
    } else {
      const width = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
      const sequence = width > 0 && i + width <= head.length ? head.subarray(i, i + width) : undefined;
      const char = sequence && [...sequence.subarray(1)].every((c) => (c & 0xc0) === 0x80) ? sequence.toString('utf8') : undefined;
      if (char && !char.includes('\uFFFD') && !/\p{C}/u.test(char)) {
        out += char;
        i += width;
      } else {
        out += `\\x${b.toString(16).padStart(2, '0')}`;
        i++;
      }
    }
    shown++;
  }
  return out.trim();
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
  /** The first bytes of the body, for the excerpt. */
  head: Buffer;
  cause: unknown;
}): HttpError {
  const { request, response, redactor } = options;
  const url = safeUrl(request.url, redactor);
  const type = String(response.headers['content-type'] ?? 'no content-type');
  const head = options.head[0] === 0xef && options.head[1] === 0xbb && options.head[2] === 0xbf ? options.head.subarray(3) : options.head;
  const excerpt = redactor.redact(escapeExcerpt(head, EXCERPT_BYTES));
  // For a body that starts like JSON the parser's own words say where it broke.
  const detail = /^\s*[[{]/.test(head.toString('latin1')) && options.cause instanceof Error ? ` (${redactor.redact(options.cause.message)})` : '';
  const gzip = head[0] === 0x1f && head[1] === 0x8b ? '; it is gzip-compressed without a Content-Encoding header: the server must send Content-Encoding: gzip' : '';
  return new HttpError(
    'E_RESPONSE',
    `${request.method} ${url} answered ${response.status}, but the response is not JSON (${type}, ${options.bytes} bytes); first bytes: ${excerpt || '(empty body)'}${detail}${gzip}`,
    { method: request.method, url, status: response.status, excerpt },
    { cause: options.cause },
  );
}
