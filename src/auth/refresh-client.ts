import type { Dispatcher } from 'undici';
import type { Redactor } from '../config/redactor.js';
import type { Connection } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import { RestqError } from '../errors/restq-error.js';
import { backoffDelay, sleep } from '../http/backoff.js';
import { createTransport, parseRetryAfter, type HttpResponse } from '../http/transport.js';
import { withRequestLog } from '../http/request-log.js';
import { safeUrl } from '../http/safe-url.js';
import type { Logger } from '../log/logger.js';
import { describeTopLevel, queryFirst } from '../expr/jsonpath.js';
import { createAssertionSigner, JWT_BEARER_GRANT } from './jwt-assertion.js';
import { jwtExpiry } from './jwt-expiry.js';

/** What a token endpoint gave: the access token, its expiry if known, a rotated refresh token if any. */
export interface TokenGrant {
  accessToken: string;
  /** Epoch ms; undefined when neither expiresInPath nor a JWT `exp` says. */
  expiresAt?: number | undefined;
  refreshToken?: string | undefined;
}

/** Calls the token endpoint once (with retries) for the connection's grant. */
export type TokenRefresher = (refreshToken: string | undefined, signal?: AbortSignal) => Promise<TokenGrant>;

export interface RefreshClientOptions {
  connection: Connection;
  /** The connection's dispatcher (same TLS and proxy), or one without proxy for `refresh.proxy: false`. */
  dispatcher: Dispatcher;
  redactor: Redactor;
  logger: Logger;
  /** @default Date.now */
  clock?: () => number;
  /** Waits between retries (tests pass a fast one). @default backoff sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const EXCERPT_CHARS = 200;

/** The token URL: endpoint plus `refresh.params` (a query string or a map) in its query. */
export function tokenUrl(connection: Connection): URL {
  const refresh = connection.refresh;
  if (!refresh) throw new RestqError('E_CONFIG', `connection "${connection.name}" has no refresh section`, { permanent: true });
  const url = new URL(refresh.endpoint);
  const params = typeof refresh.params === 'string' ? new URLSearchParams(refresh.params.replace(/^\?/, '')) : Object.entries(refresh.params ?? {});
  for (const [key, value] of params) url.searchParams.append(key, value);
  return url;
}

/** RFC 6749 2.3.1: id and secret are form-encoded before they are joined for HTTP Basic. */
function basicAuthorization(id: string, secret: string): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** One token-endpoint call (with retries, client authentication per `clientAuth`), whatever the grant. */
export type TokenEndpointCall = (form: URLSearchParams, signal?: AbortSignal, options?: { attempts?: number }) => Promise<TokenGrant>;

/**
 * The connection's token endpoint: sends a form (the grant's fields) with the client's
 * credentials per `refresh.clientAuth`, retries 5xx/429/network failures, and reads the access
 * token, its expiry and a rotated refresh token from the answer. Shared by the refresh,
 * client_credentials and jwt_bearer grants and by the authorization-code exchange.
 */
export function createTokenEndpoint(options: RefreshClientOptions): TokenEndpointCall {
  const { connection, redactor, logger } = options;
  const refresh = connection.refresh;
  if (!refresh) throw new RestqError('E_CONFIG', `connection "${connection.name}" has no refresh section`, { permanent: true });
  const clock = options.clock ?? Date.now;
  const wait = options.sleep ?? sleep;
  const sent = createTransport(options.dispatcher, redactor, refresh.timeout);
  const transport = logger.isLevelEnabled('debug') ? withRequestLog(sent, logger, redactor) : sent;
  const url = tokenUrl(connection);
  const where = `POST ${safeUrl(url, redactor)}`;
  const name = connection.name;

  return async (form, signal, overrides) => {
    const grantType = form.get('grant_type') ?? '';
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    if (refresh.clientAuth === 'body') {
      if (connection.apiKey !== undefined) form.set('client_id', connection.apiKey);
      if (connection.apiSecret !== undefined) form.set('client_secret', connection.apiSecret);
    } else if (refresh.clientAuth === 'basic') {
      headers['authorization'] = basicAuthorization(connection.apiKey ?? '', connection.apiSecret ?? '');
    } else if (connection.grant === 'authorization_code' && connection.apiKey !== undefined) {
      // A public client (PKCE, no secret) still names itself: RFC 6749 4.1.3 and 3.2.1.
      form.set('client_id', connection.apiKey);
    }
    const body = form.toString();
    const { baseDelay, maxDelay } = connection.retry;
    const attempts = overrides?.attempts ?? connection.retry.attempts;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        logger.debug({ attempt, grant: grantType }, `token request ${where}`);
        const response = await transport({ method: 'POST', url, headers, body, signal, attempt });
        if (response.status >= 200 && response.status < 300) return readGrant(response);
        const failure = await failureFor(response, grantType);
        if (failure.permanent) throw failure;
        lastError = failure;
        retryAfterMs = failure.retryAfterMs;
      } catch (error) {
        if (error instanceof RestqError && error.permanent) throw error;
        if (signal?.aborted) throw error;
        lastError = error;
      }
      if (attempt < attempts) {
        const delay = Math.min(maxDelay, Math.max(backoffDelay(attempt, { baseDelay, maxDelay }), retryAfterMs ?? 0));
        logger.warn({ attempt, delayMs: delay }, `token endpoint failed (${redactor.redact((lastError as Error).message)}); retrying`);
        await wait(delay, signal);
      }
    }
    throw new RestqError(
      'E_TOKEN_REFRESH',
      `connection "${name}": token request ${where} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${redactor.redact((lastError as Error).message)}`,
      { cause: lastError },
    );
  };

  function invalidGrantMessage(grantType: string, detail: string): string {
    const reauthorize = `run \`restq token ${name} --authorize\` again to get a new one`;
    switch (grantType) {
      case 'refresh_token':
        return connection.grant === 'authorization_code'
          ? `connection "${name}": the token endpoint ${where} rejected the refresh token (${detail}): it expired, was revoked, or was already used (a rotating refresh token works once); ${reauthorize}`
          : `connection "${name}": the token endpoint ${where} rejected the refresh token (${detail}): it expired, was revoked, or was already used (a rotating refresh token works once). Re-seed it: get a new refresh token from the provider and put it in refresh.refreshToken of connection "${name}" in connections.yaml (or the environment variable it reads); restq replaces the stored token when that value changes`;
      case 'authorization_code':
        return `connection "${name}": the token endpoint ${where} rejected the authorization code (${detail}): it expired or was already used, or the code_verifier or redirect URI does not match the authorization request; ${reauthorize}`;
      case JWT_BEARER_GRANT:
        return `connection "${name}": the token endpoint ${where} refused the signed assertion (${detail}): check jwt.issuer, jwt.subject, jwt.audience, the key registered with the provider (jwt.keyId) and the clock of this machine`;
      default:
        return `connection "${name}": the token endpoint ${where} refused the ${grantType} grant (${detail}): check apiKey, apiSecret and refresh.params (scope, audience)`;
    }
  }

  async function readGrant(response: HttpResponse): Promise<TokenGrant> {
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      const type = String(response.headers['content-type'] ?? 'none');
      throw new RestqError('E_TOKEN_REFRESH', `connection "${name}": token endpoint ${where} answered ${response.status} with a body that is not JSON (content-type ${type})`, { permanent: true });
    }
    const token = queryFirst(refresh!.accessTokenPath, json);
    if (!token.found || typeof token.value !== 'string' || token.value === '') {
      throw new RestqError(
        'E_TOKEN_REFRESH',
        `connection "${name}": the token endpoint response has no access token at refresh.accessTokenPath ${refresh!.accessTokenPath}${token.found ? ` (found a ${token.value === '' ? 'empty string' : typeof token.value})` : ''}: the response has ${describeTopLevel(json)}`,
        { permanent: true },
      );
    }
    const accessToken = token.value;
    redactor.add(accessToken);
    const rotated = queryFirst(refresh!.refreshTokenPath, json);
    const refreshToken = typeof rotated.value === 'string' && rotated.value !== '' ? rotated.value : undefined;
    redactor.add(refreshToken);
    const expiresIn = queryFirst(refresh!.expiresInPath, json).value;
    const seconds = typeof expiresIn === 'number' ? expiresIn : typeof expiresIn === 'string' && expiresIn.trim() !== '' ? Number(expiresIn) : Number.NaN;
    const expiresAt = Number.isFinite(seconds) && seconds > 0 ? clock() + seconds * 1000 : jwtExpiry(accessToken);
    return { accessToken, expiresAt, refreshToken };
  }

  async function failureFor(response: HttpResponse, grantType: string): Promise<HttpError> {
    const status = response.status;
    const text = await response.body.text().catch(() => '');
    let error: string | undefined;
    let description: string | undefined;
    try {
      const json = JSON.parse(text) as { error?: unknown; error_description?: unknown };
      if (typeof json.error === 'string') error = json.error;
      if (typeof json.error_description === 'string') description = json.error_description;
    } catch {
      // Not an OAuth2 error body: the status says enough.
    }
    const detail = redactor.redact([error, description?.slice(0, EXCERPT_CHARS)].filter(Boolean).join(': ') || text.replace(/\s+/g, ' ').slice(0, EXCERPT_CHARS));
    const context = { method: 'POST', url: safeUrl(url, redactor), status, excerpt: detail };
    if (error === 'invalid_grant') {
      return new HttpError('E_INVALID_GRANT', invalidGrantMessage(grantType, `${status} ${detail}`), context, { permanent: true });
    }
    if (error === 'invalid_client' || status === 401) {
      return new HttpError(
        'E_TOKEN_REFRESH',
        `connection "${name}": the token endpoint ${where} rejected the client credentials (${status}${detail ? ` ${detail}` : ''}): check apiKey, apiSecret and refresh.clientAuth (body, basic or none; now ${refresh!.clientAuth})`,
        context,
        { permanent: true },
      );
    }
    const retryable = status >= 500 || status === 429 || status === 408;
    return new HttpError(
      'E_TOKEN_REFRESH',
      `connection "${name}": token endpoint ${where} answered ${status}${detail ? `: ${detail}` : ''}`,
      { ...context, ...(retryable ? { retryAfterMs: parseRetryAfter(response.headers['retry-after']) } : {}) },
      { permanent: !retryable },
    );
  }
}

/**
 * The refresher of a connection's TokenManager, by grant: refresh_token (and authorization_code,
 * whose refresh token came from `restq token --authorize`) sends the stored refresh token;
 * client_credentials sends only the client; jwt_bearer signs a fresh assertion per request.
 */
export function createRefreshClient(options: RefreshClientOptions): TokenRefresher {
  const { connection } = options;
  const call = createTokenEndpoint(options);
  const name = connection.name;
  const grant = connection.grant ?? 'refresh_token';
  if (grant === 'client_credentials') return (_refreshToken, signal) => call(new URLSearchParams({ grant_type: 'client_credentials' }), signal);
  if (grant === 'jwt_bearer') {
    const assertion = createAssertionSigner(connection, options.clock);
    return (_refreshToken, signal) => {
      const signed = assertion();
      options.redactor.add(signed);
      return call(new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: signed }), signal);
    };
  }
  return (refreshToken, signal) => {
    if (!refreshToken) {
      throw new RestqError(
        'E_TOKEN_REFRESH',
        grant === 'authorization_code'
          ? `connection "${name}" has no token yet: run \`restq token ${name} --authorize\` first (it opens the provider's consent page and stores the refresh token)`
          : `connection "${name}" has no refresh token to refresh with: set refresh.refreshToken in connections.yaml`,
        { permanent: true },
      );
    }
    return call(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }), signal);
  };
}
