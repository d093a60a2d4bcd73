import { createModeClients } from '../../src/commands/api-clients-for-mode.js';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { serveStandaloneConsole, type ServedConsole } from '../../src/console/serve-console.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { createLogger } from '../../src/log/logger.js';
import { serveDashboard } from '../../src/console/serve-dashboard.js';
import { readSettings } from '../../src/runtime/settings.js';
import type { HistoryRecord } from '../../src/state/state-store.js';
import { runCli } from '../helpers/run-cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { pollUntil } from '../helpers/wait-for.js';

const silent = createLogger({ level: 'silent', pretty: false });
const auth = { user: 'ops', password: `pw-${randomUUID()}` };
const basic = { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
let api: SampleApi;
let project: TempProject;
let config: Config;

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: ['tok-console-api'] });
  project = tempProject({
    'connections.yaml': `connections:\n  shop:\n    baseUrl: ${api.url}\n    accessToken: tok-console-api\n`,
    'jobs/orders.yaml': 'connection: shop\ngrid:\n  path: /v1/orders\n  rows: $.data[*]\noutput:\n  - csv: out/orders.csv\n',
  });
  config = project.config;
});

afterAll(async () => {
  await api.close();
  project.cleanup();
});

describe('console JSON API (standalone)', () => {
  let served: ServedConsole;
  beforeAll(async () => {
    served = await serveStandaloneConsole({ config, settings: readSettings({}), logger: silent, auth, port: 0, createClients: createModeClients });
  });
  afterAll(async () => served?.close());

  const post = (url: string, body: string, headers: Record<string, string> = {}) => fetch(`${served.url}${url}`, { method: 'POST', headers: { ...basic, 'content-type': 'application/json', ...headers }, body });

  it('needs Basic auth; /healthz stays open', async () => {
    expect((await fetch(`${served.url}/api/jobs`)).status).toBe(401);
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${served.url}/queues`, { headers: basic })).status).toBe(404);
  });

  it('lists jobs like status --json, answers 404 JSON for an unknown job and 400 for bad params or limits', async () => {
    expect(await (await fetch(`${served.url}/api/jobs`, { headers: basic })).json()).toEqual([{ name: 'orders', schedule: null, timezone: 'UTC', nextRunAt: null, lastRun: null }]);
    const unknown = await fetch(`${served.url}/api/jobs/nope/runs`, { headers: basic });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'unknown job "nope": defined jobs are orders' });
    expect((await post('/api/jobs/nope/runs', '{}')).status).toBe(404);
    const bad = await post('/api/jobs/orders/runs', '{"params": {"status": ["open"]}}');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'params.status must be a string, number, boolean or null, got an array' });
    expect(((await (await post('/api/jobs/orders/runs', '{"parms": {}}')).json()) as { error: string }).error).toContain('unknown field "parms"');
    const limit = await fetch(`${served.url}/api/jobs/orders/runs?limit=0`, { headers: basic });
    expect(limit.status).toBe(400);
    expect((await post('/api/jobs/orders/runs', '{not json')).status).toBe(400);
  });

  it('refuses cross-site state changes: a foreign Origin, Sec-Fetch-Site cross-site, a form without its token', async () => {
    const foreign = await post('/api/jobs/orders/runs', '{}', { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toMatch(/^cross-site request refused: Origin https:\/\/evil\.example/);
    expect((await post('/api/jobs/orders/runs', '{}', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const form = await fetch(`${served.url}/jobs/orders/run`, { method: 'POST', headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded', origin: served.url }, body: 'params=', redirect: 'manual' });
    expect(form.status).toBe(403);
    const reset = await fetch(`${served.url}/jobs/orders/cursor/reset`, { method: 'POST', headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes&_csrf=wrong', redirect: 'manual' });
    expect(reset.status).toBe(403);
    // Nothing ran.
    expect(await (await fetch(`${served.url}/api/jobs/orders/runs`, { headers: basic })).json()).toEqual([]);
  });

  it('POST runs → 202 {runId}; GET /api/runs/RUNID is live, then the history record', async () => {
    const started = await post('/api/jobs/orders/runs', '{"params": {"status": "open"}}', { origin: served.url });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    let run: Record<string, unknown> = {};
    for (let i = 0; i < 300 && run['state'] !== 'finished'; i++) {
      run = (await (await fetch(`${served.url}/api/runs/${runId}`, { headers: basic })).json()) as Record<string, unknown>;
      if (run['state'] !== 'finished') await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({ runId, job: 'orders', trigger: 'console', status: 'succeeded', rows: 50, error: null, state: 'finished' });
    const history = (await (await fetch(`${served.url}/api/jobs/orders/runs?limit=5`, { headers: basic })).json()) as Array<{ runId: string }>;
    expect(history.map((r) => r.runId)).toEqual([runId]);
    expect((await fetch(`${served.url}/api/runs/no-such-run`, { headers: basic })).status).toBe(404);
  });
});

describe('console "Run now" of an incremental job (standalone)', () => {
  const MAX_UPDATED = '2026-01-06T17:30:00.000Z'; // the greatest updated_at of the sample data
  let own: SampleApi;
  let inc: TempProject;
  let served: ServedConsole;
  beforeAll(async () => {
    // Its own API and project: the order requests counted here are this test's only.
    own = await startSampleApi({ staticTokens: ['tok-console-inc'] });
    inc = tempProject({
      'connections.yaml': `connections:\n  shop:\n    baseUrl: ${own.url}\n    accessToken: tok-console-inc\n`,
      'jobs/changes.yaml':
        'connection: shop\ngrid:\n  path: /v1/orders\n  query: { updated_since: "{{window.start}}", updated_before: "{{window.end}}", per_page: 50 }\n  rows: $.data[*]\n  paginate: { nextUrl: $.links.next }\n  columns: { id: $.id, updated_at: $.updated_at }\nincremental:\n  cursor: $.updated_at\n  start: "2026-01-01T00:00:00Z"\noutput:\n  - csv: out/{job}-{runId}.csv\n',
    });
    served = await serveStandaloneConsole({ config: inc.config, settings: readSettings({}), logger: silent, auth, port: 0, createClients: createModeClients });
  });
  afterAll(async () => {
    await served?.close();
    await own?.close();
    inc.cleanup();
  });

  const runNow = async (): Promise<Record<string, unknown>> => {
    const started = await fetch(`${served.url}/api/jobs/changes/runs`, { method: 'POST', headers: { ...basic, 'content-type': 'application/json', origin: served.url }, body: '{}' });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    return pollUntil(async () => {
      const run = (await (await fetch(`${served.url}/api/runs/${runId}`, { headers: basic })).json()) as Record<string, unknown>;
      return run['state'] === 'finished' ? run : undefined;
    }, `run ${runId} finished`);
  };
  const since = (request: string) => new URL(request, 'http://x').searchParams.get('updated_since');

  it('moves the cursor, records trigger "console" like a CLI run records "cli", and the next run asks only for the changes', async () => {
    const first = await runNow();
    expect(first).toMatchObject({ trigger: 'console', status: 'succeeded', rows: 137, pages: 3, cursorBefore: null, cursorAfter: MAX_UPDATED, error: null });
    expect(first['window']).toMatchObject({ start: '2026-01-01T00:00:00.000Z' });
    expect(own.orderRequests.map(since)).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    // The record in the history is the one runJob wrote: every field of SPEC 8, cursorAfter included.
    const [record] = (await (await fetch(`${served.url}/api/jobs/changes/runs?limit=1`, { headers: basic })).json()) as HistoryRecord[];
    expect(Object.keys(record!).sort()).toEqual(['bytes', 'cursorAfter', 'cursorBefore', 'durationMs', 'error', 'finishedAt', 'job', 'pages', 'rows', 'runId', 'startedAt', 'status', 'trigger', 'window']);
    expect(record).toMatchObject({ runId: first['runId'], trigger: 'console', cursorAfter: MAX_UPDATED });
    const state = await runCli(['--config', inc.dir, 'state', 'changes', '--json']);
    expect(state.code).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ job: 'changes', cursor: MAX_UPDATED, runId: first['runId'] });

    const mark = own.orderRequests.length;
    const second = await runNow();
    expect(own.orderRequests.slice(mark).map(since)).toEqual([MAX_UPDATED]);
    expect(second).toMatchObject({ trigger: 'console', status: 'succeeded', cursorBefore: MAX_UPDATED, window: { start: MAX_UPDATED } });
    // `restq history` shows both console runs, in a table within 80 columns.
    const history = await runCli(['--config', inc.dir, 'history', 'changes']);
    expect(history.code).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/)[1])).toEqual(['console', 'console']);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
  });
});

describe('console in distributed mode', () => {
  it('queues "Run now" for the workers (202, a BullMQ job with the params and trigger console) and serves Bull Board at /queues', async () => {
    const prefix = `t-${randomUUID()}`;
    const settings = readSettings({ REDIS_URL: inject('redisUrl'), RESTQ_PREFIX: prefix, RESTQ_QUEUE: 'restq' });
    const queueSettings = settings.queue!;
    const served = await serveDashboard({ location: { redis: queueSettings.redis, queueName: queueSettings.queue, prefix }, auth, port: 0, minWorkers: 0, console: { config, queueSettings } });
    const queue = new Queue('restq', { connection: { url: inject('redisUrl') }, prefix });
    try {
      const response = await fetch(`${served.url}/api/jobs/orders/runs`, { method: 'POST', headers: { ...basic, 'content-type': 'application/json' }, body: '{"params": {"status": "closed"}}' });
      expect(response.status).toBe(202);
      const { runId } = (await response.json()) as { runId: string };
      const job = await queue.getJob(runId);
      expect(job?.data).toEqual({ job: 'orders', params: { status: 'closed' }, trigger: 'console' });
      expect(await (await fetch(`${served.url}/api/runs/${runId}`, { headers: basic })).json()).toMatchObject({ runId, job: 'orders', state: 'active', rows: 0 });
      const board = await fetch(`${served.url}/queues`, { headers: basic });
      expect(board.status).toBe(200);
      expect(await board.text()).toContain('<title>restq</title>');
      const overview = await (await fetch(`${served.url}/`, { headers: basic })).text();
      expect(overview).toContain('href="/queues"');
      expect(overview).toContain('distributed mode');
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await served.close();
    }
  });
});
