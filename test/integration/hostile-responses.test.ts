import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { runJob } from '../../src/runner.js';
import { connectionsYaml, tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { json, startServer, type TestServer } from '../helpers/json-server.js';
import { captureStream } from '../helpers/memory-logger.js';
import { runInProcess } from '../helpers/run-in-process.js';

/** Hostile API answers, as a new user meets them: each a clear error or warning, nothing clobbered. */
const lines = (...l: string[]) => `${l.join('\n')}\n`;

let server: TestServer;
let body: unknown;
beforeAll(async () => {
  server = await startServer({
    '/json': (_req, res) => json(res, body),
    '/gzip': (_req, res) => {
      // A gzip body whose server forgot Content-Encoding.
      const bytes = gzipSync(JSON.stringify({ data: [{ id: 1 }] }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
      res.end(bytes);
    },
    '/gzip-chunked': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(gzipSync(JSON.stringify({ data: [{ id: 1 }] })));
    },
    '/paged': async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const page = Number(req.url.searchParams.get('page'));
      json(res, { data: page <= 3 ? [{ page }] : [] });
    },
    '/slow': async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, Number(req.url.searchParams.get('ms') ?? 50)));
      json(res, { data: [{ id: req.url.searchParams.get('n') }] });
    },
  });
});
afterAll(() => server.close());

let project: ConfigDir | undefined;
afterEach(() => project?.cleanup());

function grid(path: string, rows: string, extra: string[] = [], output = ['  - csv: out/x.csv']): ConfigDir {
  project = tempConfigDir({
    'connections.yaml': connectionsYaml(server.url),
    'jobs/x.yaml': lines('connection: api', 'grid:', `  path: ${path}`, `  rows: ${rows}`, ...extra, 'output:', ...output),
  });
  return project;
}

describe('API answers that are not what the job expects', () => {
  it('a scalar query answered with JSON null fails with a clear error, not an internal TypeError', async () => {
    body = null;
    project = tempConfigDir({
      'connections.yaml': connectionsYaml(server.url),
      'jobs/count.yaml': lines('connection: api', 'scalar:', '  path: /json', '  value: $.count'),
    });
    const run = await runInProcess(project.dir, 'count');
    expect(run.error).toMatchObject({ code: 'E_JSONPATH' });
    expect((run.error as Error).message).toBe(`job "count": scalar.value $.count matched nothing in the response of GET ${server.url}/json (a null)`);
  });

  it.each([null, 42, 'text'])('a grid query answered with %j fails naming the rows path and what came', async (value) => {
    body = value;
    const p = grid('/json', '$.data[*]');
    const run = await runInProcess(p.dir, 'x');
    expect(run.error).toMatchObject({ code: 'E_JSONPATH' });
    expect((run.error as Error).message).toMatch(/grid\.rows \$\.data\[\*\] found no "data"/);
    expect(existsSync(p.file('out/x.csv'))).toBe(false);
  });

  it.each(['/gzip', '/gzip-chunked'])('a gzip body without Content-Encoding (%s) fails with "response is not JSON" and its first bytes escaped', async (path) => {
    const p = grid(path, '$.data[*]');
    const run = await runInProcess(p.dir, 'x');
    expect(run.error).toMatchObject({ code: 'E_RESPONSE' });
    const message = (run.error as Error).message;
    expect(message).toContain('response is not JSON');
    expect(message).toContain('\\x1f\\x8b');
    // eslint-disable-next-line no-control-regex -- the point: no raw control bytes in the message
    expect(message).not.toMatch(/[\x00-\x08\x0e-\x1f]/);
    expect(existsSync(p.file('out/x.csv'))).toBe(false);
  });

  it('gzip through a whole-body rows path (a filter) fails the same way', async () => {
    const p = grid('/gzip', '"$.data[?(@.id > 0)]"');
    const run = await runInProcess(p.dir, 'x');
    expect((run.error as Error).message).toContain('response is not JSON');
  });
});

describe('a rows path that does not fit the body', () => {
  it.each([
    ['streamed (small body)', '$.data[*]'],
    ['whole body (filter)', '"$.data[?(@.id)]"'],
  ])('%s: a missing parent key fails naming the path and the top-level keys; the previous CSV stays', async (_name, rows) => {
    body = { items: [{ id: 1 }], meta: { page: 1 } };
    const p = grid('/json', rows);
    p.write('out/x.csv', 'id\r\n7\r\n');
    const run = await runInProcess(p.dir, 'x');
    expect(run.error).toMatchObject({ code: 'E_JSONPATH' });
    const message = (run.error as Error).message;
    expect(message).toContain('found no "data"');
    expect(message).toContain('top-level keys: items, meta');
    expect(readFileSync(p.file('out/x.csv'), 'utf8')).toBe('id\r\n7\r\n');
  });

  it('an empty array is a legitimate 0-row run', async () => {
    body = { data: [] };
    const p = grid('/json', '$.data[*]');
    const run = await runInProcess(p.dir, 'x');
    expect(run.error).toBeUndefined();
    expect(run.result?.rows).toBe(0);
    expect(readFileSync(p.file('out/x.csv'), 'utf8')).toBe('');
  });

  it('a column path that matched nothing in every row is warned about by name', async () => {
    body = { data: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] };
    const p = grid('/json', '$.data[*]', ['  columns:', '    id: $.id', '    title: $.titel', '    name: $.name']);
    const run = await runInProcess(p.dir, 'x');
    expect(run.error).toBeUndefined();
    const warning = run.result!.warnings.find((w) => w.includes('title'));
    expect(warning).toBe('grid.columns.title ($.titel) matched nothing in any of the 2 rows: check the path against a row (keys of the first row: id, name)');
    expect(run.result!.warnings.some((w) => w.includes('grid.columns.name'))).toBe(false);
  });
});

describe('the run timeout', () => {
  it('stops a run whatever it is doing (a sink stuck on a path under /proc)', async () => {
    body = { data: [{ id: 1 }] };
    const p = grid('/json', '$.data[*]', [], ['  - csv: /proc/self/fd/0/out.csv']);
    writeFileSync(p.file('jobs/x.yaml'), readFileSync(p.file('jobs/x.yaml'), 'utf8') + 'timeout: 1s\n');
    // validate refuses such a path; the runner is exercised with a config loaded without it.
    expect(() => loadConfig({ dir: p.dir, env: {} })).toThrow(/under \/proc/);
  });

  it('fires even when a sink never returns', async () => {
    body = { data: [{ id: 1 }] };
    const p = grid('/json', '$.data[*]');
    writeFileSync(p.file('jobs/x.yaml'), readFileSync(p.file('jobs/x.yaml'), 'utf8') + 'timeout: 300ms\n');
    const config = loadConfig({ dir: p.dir, env: {} });
    const logs = captureStream().stream;
    const logger = createLogger({ level: 'debug', destination: logs, pretty: false });
    const clients = new ApiClients({ config, logger });
    // A write stream to a FIFO nobody reads: open() never completes, whatever the sink does.
    const { execFileSync } = await import('node:child_process');
    const fifo = p.file('out/x.csv.tmp-stuck');
    execFileSync('mkdir', ['-p', p.file('out')]);
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const error = await runJob({ config, job: 'x', clients, logger, runId: 'stuck', stdout: captureStream().stream }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await clients.close();
    expect(error).toMatchObject({ code: 'E_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(10_000);
    // Unblock the FIFO so the pending open() thread finishes.
    const { openSync, closeSync, constants } = await import('node:fs');
    closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
  });
});

describe('per-run figures under worker concurrency', () => {
  it('each run counts its own requests when runs of one connection overlap', async () => {
    project = tempConfigDir({
      'connections.yaml': connectionsYaml(server.url),
      'jobs/one.yaml': lines('connection: api', 'grid:', '  path: /slow', '  query: { ms: "150", n: "1" }', '  rows: $.data[*]'),
      'jobs/four.yaml': lines('connection: api', 'grid:', '  path: /paged', '  rows: $.data[*]', '  paginate:', '    page: { param: page }'),
    });
    const config = loadConfig({ dir: project.dir, env: {} });
    const logger = createLogger({ level: 'silent', destination: captureStream().stream, pretty: false });
    const clients = new ApiClients({ config, logger });
    const [one, four] = await Promise.all([
      runJob({ config, job: 'one', clients, logger, stdout: captureStream().stream }),
      runJob({ config, job: 'four', clients, logger, stdout: captureStream().stream }),
    ]);
    await clients.close();
    expect(four.requests).toBe(4);
    expect(one.requests).toBe(1);
  });
});

describe('left-outs of earlier work', () => {
  it('webhook retry count and max delay come from webhook.retry', async () => {
    const hook = await startServer({ '/hook': (_req, res) => json(res, { error: 'busy' }, 503) });
    try {
      body = { data: [{ id: 1 }] };
      const p = grid('/json', '$.data[*]', [], ['  - webhook:', `      url: ${hook.url}/hook`, '      retry: { attempts: 2, maxDelay: 20ms }']);
      const run = await runInProcess(p.dir, 'x');
      expect(run.error).toMatchObject({ code: 'E_SINK' });
      expect((run.error as Error).message).toContain('after 2 attempts');
      expect(hook.requests).toHaveLength(2);
    } finally {
      await hook.close();
    }
  });

  it('run ids of scheduled runs are safe as file names (no ":"), and stable', async () => {
    const { runIdOfJob, newRunId } = await import('../../src/run-id.js');
    expect(runIdOfJob('repeat:orders:1733312400000')).toBe('repeat-orders-1733312400000');
    expect(runIdOfJob('repeat:orders:1733312400000')).toBe(runIdOfJob('repeat:orders:1733312400000'));
    expect(runIdOfJob('a/b\\c*?"<>|')).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(newRunId()).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('append: true warns when the file\'s header differs from the run\'s columns, and still appends', async () => {
    body = { data: [{ id: 1, name: 'a' }] };
    const p = grid('/json', '$.data[*]', ['  columns: { id: $.id, name: $.name }'], ['  - csv: { path: out/log.csv, append: true }']);
    p.write('out/log.csv', 'id,title\r\n7,x\r\n');
    const run = await runInProcess(p.dir, 'x');
    expect(run.error).toBeUndefined();
    expect(run.logs).toContain("the file's header (id,title) differs from this run's columns (id,name)");
    expect(readFileSync(p.file('out/log.csv'), 'utf8')).toBe('id,title\r\n7,x\r\n1,a\r\n');
    // Same header: no warning.
    const again = grid('/json', '$.data[*]', ['  columns: { id: $.id, name: $.name }'], ['  - csv: { path: out/log.csv, append: true }']);
    again.write('out/log.csv', 'id,name\r\n7,x\r\n');
    const quiet = await runInProcess(again.dir, 'x');
    expect(quiet.logs).not.toContain('differs from');
  });
});
