import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { runJob, type RunProgress } from '../../src/runner.js';
import { sendJson, startTestServer } from '../helpers/http-test-server.js';
import { serverAndProjectPerTest } from '../helpers/per-test.js';
import { captureStream, memoryLogger, writeProject } from '../helpers/temp-project.js';

const PAGES = 23;
const PER_PAGE = 5;
const ROWS = Array.from({ length: PAGES * PER_PAGE - 2 }, (_, i) => ({ id: i + 1 }));

/** A page/offset API that answers after a random delay (so pages finish out of order) and counts requests in flight. */
async function pagedApi() {
  const stats = { inFlight: 0, peak: 0, requests: [] as string[] };
  const server = await startTestServer(async (req, res: ServerResponse) => {
    stats.inFlight++;
    stats.peak = Math.max(stats.peak, stats.inFlight);
    stats.requests.push(req.url ?? '/');
    res.on('close', () => stats.inFlight--);
    const url = new URL(req.url ?? '/', 'http://x');
    await delay(Math.floor(Math.random() * 20));
    const offset = url.searchParams.has('offset') ? Number(url.searchParams.get('offset')) : (Number(url.searchParams.get('page') ?? 1) - 1) * PER_PAGE;
    const data = ROWS.slice(offset, offset + PER_PAGE);
    const hasMore = offset + PER_PAGE < ROWS.length;
    sendJson(res, 200, { data, meta: { pages: Math.ceil(ROWS.length / PER_PAGE), count: ROWS.length }, has_more: hasMore, cursor: hasMore ? offset + PER_PAGE : offset });
  });
  return { server, stats };
}

const live = serverAndProjectPerTest();

async function run(paginate: Record<string, unknown>, connection: Record<string, unknown> = {}, onProgress?: (p: RunProgress) => void) {
  live.project = writeProject(
    { api: { baseUrl: live.server!.url, retry: { attempts: 1 }, ...connection } },
    { items: { connection: 'api', grid: { path: '/items', rows: '$.data[*]', paginate }, output: [{ stdout: { format: 'ndjson' } }] } },
  );
  const { logger } = memoryLogger(live.project.config);
  const clients = new ApiClients({ config: live.project.config, logger });
  const out = captureStream();
  try {
    const result = await runJob({ config: live.project.config, job: 'items', clients, logger, stdout: out.stream, ...(onProgress ? { onProgress } : {}) });
    return { result, text: out.text(), ids: out.text().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id) };
  } finally {
    await clients.close();
  }
}

describe('parallel pages (paginate.concurrency)', () => {
  it('page: fetches ahead, keeps page order, drops pages past the end; same bytes as concurrency 1', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const one = await run({ page: { param: 'page' } });
    expect(api.stats.peak).toBe(1);
    api.stats.peak = 0;
    api.stats.requests.length = 0;
    const four = await run({ page: { param: 'page' }, concurrency: 4 });
    expect(four.text).toBe(one.text);
    expect(four.ids).toEqual(ROWS.map((r) => r.id));
    expect(api.stats.peak).toBeGreaterThan(1);
    expect(api.stats.peak).toBeLessThanOrEqual(4);
    // Pages 1..23 and the empty page 24 are needed; at most 3 more were fetched ahead and dropped.
    expect(api.stats.requests.length).toBeGreaterThanOrEqual(PAGES + 1);
    expect(api.stats.requests.length).toBeLessThanOrEqual(PAGES + 1 + 3);
    expect(four.result.pages).toBe(PAGES + 1);
  });

  it('page with total: exactly the page count from the first response, nothing speculative', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const { ids, result } = await run({ page: { param: 'page' }, concurrency: 5, total: '$.meta.pages' });
    expect(ids).toEqual(ROWS.map((r) => r.id));
    expect(api.stats.requests).toHaveLength(PAGES);
    expect(new Set(api.stats.requests).size).toBe(PAGES);
    expect(result.pages).toBe(PAGES);
    expect(api.stats.peak).toBeLessThanOrEqual(5);
  });

  it('total with concurrency 1: paging stops at the announced count and the progress reports it; an unusable total is ignored there', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const reported: Array<number | undefined> = [];
    const { ids, result } = await run({ page: { param: 'page' }, total: '$.meta.pages' }, {}, (p) => reported.push(p.totalPages));
    expect(ids).toEqual(ROWS.map((r) => r.id));
    expect(api.stats.requests).toHaveLength(PAGES);
    expect(result.pages).toBe(PAGES);
    // Unknown until the first page was read to its end, then the page count on every report.
    expect(reported[0]).toBeUndefined();
    expect(reported.at(-1)).toBe(PAGES);
    expect(reported.slice(reported.indexOf(PAGES)).every((t) => t === PAGES)).toBe(true);
    api.stats.requests.length = 0;
    const counted: Array<number | undefined> = [];
    const offset = await run({ offset: { param: 'offset', limitParam: 'limit', limit: PER_PAGE }, total: '$.meta.count' }, {}, (p) => counted.push(p.totalPages));
    expect(offset.ids).toEqual(ROWS.map((r) => r.id));
    expect(api.stats.requests).toHaveLength(PAGES);
    expect(counted.at(-1)).toBe(PAGES);
    api.stats.requests.length = 0;
    const unusable: Array<number | undefined> = [];
    const ignored = await run({ page: { param: 'page' }, total: '$.meta.nope' }, {}, (p) => unusable.push(p.totalPages));
    expect(ignored.ids).toEqual(ROWS.map((r) => r.id));
    expect(api.stats.requests).toHaveLength(PAGES + 1);
    expect(unusable.every((t) => t === undefined)).toBe(true);
  });

  it('offset with total (a row count) and without', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const counted = await run({ offset: { param: 'offset', limitParam: 'limit', limit: PER_PAGE }, concurrency: 3, total: '$.meta.count' });
    expect(counted.ids).toEqual(ROWS.map((r) => r.id));
    expect(api.stats.requests).toHaveLength(PAGES);
    api.stats.requests.length = 0;
    const ahead = await run({ offset: { param: 'offset', limit: PER_PAGE }, concurrency: 3 });
    expect(ahead.ids).toEqual(ROWS.map((r) => r.id));
    // The short last page ends it; up to 2 pages fetched ahead are dropped.
    expect(api.stats.requests.length).toBeLessThanOrEqual(PAGES + 2);
    expect(api.stats.peak).toBeLessThanOrEqual(3);
  });

  it('maxPages still guards parallel paging', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const error = await run({ page: { param: 'page' }, concurrency: 4, maxPages: 5 }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(error?.code).toBe('E_PAGINATION');
    expect(error?.message).toMatch(/maxPages = 5/);
    expect(api.stats.requests.length).toBeLessThanOrEqual(5);
  });

  it('a bad total is a clear error', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const error = await run({ page: { param: 'page' }, concurrency: 2, total: '$.meta.nope' }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(error?.code).toBe('E_PAGINATION');
    expect(error?.message).toMatch(/paginate\.total \$\.meta\.nope is absent from the first response/);
  });

  it('rate budget holds with pages in flight', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const arrivals: number[] = [];
    const started = performance.now();
    const { ids } = await run({ page: { param: 'page' }, concurrency: 8, total: '$.meta.pages' }, { rateLimit: { requests: 20, per: '1s' } });
    arrivals.push(performance.now() - started);
    expect(ids).toHaveLength(ROWS.length);
    // 23 requests at 20/s spaced 50 ms apart take at least 22 intervals.
    expect(arrivals[0]).toBeGreaterThanOrEqual(22 * 50 - 20);
  });
});

describe('stopWhen', () => {
  it('cursor pagination ends on has_more: false even though a cursor is present', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const { ids, result } = await run({ cursor: { path: '$.cursor', param: 'offset' }, stopWhen: '$.has_more' });
    expect(ids).toEqual(ROWS.map((r) => r.id));
    expect(result.pages).toBe(PAGES);
    expect(api.stats.requests).toHaveLength(PAGES);
  });

  it('page pagination in parallel ends on has_more: false without fetching the empty page', async () => {
    const api = await pagedApi();
    live.server = api.server;
    const { ids, result } = await run({ page: { param: 'page' }, stopWhen: '$.has_more', concurrency: 2 });
    expect(ids).toEqual(ROWS.map((r) => r.id));
    expect(result.pages).toBe(PAGES);
  });
});
