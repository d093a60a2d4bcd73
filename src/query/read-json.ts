import type { Redactor } from '../config/redactor.js';
import { HttpError } from '../errors/http-error.js';
import { toHttpError, type HttpRequest, type HttpResponse } from '../http/http-client.js';
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
    const url = safeUrl(request.url, redactor);
    const type = String(response.headers['content-type'] ?? 'no content-type');
    const excerpt = redactor.redact(text.replace(/\s+/g, ' ').trim().slice(0, 200));
    throw new HttpError(
      'E_RESPONSE',
      `${request.method} ${url} answered ${response.status} with a body that is not JSON (${type}, ${bytes} bytes): ${excerpt || '(empty body)'}`,
      { method: request.method, url, status: response.status, excerpt },
      { cause: error },
    );
  }
}
