import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Dispatcher } from 'undici';
import type { Redactor } from '../config/redactor.js';
import type { Connection } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import { createTokenEndpoint, type TokenGrant } from './refresh-client.js';
import { seedHash } from './token-manager.js';
import type { TokenState, TokenStore } from './token-store.js';

/** RFC 8252 7.3: the loopback interface by IP literal, so no other host (or DNS) can answer. */
export const LOOPBACK_HOST = '127.0.0.1';
export const CALLBACK_PATH = '/callback';

export interface AuthorizeOptions {
  connection: Connection;
  store: TokenStore;
  /** The connection's dispatcher (TLS, proxy) for the code exchange. */
  dispatcher: Dispatcher;
  redactor: Redactor;
  logger: Logger;
  /** How long to wait for the browser's redirect. @default 300000 (5 min) */
  timeoutMs?: number;
  /** Prints what the user reads (the CLI writes it to stderr). */
  print: (text: string) => void;
  /** Opens the authorization URL; returns false when it could not. Undefined: only print it (`--no-browser`). */
  openBrowser?: ((url: string) => boolean) | undefined;
  /** @default Date.now */
  clock?: () => number;
  /** Written as `refreshedBy`. @default "<hostname>:<pid>" */
  identity?: string;
}

/** PKCE (RFC 7636) S256: a 43-character verifier of 32 random bytes and its SHA-256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function redirectUri(connection: Connection): string {
  return `http://${LOOPBACK_HOST}:${connection.authorize?.redirectPort ?? 8765}${CALLBACK_PATH}`;
}

/** The URL the user opens: response_type=code, client_id, redirect_uri, scope, state, the PKCE challenge, then `authorize.params`. */
export function authorizationUrl(connection: Connection, state: string, challenge: string): URL {
  const authorize = connection.authorize!;
  const url = new URL(authorize.url);
  url.searchParams.set('response_type', 'code');
  if (connection.apiKey !== undefined) url.searchParams.set('client_id', connection.apiKey);
  url.searchParams.set('redirect_uri', redirectUri(connection));
  if (authorize.scope) url.searchParams.set('scope', authorize.scope);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  for (const [key, value] of Object.entries(authorize.params)) url.searchParams.set(key, value);
  return url;
}

/** What the loopback listener received on /callback. */
interface Callback {
  params: URLSearchParams;
  respond: (status: number, title: string, text: string) => void;
}

const MAX_DESCRIPTION = 300;

/**
 * `restq token CONNECTION --authorize`: the authorization code flow with PKCE on a loopback
 * redirect (RFC 8252). Listens on 127.0.0.1:<redirectPort>/callback, prints (and opens) the
 * authorization URL, takes exactly one callback, checks `state`, exchanges the code with the
 * verifier and writes access + refresh token to the store as a seed would. Any failure (port in
 * use, wrong state, `error=`, timeout, rejected exchange) throws and stores nothing.
 */
export async function authorizeConnection(options: AuthorizeOptions): Promise<{ state: TokenState; refreshTokenIssued: boolean }> {
  const { connection, redactor, logger } = options;
  const name = connection.name;
  if (connection.grant !== 'authorization_code' || !connection.authorize || !connection.refresh) {
    throw new RestqError(
      'E_CONFIG',
      `connection "${name}" has grant ${connection.grant ?? (connection.refresh ? 'refresh_token' : 'none (a fixed accessToken)')}: --authorize needs grant: authorization_code with an authorize block (url, scope, redirectPort) and refresh.endpoint`,
      { permanent: true },
    );
  }
  const timeoutMs = options.timeoutMs ?? 300_000;
  const clock = options.clock ?? Date.now;
  const state = randomBytes(24).toString('base64url');
  const { verifier, challenge } = pkcePair();
  redactor.add(verifier);
  const redirect = redirectUri(connection);
  const url = authorizationUrl(connection, state, challenge);

  const pending = deferred<Callback>();
  let received = false;
  const server = createServer((req, res) => {
    // Exactly one callback counts; a reload or a second tab is told so instead of being taken.
    if (received && isCallback(req)) {
      res.writeHead(409, { 'content-type': 'text/plain; charset=utf-8' }).end('restq already received a redirect for this authorization; run the command again for a new one\n');
      return;
    }
    onRequest(req, res, (callback) => {
      received = true;
      pending.resolve(callback);
    });
  });
  await listen(server, connection.authorize.redirectPort, name);
  try {
    options.print(`Authorize restq for connection "${name}": open this URL in a browser and sign in.\n\n  ${url.href}\n\n`);
    if (options.openBrowser && !options.openBrowser(url.href)) options.print('(no browser could be opened here: open the URL yourself, in a browser on this machine)\n');
    options.print(`Waiting for the redirect to ${redirect} (${describeMs(timeoutMs)} at most; Ctrl-C cancels)…\n`);

    const timer = setTimeout(
      () =>
        pending.reject(
          new RestqError('E_AUTHORIZE', `connection "${name}": no redirect reached ${redirect} within ${describeMs(timeoutMs)}: nothing was stored. Run the command again (--timeout gives more time) and finish the sign-in in the browser`, { permanent: true }),
        ),
      timeoutMs,
    );
    let callback: Callback;
    try {
      callback = await pending.promise;
    } finally {
      clearTimeout(timer);
    }

    const { params, respond } = callback;
    const code = params.get('code');
    redactor.add(code);
    const error = params.get('error');
    if (!safeEqual(params.get('state'), state)) {
      respond(400, 'Authorization refused by restq', 'The state parameter does not match the request restq made (a stale tab, or a forged redirect). Nothing was stored; run the command again.');
      throw new RestqError(
        'E_AUTHORIZE',
        `connection "${name}": the redirect's state does not match the one restq sent (${params.get('state') === null ? 'missing' : 'different'}): it came from an older authorization attempt or was forged; nothing was stored. Run the command again and use the URL it prints`,
        { permanent: true },
      );
    }
    if (error !== null) {
      const description = redactor.redact(params.get('error_description') ?? '').slice(0, MAX_DESCRIPTION);
      respond(400, 'Authorization failed', `The provider answered ${error}${description ? `: ${description}` : ''}. Nothing was stored.`);
      throw new RestqError(
        'E_AUTHORIZE',
        `connection "${name}": the provider refused the authorization (${redactor.redact(error).slice(0, MAX_DESCRIPTION)}${description ? `: ${description}` : ''}); nothing was stored. ${error === 'access_denied' ? 'Consent was declined: run the command again and allow access' : 'Check apiKey (client id), authorize.scope and the redirect URI registered with the provider: ' + redirect}`,
        { permanent: true },
      );
    }
    if (!code) {
      respond(400, 'Authorization failed', 'The redirect carried no code. Nothing was stored.');
      throw new RestqError('E_AUTHORIZE', `connection "${name}": the redirect to ${redirect} carried neither code nor error; nothing was stored`, { permanent: true });
    }

    let grant: TokenGrant;
    try {
      grant = await exchangeAuthorizationCode({ connection, dispatcher: options.dispatcher, redactor, logger, code, verifier, ...(options.clock ? { clock: options.clock } : {}) });
    } catch (exchangeError) {
      respond(502, 'Token exchange failed', 'restq could not exchange the code for tokens; the terminal says why. Nothing was stored.');
      throw exchangeError;
    }
    respond(200, 'restq is authorized', `Connection "${name}" has its tokens. You can close this tab and return to the terminal.`);

    const now = clock();
    const identity = options.identity ?? `${hostname()}:${process.pid}`;
    const written = await options.store.update(name, async () => ({
      accessToken: grant.accessToken,
      expiresAt: grant.expiresAt,
      obtainedAt: now,
      refreshToken: grant.refreshToken,
      // As if seeded: an unchanged refresh.refreshToken in YAML does not replace what the consent gave.
      seedHash: seedHash(connection),
      refreshedBy: identity,
      refreshedAt: now,
    }));
    if (!written) throw new RestqError('E_AUTHORIZE', `connection "${name}": the token store did not keep the tokens`, { permanent: true });
    logger.info({ connection: name, offline: grant.refreshToken !== undefined }, grant.refreshToken ? 'authorization code exchanged; access and refresh token stored' : 'authorization code exchanged; access token stored (the provider gave no refresh token)');
    return { state: written, refreshTokenIssued: grant.refreshToken !== undefined };
  } finally {
    await close(server);
  }
}

export interface ExchangeOptions {
  connection: Connection;
  dispatcher: Dispatcher;
  redactor: Redactor;
  logger: Logger;
  code: string;
  verifier: string;
  clock?: () => number;
}

/**
 * RFC 6749 4.1.3 + RFC 7636 4.5: `grant_type=authorization_code` with the code, the same
 * redirect_uri and the PKCE verifier. One attempt only: a code works once, so a retry after a
 * lost answer could only fail with invalid_grant.
 */
export function exchangeAuthorizationCode(options: ExchangeOptions): Promise<TokenGrant> {
  const { connection, redactor, code, verifier } = options;
  redactor.add(code);
  redactor.add(verifier);
  const call = createTokenEndpoint({ connection, dispatcher: options.dispatcher, redactor, logger: options.logger, ...(options.clock ? { clock: options.clock } : {}) });
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(connection), code_verifier: verifier });
  return call(form, undefined, { attempts: 1 });
}

function isCallback(req: IncomingMessage): boolean {
  return req.method === 'GET' && new URL(req.url ?? '/', `http://${LOOPBACK_HOST}`).pathname === CALLBACK_PATH;
}

function onRequest(req: IncomingMessage, res: ServerResponse, resolve: (callback: Callback) => void): void {
  const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}`);
  if (!isCallback(req)) {
    // favicon.ico and friends: not the redirect, keep waiting for it.
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`restq waits for the redirect on ${CALLBACK_PATH}\n`);
    return;
  }
  resolve({
    params: url.searchParams,
    respond: (status, title, text) => {
      if (res.headersSent) return;
      const body = `<!doctype html><html><head><meta charset="utf-8"><title>${html(title)}</title></head><body><h1>${html(title)}</h1><p>${html(text)}</p></body></html>\n`;
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end(body);
    },
  });
}

function listen(server: Server, port: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? `port ${port} on ${LOOPBACK_HOST} is in use (another restq --authorize, or another program): stop it, or pick a free authorize.redirectPort and register http://${LOOPBACK_HOST}:<port>${CALLBACK_PATH} with the provider`
          : error.code === 'EACCES'
            ? `listening on port ${port} needs privileges: pick an authorize.redirectPort above 1024`
            : `cannot listen on ${LOOPBACK_HOST}:${port}: ${error.message}`;
      reject(new RestqError('E_AUTHORIZE', `connection "${name}": ${why}; nothing was stored`, { permanent: true }));
    });
    server.listen({ port, host: LOOPBACK_HOST, exclusive: true }, () => resolve());
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function safeEqual(received: string | null, expected: string): boolean {
  if (received === null) return false;
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function describeMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
