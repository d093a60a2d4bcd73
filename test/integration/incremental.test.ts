import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/types.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { runJob } from '../../src/runner.js';
import { FileStateStore } from '../../src/state/file-state-store.js';
import { captureLogger, demoProject, incrementalOrdersJob, type Project } from '../helpers/queue-fixture.js';

const TOKEN = 'at-incremental-test-91c2';
const MAX_UPDATED = '2026-01-06T17:30:00.000Z'; // updated_at of order 137, the greatest of the sample data

let api: SampleApi;
let slowApi: SampleApi;
let rejecting: Server;
let rejectingUrl: string;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: [TOKEN] });
  slowApi = await startSampleApi({ staticTokens: [TOKEN], pageDelayMs: 1500 });
  // A webhook that refuses every batch (400): the run fails after every page was read.
  rejecting = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no"}'));
  });
  await new Promise<void>((r) => rejecting.listen(0, '127.0.0.1', r));
  rejectingUrl = `http://127.0.0.1:${(rejecting.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await api.close();
  await slowApi.close();
  rejecting.closeAllConnections();
  await new Promise((r) => rejecting.close(r));
  for (const c of cleanups) c();
});

function project(baseUrl = api.url): { proj: Project; config: Config; clients: ApiClients; state: FileStateStore; logs: string[] } {
  const proj = demoProject(baseUrl, TOKEN, {
    orders: incrementalOrdersJob(),
    failing: incrementalOrdersJob(`  - webhook: { url: "${rejectingUrl}/in", batchSize: 1000 }\n`),
    slow: incrementalOrdersJob('timeout: 1s\n'),
    nocursor: incrementalOrdersJob().replace('cursor: $.updated_at', 'cursor: $.changed_at'),
    sliced: incrementalOrdersJob('', '  slice: 2d\n  lookback: 1h\n  filter: true\n'),
  });
  cleanups.push(() => proj.cleanup());
  const config = loadConfig({ dir: proj.dir, env: {} });
  const { logger, lines } = captureLogger('info');
  const clients = new ApiClients({ config, logger });
  cleanups.push(() => void clients.close());
  return { proj, config, clients, state: new FileStateStore({ dir: path.join(proj.dir, '.restq') }), logs: lines };
}

const query = (request: string) => Object.fromEntries(new URL(request, 'http://x').searchParams);

describe('incremental extracts (standalone state in .restq/)', () => {
  it('first run reads from start to the run start, the cursor moves to the greatest value, the next run reads only the changes', async () => {
    // Its own API: the orders it changes must not change the other tests' data.
    const api = await startSampleApi({ staticTokens: [TOKEN] });
    cleanups.push(() => void api.close());
    const { config, clients, state, logs } = project(api.url);
    const logger = captureLogger().logger;
    const before = api.orderRequests.length;
    const started = new Date();
    const first = await runJob({ config, job: 'orders', clients, logger, state, clock: () => started });
    expect(first.rows).toBe(137);
    const firstRequests = api.orderRequests.slice(before);
    expect(firstRequests).toHaveLength(3);
    expect(query(firstRequests[0]!)).toMatchObject({ updated_since: '2026-01-01T00:00:00.000Z', updated_before: started.toISOString() });
    expect(first).toMatchObject({ window: { start: '2026-01-01T00:00:00.000Z', end: started.toISOString() }, cursorBefore: null, cursorAfter: MAX_UPDATED });
    expect(await state.getCursor('orders')).toMatchObject({ cursor: MAX_UPDATED, runId: first.runId });

    api.touch([7, 70], new Date(Date.now() - 5_000));
    const mark = api.orderRequests.length;
    const second = await runJob({ config, job: 'orders', clients, logger, state });
    expect(api.orderRequests.slice(mark)).toHaveLength(1);
    expect(query(api.orderRequests[mark]!).updated_since).toBe(MAX_UPDATED);
    // The two changed orders, and the boundary row at the cursor again (at-least-once).
    expect(second.rows).toBe(3);
    const csv = readFileSync(path.join(config.dir, 'out', `orders-${second.runId}.csv`), 'utf8').trim().split('\r\n');
    expect(csv.slice(1).map((l) => Number(l.split(',')[0])).sort((a, b) => a - b)).toEqual([7, 70, 137]);
    expect((await state.getCursor('orders')).cursor).toBe(second.cursorAfter);
    expect(Date.parse(second.cursorAfter!)).toBeGreaterThan(Date.parse(MAX_UPDATED));

    const history = await state.history('orders');
    expect(history.map((r) => r.runId)).toEqual([second.runId, first.runId]);
    expect(history[1]).toEqual({
      runId: first.runId,
      job: 'orders',
      trigger: 'cli',
      status: 'succeeded',
      startedAt: started.toISOString(),
      finishedAt: started.toISOString(),
      durationMs: 0,
      rows: 137,
      pages: 3,
      bytes: expect.any(Number),
      window: { start: '2026-01-01T00:00:00.000Z', end: started.toISOString() },
      cursorBefore: null,
      cursorAfter: MAX_UPDATED,
      error: null,
    });
    expect(await state.lastSuccessAt('orders')).toBe(second.startedAt);
    expect(logs.join('')).not.toContain(TOKEN);
  });

  it('a run whose sink fails leaves the cursor where it was, and the next run asks for the same window again', async () => {
    const { config, clients, state } = project();
    const logger = captureLogger().logger;
    await expect(runJob({ config, job: 'failing', clients, logger, state })).rejects.toThrow(/400/);
    expect((await state.getCursor('failing')).cursor).toBeNull();
    const [failed] = await state.history('failing');
    expect(failed).toMatchObject({ status: 'failed', rows: 137, cursorBefore: null, cursorAfter: null, error: { code: 'E_SINK' } });
    const mark = api.orderRequests.length;
    await expect(runJob({ config, job: 'failing', clients, logger, state })).rejects.toThrow();
    expect(query(api.orderRequests[mark]!).updated_since).toBe('2026-01-01T00:00:00.000Z');
  });

  it('a timed-out run leaves the cursor untouched', async () => {
    const { config, clients, state } = project(slowApi.url);
    const logger = captureLogger().logger;
    await state.setCursor('slow', { value: '2026-01-02T00:00:00.000Z', sortKey: String(Date.parse('2026-01-02T00:00:00.000Z')), order: 'number' });
    await expect(runJob({ config, job: 'slow', clients, logger, state })).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    expect((await state.getCursor('slow')).cursor).toBe('2026-01-02T00:00:00.000Z');
    expect((await state.history('slow'))[0]).toMatchObject({ status: 'failed', error: { code: 'E_TIMEOUT' }, cursorBefore: '2026-01-02T00:00:00.000Z', cursorAfter: '2026-01-02T00:00:00.000Z' });
  });

  it('a run with 0 rows and rows without a cursor value leave the cursor alone; the missing values are counted and warned once', async () => {
    const { config, clients, state } = project();
    const { logger, lines } = captureLogger('info');
    // Nothing changed after the newest order: 0 rows.
    await state.setCursor('orders', { value: '2026-03-01T00:00:00.000Z', sortKey: String(Date.parse('2026-03-01T00:00:00.000Z')), order: 'number' });
    const empty = await runJob({ config, job: 'orders', clients, logger, state });
    expect(empty.rows).toBe(0);
    expect((await state.getCursor('orders')).cursor).toBe('2026-03-01T00:00:00.000Z');

    const result = await runJob({ config, job: 'nocursor', clients, logger, state });
    expect(result.rows).toBe(137);
    expect((await state.getCursor('nocursor')).cursor).toBeNull();
    const warnings = lines.filter((l) => l.includes('had no datetime cursor value'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('137 rows');
  });

  it('slices a window into requests of `slice` with lookback, and filter drops rows outside the window', async () => {
    const { config, clients, state } = project();
    const logger = captureLogger().logger;
    await state.setCursor('sliced', { value: '2026-01-03T01:00:00.000Z', sortKey: String(Date.parse('2026-01-03T01:00:00.000Z')), order: 'number' });
    const mark = api.orderRequests.length;
    const started = new Date('2026-01-07T00:00:00.000Z');
    const result = await runJob({ config, job: 'sliced', clients, logger, state, clock: () => started });
    const windows = api.orderRequests.slice(mark).map((r) => [query(r).updated_since, query(r).updated_before]);
    // Window [cursor − 1h, run start) in 2-day slices.
    expect(windows).toEqual([
      ['2026-01-03T00:00:00.000Z', '2026-01-05T00:00:00.000Z'],
      ['2026-01-05T00:00:00.000Z', '2026-01-07T00:00:00.000Z'],
    ]);
    // Orders 72..137 have updated_at in [Jan 3 23:30 … Jan 6 17:30]: all inside, none dropped.
    expect(result.rows).toBe(137 - 47);
  });

  it('a stale attempt of an older run that finishes after a newer run cannot move the cursor', async () => {
    // Two "workers" on one state store: the old run reads from a slow API, the new one from a fast one.
    const fast = project();
    const slow = project(slowApi.url);
    const shared = fast.state;
    slowApi.touch([3], new Date('2026-06-01T00:00:00.000Z')); // the old run sees a greater value
    const logger = captureLogger().logger;
    const old = runJob({ config: slow.config, job: 'orders', clients: slow.clients, logger, state: shared, fence: 1_000 });
    await new Promise((r) => setTimeout(r, 200));
    const newer = await runJob({ config: fast.config, job: 'orders', clients: fast.clients, logger, state: shared, fence: 2_000 });
    expect(newer.cursorAfter).toBe(MAX_UPDATED);
    const late = await old;
    expect(late.cursorAfter).toBe(late.cursorBefore);
    expect(await shared.getCursor('orders')).toMatchObject({ cursor: MAX_UPDATED, runId: newer.runId });
  });

  it('the cursor survives a restart: a fresh store on the same .restq/ continues from it', async () => {
    const { config, clients, state } = project();
    const logger = captureLogger().logger;
    await runJob({ config, job: 'orders', clients, logger, state });
    const dir = mkdtempSync(path.join(tmpdir(), 'restq-copy-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const reopened = new FileStateStore({ dir: path.join(config.dir, '.restq') });
    expect((await reopened.getCursor('orders')).cursor).toBe(MAX_UPDATED);
    const mark = api.orderRequests.length;
    await runJob({ config, job: 'orders', clients, logger, state: reopened });
    expect(query(api.orderRequests[mark]!).updated_since).toBe(MAX_UPDATED);
  });
});
