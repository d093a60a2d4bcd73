import type { Redactor } from '../config/redactor.js';
import type { Connection } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import type { TokenProvider } from '../auth/token-provider.js';
import type { Logger } from '../logger.js';
import { parseRetryAfter, type HttpRequest, type HttpResponse, type Transport } from './http-client.js';
import { safeUrl } from './safe-url.js';

const EXCERPT_BYTES = 300;

export interface ApiClientDeps {
  connection: Connection;
  transport: Transport;
  tokens: TokenProvider;
  redactor: Redactor;
  logger: Logger;
}

/**
 * Sends a connection's API requests: adds its headers and credentials, turns non-2xx answers
 * into HttpErrors with an excerpt, and on a 401 refreshes the token once and retries once.
 */
export class ApiClient {
  readonly #deps: ApiClientDeps;
  /** Requests sent, including 401 retries. */
  requests = 0;

  constructor(deps: ApiClientDeps) {
    this.#deps = deps;
  }

  get connection(): Connection {
    return this.#deps.connection;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const { connection, tokens } = this.#deps;
    let token = await tokens.get(request.signal);
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json', ...connection.headers, ...request.headers };
      if (connection.apiKeyHeader && connection.apiKey) headers[connection.apiKeyHeader] = connection.apiKey;
      if (token) headers['authorization'] = connection.bearer ? `Bearer ${token.value}` : token.value;
      this.requests++;
      const response = await this.#deps.transport({ ...request, headers });
      if (response.status === 401 && token && attempt === 1) {
        await response.body.dump?.().catch(() => undefined);
        this.#deps.logger.info({ version: token.version }, 'API answered 401: refreshing the access token once');
        if (await tokens.invalidate(token, request.signal)) {
          token = await tokens.get(request.signal);
          continue;
        }
      }
      if (response.status >= 200 && response.status < 300) return response;
      throw await this.errorFor(request, response, attempt > 1 && response.status === 401);
    }
  }

  /** Reads a short excerpt of a failed response and builds its error. */
  async errorFor(request: HttpRequest, response: HttpResponse, afterRefresh = false): Promise<HttpError> {
    const { redactor } = this.#deps;
    const url = safeUrl(request.url, redactor);
    const excerpt = await readExcerpt(response, redactor);
    const status = response.status;
    const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
    if (status === 401) {
      const message = afterRefresh
        ? `${request.method} ${url} answered 401 Unauthorized again after a token refresh: the API rejects the new token; check the connection's scopes/credentials`
        : `${request.method} ${url} answered 401 Unauthorized: the access token of connection "${this.#deps.connection.name}" was rejected and it has no refresh configured; set a valid accessToken or a refresh section`;
      return new HttpError('E_UNAUTHORIZED', `${message}${excerpt ? `: ${excerpt}` : ''}`, { method: request.method, url, status, excerpt }, { permanent: true });
    }
    return new HttpError(
      'E_HTTP',
      `${request.method} ${url} answered ${status}${excerpt ? `: ${excerpt}` : ''}`,
      { method: request.method, url, status, excerpt, retryAfterMs },
      { permanent: status >= 400 && status < 500 && status !== 429 && status !== 408 },
    );
  }
}

/** The first few hundred bytes of a body, on one line, secrets removed. */
export async function readExcerpt(response: HttpResponse, redactor: Redactor): Promise<string> {
  let text = '';
  try {
    for await (const chunk of response.body) {
      text += String(chunk);
      if (text.length >= EXCERPT_BYTES) break;
    }
  } catch {
    // The excerpt is a courtesy; the status already says what went wrong.
  } finally {
    response.body.destroy();
  }
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return redactor.redact(oneLine.length > EXCERPT_BYTES ? `${oneLine.slice(0, EXCERPT_BYTES)}…` : oneLine);
}
