import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { MemoryTokenStore } from '../../src/auth/memory-token-store.js';
import { tokenProviders } from '../../src/auth/token-provider-factory.js';
import type { Connection } from '../../src/config/types.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import type { HttpResponse } from '../../src/http/transport.js';
import { httpPolicy } from '../../src/http/http-policy.js';
import { withRateLimit } from '../../src/http/rate-limited-transport.js';
import { RedisRateLimiters } from '../../src/http/redis-rate-limiter.js';
import { runJob } from '../../src/runner.js';
import { sendJson, startTestServer } from '../helpers/http-test-server.js';
import { serverAndProjectPerTest } from '../helpers/per-test.js';
import { redisUnderPrefix } from '../helpers/redis-prefix.js';
import { captureStream, memoryLogger, writeProject } from '../helpers/temp-project.js';

const live = serverAndProjectPerTest();

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

async function serve(route: Route): Promise<string> {
  live.server = await startTestServer((req, res) => route(req, res, new URL(req.url ?? '/', 'http://x')));
  return live.server.url;
}

async function run(connection: Record<string, unknown>, grid: Record<string, unknown> = {}, extra: { rateLimiters?: RedisRateLimiters } = {}) {
  live.project = writeProject(
    { api: { baseUrl: live.server!.url, retry: { attempts: 3, baseDelay: '10ms', maxDelay: '50ms' }, ...connection } },
    { items: { connection: 'api', grid: { path: '/items', rows: '$.data[*]', ...grid }, output: [{ stdout: { format: 'ndjson' } }] } },
  );
  const { logger, text } = memoryLogger(live.project.config);
  const store = new MemoryTokenStore();
  const clients = new ApiClients({
    config: live.project.config,
    logger,
    tokens: tokenProviders({ config: live.project.config, store, logger }),
    wrapTransport: httpPolicy({ logger, redactor: live.project.config.redactor, ...(extra.rateLimiters ? { rateLimiters: extra.rateLimiters } : {}) }),
  });
  const out = captureStream();
  try {
    const result = await runJob({ config: live.project.config, job: 'items', clients, logger, stdout: out.stream });
    return { result, error: undefined, text: out.text(), logs: text() };
  } catch (error) {
    return { result: undefined, error: error as Error & { code?: string; status?: number }, text: out.text(), logs: text() };
  } finally {
    await clients.close();
  }
}

const ROWS = { data: [{ id: 1 }, { id: 2 }] };

describe('responses: rules', () => {
  it('refresh: a 200 body saying TOKEN_EXPIRED refreshes the token once (single flight) and retries', async () => {
    let issued = 0;
    const seen: string[] = [];
    const url = await serve(async (req, res, u) => {
      if (u.pathname === '/token') {
        for await (const chunk of req) void chunk;
        return sendJson(res, 200, { access_token: `tok-${++issued}`, expires_in: 3600 });
      }
      seen.push(req.headers.authorization ?? '');
      if (req.headers.authorization === 'Bearer tok-1') return sendJson(res, 200, { error: { code: 'TOKEN_EXPIRED' } });
      sendJson(res, 200, ROWS);
    });
    const { result, text, error } = await run({
      apiKey: 'client',
      apiSecret: 'very-secret-value',
      grant: 'client_credentials',
      refresh: { endpoint: `${url}/token` },
      responses: [{ status: 200, path: '$.error.code', equals: 'TOKEN_EXPIRED', action: 'refresh' }],
    });
    expect(error).toBeUndefined();
    expect(issued).toBe(2);
    expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(result?.requests).toBe(2);
  });

  it('refresh: still expired after the refresh is a clear error', async () => {
    const url = await serve(async (req, res, u) => {
      if (u.pathname === '/token') {
        for await (const chunk of req) void chunk;
        return sendJson(res, 200, { access_token: `tok-${randomUUID()}`, expires_in: 3600 });
      }
      sendJson(res, 200, { error: { code: 'TOKEN_EXPIRED', text: 'token expired' } });
    });
    const { error } = await run({
      apiKey: 'client',
      apiSecret: 'very-secret-value',
      grant: 'client_credentials',
      refresh: { endpoint: `${url}/token` },
      responses: [{ status: 200, path: '$.error.code', equals: 'TOKEN_EXPIRED', action: 'refresh', message: '$.error.text' }],
    });
    expect(error?.code).toBe('E_UNAUTHORIZED');
    expect(error?.message).toMatch(/matching responses\[0\].*\(refresh\) again after a token refresh.*token expired/);
  });

  it('retry: a 403 whose message says rate limit backs off and retries like a 503', async () => {
    let calls = 0;
    await serve((_req, res) => {
      if (++calls < 3) return sendJson(res, 403, { message: 'Rate Limit exceeded, slow down' });
      sendJson(res, 200, ROWS);
    });
    const { error, text, logs } = await run({ responses: [{ status: 403, path: '$.message', matches: '(?i)rate limit', action: 'retry' }] });
    expect(error).toBeUndefined();
    expect(calls).toBe(3);
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(logs).toMatch(/answered 403: retry 1 of 2/);
  });

  it('retry: exhausted tries on a 2xx that matched is a failure, not rows', async () => {
    await serve((_req, res) => sendJson(res, 200, { busy: true, data: [{ id: 1 }] }));
    const { error, text } = await run({ retry: { attempts: 2, baseDelay: '5ms', maxDelay: '5ms' }, responses: [{ status: 200, path: '$.busy', equals: true, action: 'retry' }] });
    expect(error?.code).toBe('E_HTTP');
    expect(error?.message).toMatch(/answered 200 matching responses\[0\].*\(retry\) on each of 2 tries/);
    expect(text).toBe('');
  });

  it('fail: an error in a 200 body fails the run with the message at `message`, first match wins', async () => {
    await serve((_req, res) => sendJson(res, 200, { error: { message: 'quota exhausted for account 42' }, data: [] }));
    const { error } = await run({
      responses: [
        { status: 200, path: '$.error', exists: true, action: 'fail', message: '$.error.message' },
        { status: 200, path: '$.error', exists: true, action: 'skip' },
      ],
    });
    expect(error?.code).toBe('E_RESPONSE_RULE');
    expect(error?.message).toMatch(/GET .*\/items answered 200 matching responses\[0\] of connection "api" \(fail\): quota exhausted for account 42/);
  });

  it('exists: false and non-matching rules let normal bodies through untouched', async () => {
    await serve((_req, res) => sendJson(res, 200, ROWS));
    const { error, text } = await run({ responses: [{ status: 200, path: '$.error', exists: true, action: 'fail' }, { status: 200, path: '$.data', exists: false, action: 'fail' }] });
    expect(error).toBeUndefined();
    expect(text.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('skip: a plain grid drops that page and ends its pages with a warning', async () => {
    await serve((_req, res, u) => {
      const page = Number(u.searchParams.get('page'));
      if (page === 3) return sendJson(res, 200, { error: 'archived' });
      sendJson(res, 200, { data: [{ id: page }] });
    });
    const { error, text, result } = await run({ responses: [{ status: 200, path: '$.error', equals: 'archived', action: 'skip' }] }, { paginate: { page: { param: 'page' } } });
    expect(error).toBeUndefined();
    expect(text.trim().split('\n')).toEqual(['{"id":1}', '{"id":2}']);
    expect(result?.warnings.join('\n')).toMatch(/1 response dropped by a skip rule/);
  });

  it('skip: in a forEach child it skips that parent (counted)', async () => {
    await serve((_req, res, u) => {
      if (u.pathname === '/parents') return sendJson(res, 200, [{ id: 'x' }, { id: 'y' }, { id: 'z' }]);
      if (u.pathname === '/items/y') return sendJson(res, 200, { error: 'gone' });
      sendJson(res, 200, { data: [{ n: 1 }] });
    });
    const { error, text, result } = await run(
      { responses: [{ path: '$.error', exists: true, action: 'skip' }] },
      { forEach: { path: '/parents', rows: '$[*]', concurrency: 3 }, path: '/items/{{parent.id}}', columns: { parent: '{{parent.id}}', n: '$.n' } },
    );
    expect(error).toBeUndefined();
    expect(text.trim().split('\n')).toEqual(['{"parent":"x","n":1}', '{"parent":"z","n":1}']);
    expect(result?.skipped).toBe(1);
  });

  it('rules are checked when the config loads, with file and line', () => {
    const load = () =>
      writeProject(
        {
          api: {
            baseUrl: 'http://127.0.0.1:9',
            responses: [
              { status: 200, equals: 'x', action: 'fail' },
              { status: 200, path: '$.a', matches: '([', action: 'retry' },
              { status: 200, path: '$.a', action: 'refresh' },
              { status: 200, path: '$.a', exists: true, action: 'explode' },
            ],
          },
        },
        {},
      );
    expect(load).toThrow(/connections\.yaml:\d+:\d+ connection "api": responses\[0\]\.equals needs path/);
    expect(load).toThrow(/responses\[1\]\.matches is not a valid regular expression/);
    expect(load).toThrow(/responses\[2\]\.path needs a condition/);
    expect(load).toThrow(/responses\[2\] action refresh needs a refresh section/);
    expect(load).toThrow(/connections\.yaml:\d+:\d+.*responses\.3\.action|connections\.yaml:\d+:\d+.*"explode"/);
  });
});

describe('429 without Retry-After', () => {
  const keyspace = redisUnderPrefix(inject('redisUrl'));
  const { prefix } = keyspace;

  it('pauses the shared Redis budget too, so another worker holds back', async () => {
    const connection = { name: `p429-${randomUUID()}`, rateLimit: { requests: 1000, per: 1000 } } as Connection;
    const mine = new RedisRateLimiters({ redis: keyspace.redis, prefix });
    const { logger, text } = memoryLogger();
    // The API's answer: 429 and no Retry-After.
    const transport = withRateLimit(
      async (request) => ({ status: 429, headers: {}, body: Readable.from([]) as HttpResponse['body'], url: request.url }),
      mine.forConnection(connection)!,
      { logger, baseDelay: 800, maxDelay: 5000 },
    );
    const response = await transport({ method: 'GET', url: new URL('http://127.0.0.1:9/x'), headers: {} });
    expect(response.status).toBe(429);
    expect(text()).toMatch(/429 without Retry-After: pausing the connection's rate budget for 800 ms/);
    const waits = await keyspace.waitsOfAnotherWorker(connection);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(500);
    expect(waits[0]).toBeLessThanOrEqual(800);
  });

  it('pauses longer for each 429 in a row, capped at maxDelay', async () => {
    const pauses: number[] = [];
    const limiter = { acquire: async () => undefined, pause: async (ms: number) => void pauses.push(ms) };
    const { logger } = memoryLogger();
    const statuses = [429, 429, 429, 429, 200, 429];
    const transport = withRateLimit(async (request) => ({ status: statuses.shift()!, headers: {}, body: Readable.from([]) as HttpResponse['body'], url: request.url }), limiter, { logger, baseDelay: 100, maxDelay: 500 });
    for (let i = 0; i < 6; i++) await transport({ method: 'GET', url: new URL('http://127.0.0.1:9/x'), headers: {} });
    expect(pauses).toEqual([100, 200, 400, 500, 100]);
  });
});
