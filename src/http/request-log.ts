import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { Redactor } from '../config/redactor.js';
import { isRestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import { runLogFields } from '../log/run-context.js';
import type { HttpResponse, Transport } from './transport.js';
import { safeUrl } from './safe-url.js';

/** A response body that counts its bytes as the reader takes them, with undici's text() and dump(). */
class CountedBody extends PassThrough {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  async dump(): Promise<void> {
    for await (const _chunk of this as AsyncIterable<Buffer>) {
      // read and drop
    }
  }
}

/**
 * `--log-level debug`: one line per request sent (each retry attempt its own), when its body
 * was read or dropped: method, URL (userinfo stripped, secret values fingerprinted), status,
 * body bytes, milliseconds and attempt. Only installed at debug level: it adds a stream hop.
 */
export function withRequestLog(transport: Transport, logger: Logger, redactor?: Redactor): Transport {
  return async (request) => {
    const started = performance.now();
    const attempt = request.attempt ?? 1;
    const fields = () => ({ ...runLogFields(request.run), method: request.method, url: safeUrl(request.url, redactor), attempt });
    let response: HttpResponse;
    try {
      response = await transport(request);
    } catch (error) {
      logger.debug({ ...fields(), error: isRestqError(error) ? error.code : 'error', ms: Math.round(performance.now() - started) }, `${request.method} failed`);
      throw error;
    }
    const headersMs = Math.round(performance.now() - started);
    const body = new CountedBody();
    let logged = false;
    const log = (outcome: string) => {
      if (logged) return;
      logged = true;
      logger.debug(
        { ...fields(), status: response.status, bytes: body.bytes, ms: Math.round(performance.now() - started), headersMs, ...(outcome === 'read' ? {} : { body: outcome }) },
        `${request.method} ${response.status}`,
      );
    };
    pipeline(response.body as Readable, body, (error) => log(error ? 'aborted' : 'read'));
    body.once('close', () => log(body.readableEnded ? 'read' : 'aborted'));
    return { ...response, body };
  };
}
