import type { Redactor } from '../config/redactor.js';
import type { Connection } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import type { TokenProvider } from './token-provider.js';
import type { Logger } from '../log/logger.js';
import { runLogFields } from '../log/run-context.js';
import { SkippedResponse } from '../errors/skipped-response.js';
import { parseRetryAfter, type HttpRequest, type HttpResponse, type Transport } from './transport.js';
import type { RuleMatch } from './response-rules.js';
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
 * into HttpErrors with an excerpt, and on a 401 (or a `refresh` rule) refreshes the token once
 * and retries once. Responses that matched a `responses:` rule become that rule's outcome.
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
      if (request.run) request.run.requests++;
      const response = await this.#deps.transport({ ...request, headers });
      const rule = response.rule;
      // A `responses:` rule with action refresh is a 401 in disguise: the same fenced, single-flight refresh.
      const refresh = rule ? rule.action === 'refresh' : response.status === 401;
      if (refresh && token && attempt === 1) {
        await discard(response);
        this.#deps.logger.info(
          { ...runLogFields(request.run), version: token.version, ...(rule ? { rule: rule.index } : {}) },
          rule ? `API answered ${response.status} matching responses[${rule.index}] (refresh): refreshing the access token once` : 'API answered 401: refreshing the access token once',
        );
        if (await tokens.invalidate(token, request.signal)) {
          token = await tokens.get(request.signal);
          continue;
        }
      }
      if (rule) throw await this.#ruleError(request, response, rule, attempt > 1);
      if (response.status >= 200 && response.status < 300) return response;
      throw await this.errorFor(request, response, attempt > 1 && response.status === 401);
    }
  }

  /** The error for a response that matched a `responses:` rule (skip is a SkippedResponse, not a failure). */
  async #ruleError(request: HttpRequest, response: HttpResponse, rule: RuleMatch, afterRefresh: boolean): Promise<HttpError> {
    const { redactor, connection } = this.#deps;
    await discard(response);
    const url = safeUrl(request.url, redactor);
    const status = response.status;
    const what = `${request.method} ${url} answered ${status} matching responses[${rule.index}] of connection "${connection.name}" (${rule.action})`;
    const detail = rule.message ? `: ${rule.message}` : '';
    const context = { method: request.method, url, status };
    switch (rule.action) {
      case 'skip':
        return new SkippedResponse(`${what}${detail}`, context);
      case 'refresh':
        return new HttpError(
          'E_UNAUTHORIZED',
          afterRefresh
            ? `${what} again after a token refresh: the API rejects the new token${detail}; check the connection's scopes/credentials`
            : `${what}, but the connection has no token to refresh${detail}; add a refresh section or a grant`,
          context,
          { permanent: true },
        );
      case 'retry':
        return new HttpError('E_HTTP', `${what} on each of ${connection.retry.attempts} tries${detail}; raise retry.attempts if the API needs longer`, context);
      case 'fail':
        return new HttpError('E_RESPONSE_RULE', `${what}${detail || ' (the rule has no message)'}`, context, { permanent: true });
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

async function discard(response: HttpResponse): Promise<void> {
  if (response.body.dump) await response.body.dump().catch(() => undefined);
  else response.body.destroy();
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
