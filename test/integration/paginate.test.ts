import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RestqError } from '../../src/errors/restq-error.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { runJob } from '../../src/runner.js';
import { sendJson, startTestServer } from '../helpers/http-test-server.js';
import { serverAndProjectPerTest } from '../helpers/per-test.js';
import { captureStream, memoryLogger, writeProject } from '../helpers/temp-project.js';

const ITEMS = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));

const live = serverAndProjectPerTest();

/** Runs job "items" against the server with a stdout ndjson sink; returns rows and requests seen. */
async function run(grid: Record<string, unknown>, output: unknown[] = [{ stdout: { format: 'ndjson' } }]) {
  live.project = writeProject(
    { api: { baseUrl: `${live.server!.url}/api`, accessToken: 'test-token-1234', retry: { attempts: 1 } } },
    { items: { connection: 'api', grid: { path: '/items', ...grid }, output } },
  );
  const { logger } = memoryLogger(live.project.config);
  const clients = new ApiClients({ config: live.project.config, logger });
  const out = captureStream();
  try {
    const result = await runJob({ config: live.project.config, job: 'items', clients, logger, stdout: out.stream });
    const rows = out.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: number });
    return { result, ids: rows.map((r) => r.id) };
  } finally {
    await clients.close();
  }
}

function recorder() {
  const urls: URL[] = [];
  return { urls, record: (raw: string | undefined) => urls[urls.push(new URL(raw ?? '/', 'http://x')) - 1]! };
}

describe('pagination against servers that implement it', () => {
  it('nextUrl follows relative and absolute next URLs until the link is null', async () => {
    const seen = recorder();
    live.server = await startTestServer((req, res) => {
      const url = seen.record(req.url);
      const page = Number(url.searchParams.get('page') ?? 1);
      // Page 1 links relatively ("items?page=2" resolves against /api/items), page 2 absolutely.
      const next = page === 1 ? 'items?page=2' : page === 2 ? `${live.server!.url}/api/items?page=3` : null;
      // The link comes after the rows, so the streamed parser must still find it.
      sendJson(res, 200, { data: ITEMS.slice((page - 1) * 4, page * 4), links: { next } });
    });
    const { result, ids } = await run({ rows: '$.data[*]', paginate: { nextUrl: '$.links.next' } });
    expect(ids).toEqual(ITEMS.map((i) => i.id));
    expect(seen.urls.map((u) => `${u.pathname}${u.search}`)).toEqual(['/api/items', '/api/items?page=2', '/api/items?page=3']);
    expect(result).toMatchObject({ pages: 3, rows: 10 });
  });

  it('nextUrl that points at the same URL again is an error, not a loop', async () => {
    live.server = await startTestServer((_req, res) => sendJson(res, 200, { links: { next: '/api/items?page=2' }, data: [ITEMS[0]] }));
    const error = await run({ rows: '$.data[*]', paginate: { nextUrl: '$.links.next' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestqError);
    expect((error as RestqError).code).toBe('E_PAGINATION');
    expect((error as Error).message).toMatch(/next page again after 2 pages.*instead of looping/);
  });

  it('nextUrl on another origin is refused (credentials stay with the API)', async () => {
    live.server = await startTestServer((_req, res) => sendJson(res, 200, { data: [ITEMS[0]], links: { next: 'http://127.0.0.2:9/steal' } }));
    const error = (await run({ rows: '$.data[*]', paginate: { nextUrl: '$.links.next' } }).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_PAGINATION');
    expect(error.message).toMatch(/another origin/);
  });

  it('cursor sends the cursor param and stops on a null cursor', async () => {
    const seen = recorder();
    const cursors: Record<string, { rows: typeof ITEMS; next: string | null }> = {
      '': { rows: ITEMS.slice(0, 3), next: 'c2' },
      c2: { rows: ITEMS.slice(3, 6), next: 'c3' },
      c3: { rows: ITEMS.slice(6), next: null },
    };
    live.server = await startTestServer((req, res) => {
      const page = cursors[seen.record(req.url).searchParams.get('after') ?? '']!;
      sendJson(res, 200, { meta: { next: page.next }, data: page.rows });
    });
    const { result, ids } = await run({ rows: '$.data[*]', query: { limit: 3 }, paginate: { cursor: { path: '$.meta.next', param: 'after' } } });
    expect(ids).toEqual(ITEMS.map((i) => i.id));
    expect(seen.urls.map((u) => u.search)).toEqual(['?limit=3', '?limit=3&after=c2', '?limit=3&after=c3']);
    expect(result.pages).toBe(3);
  });

  it('cursor stops on an empty cursor too', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => sendJson(res, 200, { data: [ITEMS[requests++]], meta: { next: requests < 2 ? 'x' : '' } }));
    const { ids } = await run({ rows: '$.data[*]', paginate: { cursor: { path: '$.meta.next', param: 'cursor' } } });
    expect(ids).toEqual([1, 2]);
    expect(requests).toBe(2);
  });

  it('a repeating cursor is an error naming the cursor', async () => {
    let requests = 0;
    live.server = await startTestServer((req, res) => {
      requests++;
      const cursor = new URL(req.url!, 'http://x').searchParams.get('cursor');
      // none -> A -> B -> A again
      sendJson(res, 200, { data: [ITEMS[0]], meta: { next: cursor === 'A' ? 'B' : 'A' } });
    });
    const error = (await run({ rows: '$.data[*]', paginate: { cursor: { path: '$.meta.next', param: 'cursor' } } }).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_PAGINATION');
    expect(error.message).toMatch(/returned the cursor A .* a second time/);
    expect(requests).toBe(3);
  });

  it('offset advances by the limit and stops on a short page', async () => {
    const seen = recorder();
    live.server = await startTestServer((req, res) => {
      const url = seen.record(req.url);
      const offset = Number(url.searchParams.get('skip'));
      const limit = Number(url.searchParams.get('take'));
      sendJson(res, 200, ITEMS.slice(offset, offset + limit));
    });
    const { ids, result } = await run({ rows: '$[*]', paginate: { offset: { param: 'skip', limitParam: 'take', limit: 4 } } });
    expect(ids).toEqual(ITEMS.map((i) => i.id));
    expect(seen.urls.map((u) => u.search)).toEqual(['?skip=0&take=4', '?skip=4&take=4', '?skip=8&take=4']);
    expect(result.pages).toBe(3);
  });

  it('offset asks once more when the last page is exactly full, and stops on the empty one', async () => {
    let requests = 0;
    live.server = await startTestServer((req, res) => {
      requests++;
      const offset = Number(new URL(req.url!, 'http://x').searchParams.get('offset'));
      sendJson(res, 200, { data: ITEMS.slice(offset, Math.min(offset + 5, 10)) });
    });
    const { ids } = await run({ rows: '$.data[*]', paginate: { offset: { param: 'offset', limit: 5 } } });
    expect(ids).toHaveLength(10);
    expect(requests).toBe(3);
  });

  it('page counts from start and stops on an empty page', async () => {
    const seen = recorder();
    live.server = await startTestServer((req, res) => {
      const page = Number(seen.record(req.url).searchParams.get('p'));
      sendJson(res, 200, { results: { items: ITEMS.slice(page * 4, page * 4 + 4) } });
    });
    const { ids, result } = await run({ rows: '$.results.items[*]', paginate: { page: { param: 'p', start: 0 } } });
    expect(ids).toEqual(ITEMS.map((i) => i.id));
    expect(seen.urls.map((u) => u.searchParams.get('p'))).toEqual(['0', '1', '2', '3']);
    expect(result.pages).toBe(4);
  });

  it('linkHeader follows rel="next" among other relations and stops without one', async () => {
    const seen = recorder();
    live.server = await startTestServer((req, res) => {
      const page = Number(seen.record(req.url).searchParams.get('page') ?? 1);
      const links = [`<${live.server!.url}/api/items?page=1>; rel="first"`, `</api/items?page=3>; rel="last"`];
      if (page === 1) links.push('<items?page=2>; rel="next"');
      if (page === 2) links.push(`<${live.server!.url}/api/items?page=3>; rel="prefetch next"`);
      sendJson(res, 200, ITEMS.slice((page - 1) * 4, page * 4), { link: links.join(', ') });
    });
    const { ids, result } = await run({ rows: '$[*]', paginate: { linkHeader: true } });
    expect(ids).toEqual(ITEMS.map((i) => i.id));
    expect(seen.urls.map((u) => u.search)).toEqual(['', '?page=2', '?page=3']);
    expect(result.pages).toBe(3);
  });

  it('maxPages fails the run with a clear error and leaves no output file', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => {
      requests++;
      sendJson(res, 200, { data: [ITEMS[0]] });
    });
    const error = (await run({ rows: '$.data[*]', paginate: { page: { param: 'page' }, maxPages: 3 } }, [{ csv: 'out/items.csv' }]).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_PAGINATION');
    expect(error.message).toMatch(/maxPages = 3 pages, but the API still offers a next page/);
    expect(requests).toBe(3);
    expect(existsSync(path.join(live.project!.dir, 'out', 'items.csv'))).toBe(false);
  });

  it('a row path that cannot be streamed falls back to jsonpath-plus and still paginates', async () => {
    live.server = await startTestServer((req, res) => {
      const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? 1);
      const data = ITEMS.slice((page - 1) * 5, page * 5).map((item) => ({ ...item, keep: item.id % 2 === 0 }));
      sendJson(res, 200, { data, links: { next: page < 2 ? '?page=2' : null } });
    });
    const { ids } = await run({ rows: '$.data[?(@.keep)]', paginate: { nextUrl: '$.links.next' } });
    expect(ids).toEqual([2, 4, 6, 8, 10]);
  });
});
