import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SAMPLE_CUSTOMERS, sampleOrder } from './sample-data.js';

export interface SampleApiOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** OAuth2 client credentials the token endpoint accepts. @default demo-client / demo-secret */
  clientId?: string;
  clientSecret?: string;
  /** The first (single-use, rotating) refresh token. @default "demo-refresh-token-0" */
  refreshToken?: string;
  /** Access tokens accepted forever, besides issued ones. @default ["demo-static-token"] */
  staticTokens?: string[];
  /** Lifetime of issued access tokens. @default 3600 */
  tokenLifetimeSeconds?: number;
  /** Lifetime in milliseconds (for tests of expiry); wins over tokenLifetimeSeconds. */
  tokenLifetimeMs?: number;
  /** `nested` answers `{data: {token, expiresIn, refresh}}` instead of the flat OAuth2 fields. @default "flat" */
  tokenResponse?: 'flat' | 'nested';
  /** How the client must authenticate at the token endpoint. @default "any" (body or Basic) */
  clientAuth?: 'any' | 'body' | 'basic';
  /** Query parameters the token endpoint requires (400 invalid_request otherwise). */
  requiredTokenParams?: Record<string, string>;
  /** Answer the next N token requests with 503 (retry tests). @default 0 */
  failTokenRequests?: number;
  /** Number of orders. @default 137 */
  orders?: number;
  /** Orders per page on /v1/orders. @default 50 */
  pageSize?: number;
  /** Delay before each /v1/orders page is answered (tests of slow, interruptible runs). @default 0 */
  pageDelayMs?: number;
}

export interface SampleApiStats {
  tokenRequests: number;
  /** Token requests answered 200. */
  tokensIssued: number;
  /** How the last token request authenticated the client, and its query string. */
  lastClientAuth?: 'body' | 'basic' | 'none';
  lastTokenQuery?: string;
  invalidGrants: number;
  apiRequests: number;
  unauthorized: number;
}

export interface SampleApi {
  url: string;
  stats: SampleApiStats;
  /** Path and query of every /v1/orders request, in arrival order (tests check the windows asked for). */
  orderRequests: string[];
  /** Marks orders as changed now (or at `at`): their updated_at moves, so an incremental run picks them up. */
  touch(ids: readonly number[], at?: Date): void;
  /** The refresh token the server expects next (it rotates on every refresh). */
  currentRefreshToken(): string;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

/**
 * A small OAuth2-protected API on loopback: the demo runs the shipped jobs against it, and the
 * tests reuse it. Token endpoint POST /oauth/token (refresh_token with single-use rotation, or
 * client_credentials; client auth in the body or HTTP Basic); GET /v1/orders (page/per_page,
 * `status`, `updated_since` and `updated_before` filters, links.next); GET /v1/orders/count; GET /v1/customers (page/per_page,
 * links.next) and GET /v1/customers/ID/orders (page/per_page, has_more; 404 for a deleted
 * customer) for forEach.
 */
export async function startSampleApi(options: SampleApiOptions = {}): Promise<SampleApi> {
  const clientId = options.clientId ?? 'demo-client';
  const clientSecret = options.clientSecret ?? 'demo-secret';
  const lifetimeMs = options.tokenLifetimeMs ?? (options.tokenLifetimeSeconds ?? 3600) * 1000;
  const lifetime = lifetimeMs / 1000;
  let failures = options.failTokenRequests ?? 0;
  const total = options.orders ?? 137;
  const pageSize = options.pageSize ?? 50;
  let refreshToken = options.refreshToken ?? 'demo-refresh-token-0';
  const usedRefreshTokens = new Set<string>();
  const accessTokens = new Map<string, number>(); // token -> expires at (ms)
  for (const t of options.staticTokens ?? ['demo-static-token']) accessTokens.set(t, Infinity);
  const stats: SampleApiStats = { tokenRequests: 0, tokensIssued: 0, invalidGrants: 0, apiRequests: 0, unauthorized: 0 };
  const orderRequests: string[] = [];
  const updatedAt = new Map<number, string>();
  const order = (i: number) => {
    const o = sampleOrder(i);
    const changed = updatedAt.get(i);
    return changed ? { ...o, updated_at: changed } : o;
  };
  const tokenBody = (accessToken: string, rotated?: string) => {
    stats.tokensIssued++;
    if (options.tokenResponse === 'nested') return { data: { token: accessToken, expiresIn: lifetime, ...(rotated ? { refresh: rotated } : {}) } };
    return { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, ...(rotated ? { refresh_token: rotated } : {}) };
  };

  const issue = () => {
    const token = `at-${randomBytes(12).toString('hex')}`;
    accessTokens.set(token, Date.now() + lifetimeMs);
    return token;
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/oauth/token') {
        stats.tokenRequests++;
        stats.lastTokenQuery = url.search;
        const form = new URLSearchParams(await readBody(req));
        if (failures > 0) {
          failures--;
          return json(res, 503, { error: 'temporarily_unavailable' });
        }
        for (const [key, value] of Object.entries(options.requiredTokenParams ?? {})) {
          if (url.searchParams.get(key) !== value) return json(res, 400, { error: 'invalid_request', error_description: `query parameter ${key} missing or wrong` });
        }
        let id = form.get('client_id');
        let secret = form.get('client_secret');
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
        // RFC 6749 2.3.1: Basic credentials are form-encoded before base64.
        if (basic) [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':', 2).map((v) => decodeURIComponent(v.replace(/\+/g, ' '))) as [string, string];
        stats.lastClientAuth = basic ? 'basic' : id !== null ? 'body' : 'none';
        const allowed = options.clientAuth ?? 'any';
        if (allowed !== 'any' && stats.lastClientAuth !== allowed) return json(res, 401, { error: 'invalid_client', error_description: `client authentication must use ${allowed}` });
        if (id !== clientId || secret !== clientSecret) return json(res, 401, { error: 'invalid_client' });
        const grant = form.get('grant_type');
        if (grant === 'client_credentials') return json(res, 200, tokenBody(issue()));
        if (grant !== 'refresh_token') return json(res, 400, { error: 'unsupported_grant_type' });
        const presented = form.get('refresh_token') ?? '';
        if (presented !== refreshToken || usedRefreshTokens.has(presented)) {
          stats.invalidGrants++;
          return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token is invalid, expired or already used' });
        }
        usedRefreshTokens.add(presented);
        refreshToken = `rt-${randomBytes(12).toString('hex')}`;
        return json(res, 200, tokenBody(issue(), refreshToken));
      }

      stats.apiRequests++;
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      const expires = auth ? accessTokens.get(auth[1]!) : undefined;
      if (expires === undefined || expires < Date.now()) {
        stats.unauthorized++;
        return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      const status = url.searchParams.get('status');
      // updated_since (inclusive) and updated_before (exclusive): ISO 8601 times.
      const since = url.searchParams.get('updated_since');
      const before = url.searchParams.get('updated_before');
      const sinceMs = since ? Date.parse(since) : undefined;
      const beforeMs = before ? Date.parse(before) : undefined;
      if (Number.isNaN(sinceMs) || Number.isNaN(beforeMs)) return json(res, 400, { error: 'invalid_request', error_description: 'updated_since/updated_before must be ISO 8601 times' });
      const matching = (i: number) => {
        const o = order(i);
        if (status && o.status !== status) return false;
        const at = Date.parse(o.updated_at);
        return (sinceMs === undefined || at >= sinceMs) && (beforeMs === undefined || at < beforeMs);
      };
      if (req.method === 'GET' && url.pathname === '/v1/orders/count') {
        let count = 0;
        for (let i = 1; i <= total; i++) if (matching(i)) count++;
        return json(res, 200, { count, status: status ?? 'any' });
      }
      if (req.method === 'GET' && url.pathname === '/v1/orders') {
        orderRequests.push(`${url.pathname}${url.search}`);
        if (options.pageDelayMs) await new Promise((resolve) => setTimeout(resolve, options.pageDelayMs));
        const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
        const perPage = Math.max(1, Math.min(1000, Number(url.searchParams.get('per_page') ?? pageSize)));
        const all: number[] = [];
        for (let i = 1; i <= total; i++) if (matching(i)) all.push(i);
        const slice = all.slice((page - 1) * perPage, page * perPage).map(order);
        const hasNext = page * perPage < all.length;
        const next = new URLSearchParams(url.searchParams);
        next.set('page', String(page + 1));
        return json(res, 200, {
          data: slice,
          meta: { page, perPage, total: all.length, pages: Math.ceil(all.length / perPage) },
          links: { next: hasNext ? `/v1/orders?${next}` : null },
        });
      }
      if (req.method === 'GET' && url.pathname === '/v1/customers') {
        const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
        const perPage = Math.max(1, Math.min(100, Number(url.searchParams.get('per_page') ?? 3)));
        const hasNext = page * perPage < SAMPLE_CUSTOMERS.length;
        return json(res, 200, {
          data: SAMPLE_CUSTOMERS.slice((page - 1) * perPage, page * perPage),
          links: { next: hasNext ? `/v1/customers?page=${page + 1}&per_page=${perPage}` : null },
        });
      }
      // The raw path: a customer id arrives percent-encoded as one segment ("acme%2Feu%20west").
      const customerOrders = /^\/v1\/customers\/([^/]+)\/orders$/.exec((req.url ?? '').split('?')[0]!);
      if (req.method === 'GET' && customerOrders) {
        const id = decodeURIComponent(customerOrders[1]!);
        const index = SAMPLE_CUSTOMERS.findIndex((c) => c.id === id);
        if (index < 0 || id.startsWith('gone-')) return json(res, 404, { error: 'not_found', message: `customer ${id} does not exist` });
        const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
        const perPage = Math.max(1, Math.min(100, Number(url.searchParams.get('per_page') ?? 5)));
        const mine: number[] = [];
        for (let i = 1; i <= total; i++) if (i % SAMPLE_CUSTOMERS.length === index) mine.push(i);
        const slice = mine.slice((page - 1) * perPage, page * perPage).map(sampleOrder);
        return json(res, 200, { data: slice, page, has_more: page * perPage < mine.length });
      }
      json(res, 404, { error: 'not_found', path: url.pathname });
    } catch (error) {
      json(res, 500, { error: 'server_error', message: (error as Error).message });
    }
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    stats,
    orderRequests,
    touch: (ids, at = new Date()) => {
      for (const id of ids) updatedAt.set(id, at.toISOString());
    },
    currentRefreshToken: () => refreshToken,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
