import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { isLoopbackHost } from '../../src/ops/dashboard-auth.js';
import { createDashboardApp, listenDashboard, type RunningDashboard } from '../../src/console/dashboard.js';
import { Heartbeat } from '../../src/ops/heartbeat.js';
import { Metrics, sampleValue } from '../../src/ops/metrics.js';
import { runJob } from '../../src/runner.js';
import { startOwnRedis } from '../helpers/own-redis.js';
import { sampleApiProject, type TempProject } from '../helpers/temp-project.js';
import { pollUntil as waitFor } from '../helpers/wait-for.js';

const redisUrl = inject('redisUrl');
const silent = createLogger({ level: 'silent', pretty: false });

function project(apiUrl: string): TempProject {
  return sampleApiProject(apiUrl, { 'jobs/broken.yaml': 'connection: demo\nscalar:\n  path: /v1/missing\n  value: $.count\noutput:\n  - stdout: {}\n' });
}

describe('dashboard', () => {
  let api: SampleApi;
  let redis: Redis;
  let proj: TempProject;
  let config: Config;
  const prefix = `t-${randomUUID()}`;
  const queueName = 'restq';
  let queue: Queue;
  const opened: RunningDashboard[] = [];

  beforeAll(async () => {
    api = await startSampleApi();
    proj = project(api.url);
    config = proj.config;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue(queueName, { connection: redis, prefix });
  });

  afterAll(async () => {
    for (const d of opened) await d.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await api.close();
    proj.cleanup();
  });

  async function serve(options: Partial<Parameters<typeof createDashboardApp>[0]> = {}): Promise<string> {
    const app = createDashboardApp({ queue, redis, prefix, queueName, minWorkers: 0, ...options });
    const running = await listenDashboard(app, options.auth, { port: 0 });
    opened.push(running);
    return running.url;
  }

  it('serves on /metrics the counters of this process and of every worker heartbeat, with the right values', async () => {
    const metrics = new Metrics();
    const clients = new ApiClients({ config, logger: silent, metrics });
    try {
      const result = await runJob({ config, job: 'orders', clients, logger: silent, metrics });
      expect(result.rows).toBe(137);
      await expect(runJob({ config, job: 'broken', clients, logger: silent, metrics })).rejects.toMatchObject({ code: 'E_HTTP' });
    } finally {
      await clients.close();
    }
    // Another worker process publishes its own counters through its heartbeat.
    const other = new Metrics({ processMetrics: false });
    other.runStarted('orders');
    other.runSucceeded('orders', 100);
    other.rowsWritten('orders', 'csv', 137);
    other.tokenRefresh('demo', 'ok');
    const beat = new Heartbeat({ redis, prefix, queue: queueName, id: 'other-worker', metrics: other, intervalMs: 60_000 });
    await beat.start();
    await queue.add('orders', { job: 'orders', params: {} });

    const url = await serve({ metrics });
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sampleValue(text, 'restq_runs_started_total', { job: 'orders' })).toBe(2);
    expect(sampleValue(text, 'restq_runs_succeeded_total', { job: 'orders' })).toBe(2);
    expect(sampleValue(text, 'restq_runs_started_total', { job: 'broken' })).toBe(1);
    expect(sampleValue(text, 'restq_runs_failed_total', { job: 'broken', code: 'E_HTTP' })).toBe(1);
    expect(sampleValue(text, 'restq_rows_written_total', { job: 'orders', sink: 'csv' })).toBe(274);
    expect(sampleValue(text, 'restq_run_duration_seconds_count', { job: 'orders', result: 'succeeded' })).toBe(2);
    expect(sampleValue(text, 'restq_run_duration_seconds_count', { job: 'broken', result: 'failed' })).toBe(1);
    expect(sampleValue(text, 'restq_http_requests_total', { connection: 'demo', status: '200' })).toBe(1);
    expect(sampleValue(text, 'restq_http_requests_total', { connection: 'demo', status: '404' })).toBe(1);
    expect(sampleValue(text, 'restq_token_refreshes_total', { connection: 'demo', result: 'ok' })).toBe(1);
    expect(sampleValue(text, 'restq_queue_jobs', { state: 'waiting' })).toBe(1);
    expect(sampleValue(text, 'restq_process_resident_memory_bytes')).toBeGreaterThan(0);

    // Inside `start --dashboard` the worker's own snapshot must not be counted twice.
    const embedded = await serve({ metrics: other, selfWorkerId: 'other-worker' });
    const own = await (await fetch(`${embedded}/metrics`)).text();
    expect(sampleValue(own, 'restq_runs_started_total', { job: 'orders' })).toBe(1);
    await beat.stop();
    expect(await redis.exists(`${prefix}:${queueName}:workers:other-worker`, `${prefix}:${queueName}:metrics:other-worker`)).toBe(0);
    await queue.drain();
  });

  it('with Basic auth configured, answers 401 without or with wrong credentials and serves the board with them; /healthz stays open', async () => {
    const auth = { user: 'ops', password: `pw-${randomUUID()}` };
    const url = await serve({ auth });
    const none = await fetch(`${url}/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="restq"/);
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    expect((await fetch(`${url}/queues`, { headers: basic('ops', 'wrong') })).status).toBe(401);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/queues/api/queues`)).status).toBe(401);
    const ok = await fetch(`${url}/queues`, { headers: basic(auth.user, auth.password) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<title>restq</title>');
    const queues = (await (await fetch(`${url}/queues/api/queues`, { headers: basic(auth.user, auth.password) })).json()) as { queues: { name: string }[] };
    expect(queues.queues.map((q) => q.name)).toEqual([queueName]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('refuses to listen on a non-loopback interface without auth', async () => {
    const app = createDashboardApp({ queue, redis, prefix, queueName });
    await expect(listenDashboard(app, undefined, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('RESTQ_DASHBOARD_USER') });
    expect(['127.0.0.1', 'localhost', '::1', '[::1]', '127.3.2.1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.5', 'example.com', '127.0.0.1.evil.com'].some(isLoopbackHost)).toBe(false);
  });

  it('/healthz needs a live worker heartbeat and goes unhealthy when Redis stops', async () => {
    const own = await startOwnRedis({ aof: false });
    const client = new Redis(own.url, { maxRetriesPerRequest: 1, connectTimeout: 500 });
    client.on('error', () => undefined);
    const queueClient = new Redis(own.url, { maxRetriesPerRequest: null });
    queueClient.on('error', () => undefined);
    const ownQueue = new Queue(queueName, { connection: queueClient, prefix });
    ownQueue.on('error', () => undefined);
    try {
      const url = await serve({ queue: ownQueue, redis: client, minWorkers: 1 });
      const health = async () => {
        const r = await fetch(`${url}/healthz`);
        return { status: r.status, body: (await r.json()) as { ok: boolean; redis: string; workers: number } };
      };
      expect(await health()).toEqual({ status: 503, body: { ok: false, redis: 'ok', workers: 0, minWorkers: 1 } });
      const beat = new Heartbeat({ redis: client, prefix, queue: queueName, id: 'w1', intervalMs: 100 });
      await beat.start();
      expect(await health()).toMatchObject({ status: 200, body: { ok: true, redis: 'ok', workers: 1 } });
      await beat.stop();
      expect((await health()).status).toBe(503);
      await beat.start();
      expect((await health()).status).toBe(200);
      await own.stop();
      const down = await waitFor(async () => {
        const h = await health();
        return h.status === 503 ? h : undefined;
      }, '/healthz to report Redis down');
      expect(down.body.ok).toBe(false);
      expect(down.body.redis).not.toBe('ok');
      await beat.stop();
    } finally {
      await ownQueue.close().catch(() => undefined);
      queueClient.disconnect();
      client.disconnect();
      await own.cleanup();
    }
  });
});
