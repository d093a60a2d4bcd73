import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookSinkSpec } from '../../src/config/types.js';
import { RestqError } from '../../src/errors/restq-error.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { runJob } from '../../src/runner.js';
import { WebhookSink } from '../../src/sinks/webhook-sink.js';
import { readRequestBody, sendJson, startTestServer, type TestServer } from '../helpers/http-test-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { memoryLogger, writeProject, type TempProject } from '../helpers/temp-project.js';

const SECRET = 'whsec-0123456789-do-not-log';
const ROWS = Array.from({ length: 21 }, (_, i) => ({ id: i + 1, name: `row ${i + 1}`, extra: { deep: i } }));

interface Delivery {
  key: string | undefined;
  status: number;
  signatureValid: boolean;
  body: Buffer;
  headers: IncomingHttpHeaders;
  json?: { job: string; runId: string; batch: number; last: boolean; rows: Record<string, unknown>[] };
}

/** What a receiver should do: HMAC-SHA256 of the raw body bytes, compared in constant time. */
function verify(body: Buffer, header: string | undefined, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The API: `pages` pages of 7 rows (page param), then an empty page. */
async function startApi(pages = 3): Promise<TestServer & { requests: () => number }> {
  let requests = 0;
  const server = await startTestServer((req, res) => {
    requests++;
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page'));
    sendJson(res, 200, { data: page <= pages ? ROWS.slice((page - 1) * 7, page * 7) : [] });
  });
  closers.push(() => server.close());
  return Object.assign(server, { requests: () => requests });
}

async function startReceiver(answer: (delivery: Delivery, attempt: number) => number | Promise<number> = () => 200): Promise<TestServer & { deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const attempts = new Map<string, number>();
  const server = await startTestServer(async (req, res) => {
    const body = await readRequestBody(req);
    const key = req.headers['idempotency-key'] as string | undefined;
    const attempt = (attempts.get(key ?? '') ?? 0) + 1;
    attempts.set(key ?? '', attempt);
    const delivery: Delivery = { key, status: 0, body, headers: req.headers, signatureValid: verify(body, req.headers['x-restq-signature'] as string, SECRET) };
    if (String(req.headers['content-type']).startsWith('application/json')) delivery.json = JSON.parse(body.toString()) as Delivery['json'];
    deliveries.push(delivery);
    delivery.status = await answer(delivery, attempt);
    sendJson(res, delivery.status, delivery.status < 300 ? { ok: true } : { error: `nope ${delivery.status}`, detail: 'receiver says no' });
  });
  closers.push(() => server.close());
  return Object.assign(server, { deliveries });
}

async function run(apiUrl: string, job: Record<string, unknown>) {
  const project: TempProject = writeProject({ api: { baseUrl: apiUrl, accessToken: 'api-token-1234' } }, { items: { connection: 'api', ...job } }, { HOOK_SECRET: SECRET });
  closers.push(() => project.cleanup());
  const log = memoryLogger(project.config);
  const clients = new ApiClients({ config: project.config, logger: log.logger });
  closers.push(() => clients.close());
  const result = await runJob({ config: project.config, job: 'items', clients, logger: log.logger }).catch((e: unknown) => e);
  return { result, project, logText: log.text() };
}

const grid = { path: '/items', rows: '$.data[*]', columns: { id: '$.id', name: '$.name' }, paginate: { page: { param: 'page' } } };

describe('webhook sink', () => {
  it('delivers every batch in order, signed, with Idempotency-Keys that make the retried duplicate recognisable', async () => {
    const api = await startApi();
    const hook = await startReceiver((d, attempt) => (d.json?.batch === 2 && attempt === 1 ? 503 : 200));
    const { result, project, logText } = await run(api.url, {
      grid,
      output: [{ webhook: { url: `${hook.url}/in`, batchSize: 5, secret: '${HOOK_SECRET}', headers: { 'X-Tenant': 'acme' } } }, { csv: 'out/items.csv' }],
    });
    expect(result).toMatchObject({ rows: 21, pages: 4 });
    const runId = (result as { runId: string }).runId;
    expect(hook.deliveries.map((d) => [d.key, d.status])).toEqual([
      [`${runId}:1`, 200],
      [`${runId}:2`, 503],
      [`${runId}:2`, 200],
      [`${runId}:3`, 200],
      [`${runId}:4`, 200],
      [`${runId}:5`, 200],
    ]);
    expect(hook.deliveries.every((d) => d.signatureValid)).toBe(true);
    expect(hook.deliveries.every((d) => d.headers['x-tenant'] === 'acme')).toBe(true);
    // The retry is byte-for-byte the same request: the receiver can drop it by key.
    expect(hook.deliveries[2]!.body.equals(hook.deliveries[1]!.body)).toBe(true);
    const accepted = hook.deliveries.filter((d) => d.status === 200).map((d) => d.json!);
    expect(accepted.map((b) => [b.job, b.runId, b.batch, b.last, b.rows.length])).toEqual([
      ['items', runId, 1, false, 5],
      ['items', runId, 2, false, 5],
      ['items', runId, 3, false, 5],
      ['items', runId, 4, false, 5],
      ['items', runId, 5, true, 1],
    ]);
    // The same projected rows the CSV gets, keyed by column, in order across pages.
    expect(accepted.flatMap((b) => b.rows)).toEqual(ROWS.map((r) => ({ id: r.id, name: r.name })));
    const csv = readFileSync(path.join(project.dir, 'out', 'items.csv'), 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(22);
    // The secret is never logged.
    expect(logText).toMatch(/retry 1 of 4/);
    expect(logText).not.toContain(SECRET);
  });

  it('holds the extract while the receiver is busy instead of buffering pages', async () => {
    const api = await startApi();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const hook = await startReceiver(async (d) => {
      if (d.json?.batch === 1) await held;
      return 200;
    });
    const running = run(api.url, { grid, output: [{ webhook: { url: hook.url, batchSize: 5 } }] });
    await waitFor(() => hook.deliveries.length === 1, 5_000, 'batch 1');
    // Batch 1 went out when row 6 (page 1) proved it was not the last; page 2 waits for the receiver.
    expect(api.requests()).toBe(1);
    release();
    const { result } = await running;
    expect(result).toMatchObject({ rows: 21 });
    expect(hook.deliveries.map((d) => d.json!.batch)).toEqual([1, 2, 3, 4, 5]);
    expect(hook.deliveries.some((d) => 'x-restq-signature' in d.headers)).toBe(false);
  });

  it('a 4xx answer fails the run at once with the receiver excerpt, and the CSV is not written', async () => {
    const api = await startApi();
    const hook = await startReceiver(() => 422);
    const { result, project } = await run(api.url, { grid, output: [{ webhook: { url: hook.url, batchSize: 5, secret: '${HOOK_SECRET}' } }, { csv: 'out/items.csv' }] });
    expect(result).toBeInstanceOf(RestqError);
    expect(result).toMatchObject({ code: 'E_SINK', permanent: true });
    expect((result as Error).message).toMatch(/webhook POST .* answered 422 to batch 1 \(Idempotency-Key .*:1\): .*receiver says no/);
    expect((result as Error).message).not.toContain(SECRET);
    expect(hook.deliveries).toHaveLength(1);
    expect(existsSync(path.join(project.dir, 'out', 'items.csv'))).toBe(false);
  });

  it('a CSV listed before the webhook is not published when the last batch fails', async () => {
    const api = await startApi();
    // Batches 1-4 are taken; the last one (batch 5, last: true) is refused.
    const hook = await startReceiver((d) => (d.json?.last ? 400 : 200));
    const { result, project } = await run(api.url, { grid, output: [{ csv: 'out/items.csv' }, { webhook: { url: hook.url, batchSize: 5 } }] });
    expect(result).toMatchObject({ code: 'E_SINK' });
    expect(hook.deliveries.at(-1)?.json).toMatchObject({ batch: 5, last: true });
    expect(existsSync(path.join(project.dir, 'out', 'items.csv'))).toBe(false);
  });

  it('a run without rows sends one empty last batch', async () => {
    const api = await startApi(0);
    const hook = await startReceiver();
    const { result } = await run(api.url, { grid, output: [{ webhook: { url: hook.url } }] });
    expect(result).toMatchObject({ rows: 0 });
    expect(hook.deliveries.map((d) => d.json)).toEqual([{ job: 'items', runId: (result as { runId: string }).runId, batch: 1, last: true, rows: [] }]);
  });

  it('a scalar job posts one batch with one row', async () => {
    const api = await startTestServer((_req, res) => sendJson(res, 200, { count: 42 }));
    closers.push(() => api.close());
    const hook = await startReceiver();
    const { result } = await run(api.url, { scalar: { path: '/count', value: '$.count', column: 'open_orders' }, output: [{ webhook: { url: hook.url } }] });
    expect(result).toMatchObject({ rows: 1 });
    expect(hook.deliveries).toHaveLength(1);
    expect(hook.deliveries[0]!.json).toMatchObject({ batch: 1, last: true, rows: [{ open_orders: 42 }] });
  });

  it('format: ndjson sends one row per line, batch fields in headers', async () => {
    const api = await startApi(1);
    const hook = await startReceiver();
    const { result } = await run(api.url, { grid, output: [{ webhook: { url: hook.url, batchSize: 4, format: 'ndjson', secret: '${HOOK_SECRET}' } }] });
    expect(result).toMatchObject({ rows: 7 });
    expect(hook.deliveries.map((d) => [d.headers['content-type'], d.headers['x-restq-batch'], d.headers['x-restq-last'], d.signatureValid])).toEqual([
      ['application/x-ndjson', '1', 'false', true],
      ['application/x-ndjson', '2', 'true', true],
    ]);
    expect(hook.deliveries[1]!.body.toString()).toBe('{"id":5,"name":"row 5"}\n{"id":6,"name":"row 6"}\n{"id":7,"name":"row 7"}\n');
  });

  it('a receiver slower than the webhook timeout fails with a message naming that timeout', async () => {
    const hook = await startTestServer(() => undefined);
    closers.push(() => hook.close());
    const { logger } = memoryLogger();
    const spec: WebhookSinkSpec = { type: 'webhook', url: hook.url, batchSize: 10, headers: {}, format: 'json', timeout: 200 };
    const project = writeProject({ api: { baseUrl: hook.url } }, { items: { connection: 'api', grid } });
    closers.push(() => project.cleanup());
    const sink = new WebhookSink(spec, { job: project.config.jobs['items']!, runId: 'r1', startedAt: new Date(), configDir: project.dir, stdout: process.stdout, logger, redactor: project.config.redactor }, { retry: { attempts: 1 } });
    await sink.write([[1, 'a']], ['id', 'name']);
    const error = await sink.commit(['id', 'name']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_TIMEOUT' });
    expect((error as Error).message).toMatch(/timed out after 200 ms \(webhook timeout: raise output\[\]\.webhook\.timeout of job "items"\)/);
  });
});

describe('a sink failing in the middle of a streamed page', () => {
  it('stops the download: the run fails at once and the API sees its response closed', async () => {
    let closed = false;
    const endless = await startTestServer(async (req, res) => {
      res.on('close', () => (closed = true));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
      // Rows until the client goes away; never more than the socket accepts.
      for (let i = 0; !res.destroyed && i < 10_000_000; i++) {
        if (!res.write(`${i ? ',' : ''}{"id":${i},"name":"row ${i}"}`)) await new Promise((r) => res.once('drain', r).once('close', r));
      }
      res.end(']}');
    });
    closers.push(() => endless.close());
    const hook = await startReceiver(() => 400);
    const started = Date.now();
    const { result } = await run(endless.url, { grid: { path: '/rows', rows: '$.data[*]' }, output: [{ webhook: { url: hook.url, batchSize: 100 } }] });
    expect(result).toMatchObject({ code: 'E_SINK' });
    await waitFor(() => closed, 5_000, 'the API response to be closed');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
