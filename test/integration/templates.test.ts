import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { json, startServer, type TestServer } from '../helpers/http-test-server.js';
import { runInProcess } from '../helpers/run-in-process.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ '/v2/search': (_req, res) => json(res, { data: [{ id: 1 }] }), '/other/abs': (_req, res) => json(res, { data: [] }) });
});
afterAll(() => server.close());

let project: TempProject | undefined;
afterEach(() => {
  project?.cleanup();
  server.requests.length = 0;
});

const START = new Date('2026-05-06T07:08:09.000Z');

async function request(connection: string[], job: string[], options: Parameters<typeof runInProcess>[2] = {}) {
  project = tempProject({
    'connections.yaml': lines('connections:', '  api:', `    baseUrl: ${server.url}/v2`, ...connection.map((l) => `    ${l}`)),
    'jobs/search.yaml': lines('connection: api', ...job, 'output:', '  - stdout:'),
  });
  const run = await runInProcess(project.dir, 'search', { clock: () => START, runId: 'run-7', ...options });
  expect(run.error).toBeUndefined();
  expect(server.requests).toHaveLength(1);
  return server.requests[0]!;
}

describe('request templates', () => {
  it('fills {{params.*}} from job defaults overridden by run-time params, and {{now}} {{date}} {{runId}} {{lastSuccessAt}}', async () => {
    const req = await request(
      ['accessToken: static-token-1'],
      [
        'params: { status: open, region: eu }',
        'grid:',
        '  path: /search',
        '  query:',
        '    status: "{{params.status}}"',
        '    region: "{{ params.region }}"',
        '    at: "{{now}}"',
        '    day: "{{date}}"',
        '    run: "{{runId}}"',
        '    since: "{{lastSuccessAt}}"',
        '    fixed: 50',
        '  rows: $.data[*]',
      ],
      { params: { status: 'closed' }, lastSuccessAt: '2026-05-05T00:00:00.000Z' },
    );
    expect(req.url.pathname).toBe('/v2/search');
    expect(Object.fromEntries(req.url.searchParams)).toEqual({
      status: 'closed',
      region: 'eu',
      at: '2026-05-06T07:08:09.000Z',
      day: '2026-05-06',
      run: 'run-7',
      since: '2026-05-05T00:00:00.000Z',
      fixed: '50',
    });
  });

  it('omits a query parameter that renders empty ({{lastSuccessAt}} on a first run, an empty param, null)', async () => {
    const req = await request(
      [],
      ['params: { filter: "" }', 'grid:', '  path: /search', '  query: { since: "{{lastSuccessAt}}", filter: "{{params.filter}}", none: null, keep: "x" }', '  rows: $.data[*]'],
    );
    expect(req.url.search).toBe('?keep=x');
  });

  it('sends connection headers and auth; job headers override connection headers whatever their case', async () => {
    const req = await request(
      ['accessToken: raw-token-2', 'bearer: false', 'apiKey: client-key-3', 'apiKeyHeader: X-API-Key', 'headers: { X-Tenant: acme, X-Keep: kept }'],
      ['grid:', '  path: /search', '  headers: { x-tenant: "{{params.tenant}}", X-Job: job }', '  rows: $.data[*]', 'params: { tenant: override }'],
    );
    expect(req.headers).toMatchObject({
      authorization: 'raw-token-2',
      'x-api-key': 'client-key-3',
      'x-tenant': 'override',
      'x-keep': 'kept',
      'x-job': 'job',
      accept: 'application/json',
    });
    expect(req.rawHeaders.filter((h) => h.toLowerCase() === 'x-tenant')).toHaveLength(1);
  });

  it('sends Authorization: Bearer <token> by default', async () => {
    const req = await request(['accessToken: bearer-token-4'], ['grid:', '  path: /search', '  rows: $.data[*]']);
    expect(req.headers['authorization']).toBe('Bearer bearer-token-4');
  });

  it('renders a JSON body: strings templated, a lone {{params.x}} keeps the param\'s type', async () => {
    const req = await request(
      [],
      [
        'params: { limit: 100, active: true, status: open, nothing: null }',
        'grid:',
        '  method: POST',
        '  path: /search',
        '  body:',
        '    filter: { status: "{{params.status}}", label: "status={{params.status}}", since: "{{lastSuccessAt}}" }',
        '    limit: "{{params.limit}}"',
        '    active: "{{params.active}}"',
        '    nothing: "{{params.nothing}}"',
        '    list: ["{{date}}", 1, false]',
        '  rows: $.data[*]',
      ],
      { params: { limit: '25' } },
    );
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({
      filter: { status: 'open', label: 'status=open', since: '' },
      limit: 25,
      active: true,
      nothing: null,
      list: ['2026-05-06', 1, false],
    });
  });

  it('sends a string body as text', async () => {
    const req = await request([], ['grid:', '  method: PUT', '  path: /search', '  body: "query {{params.q}}"', '  rows: $.data[*]', 'params: { q: orders }']);
    expect(req.body).toBe('query orders');
    expect(req.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('takes an absolute URL in path as is, and keeps a query string written in the path', async () => {
    const req = await request([], ['grid:', `  path: "${server.url}/other/abs?from=path"`, '  query: { page: 2 }', '  rows: $.data[*]']);
    expect(`${req.url.pathname}${req.url.search}`).toBe('/other/abs?from=path&page=2');
  });

  it('fails before sending when a {{params.x}} has no value, telling how to pass it', async () => {
    project = tempProject({
      'connections.yaml': lines('connections:', '  api:', `    baseUrl: ${server.url}/v2`),
      'jobs/search.yaml': lines('connection: api', 'grid:', '  path: /search', '  query: { q: "{{params.q}}" }', '  rows: $.data[*]'),
    });
    const run = await runInProcess(project.dir, 'search');
    expect(run.error).toMatchObject({ code: 'E_TEMPLATE' });
    expect((run.error as Error).message).toBe('grid.query.q: {{params.q}} has no value: set params.q in the job file or pass --param q=VALUE');
    expect(server.requests).toHaveLength(0);
  });
});
