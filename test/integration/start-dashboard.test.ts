import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { sampleValue } from '../../src/ops/metrics.js';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { createProject, type TempProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';
import { spawnRestq, type RestqProcess } from '../helpers/run-cli.js';

const redisUrl = inject('redisUrl');

describe('restq start --dashboard (one process: schedules, worker, dashboard)', () => {
  let api: SampleApi;
  let project: TempProject;
  let admin: Redis;
  const settings = testSettings(redisUrl);
  const processes: RestqProcess[] = [];

  beforeAll(async () => {
    api = await startSampleApi();
    project = createProject(`connections:\n  demo:\n    baseUrl: ${api.url}\n    accessToken: demo-static-token\n`, {
      orders: 'connection: demo\ngrid:\n  path: /v1/orders\n  query: { per_page: 1000 }\n  rows: $.data[*]\noutput:\n  - csv: out/orders.csv\n',
    });
    admin = new Redis(redisUrl);
  });

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await deletePrefix(admin, settings.prefix);
    admin.disconnect();
    await api.close();
    project.cleanup();
  });

  it('serves /healthz with its own heartbeat and /metrics with the counters of the runs it worked', async () => {
    const start = spawnRestq(['start', '--dashboard', '--dashboard-port', '0'], settings.env, project.dir);
    processes.push(start);
    await start.waitForStderr(/dashboard served by this worker/);
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(start.stderr())![1]!;

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, redis: 'ok', workers: 1 });

    const queue = new Queue(settings.queue, { connection: { url: redisUrl }, prefix: settings.prefix });
    try {
      const job = await queue.add('orders', { job: 'orders', params: {} });
      await until(async () => (await queue.getJobState(job.id!)) === 'completed', 'the run to complete');
    } finally {
      await queue.close();
    }
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(sampleValue(text, 'restq_runs_started_total', { job: 'orders' })).toBe(1);
    expect(sampleValue(text, 'restq_runs_succeeded_total', { job: 'orders' })).toBe(1);
    expect(sampleValue(text, 'restq_rows_written_total', { job: 'orders', sink: 'csv' })).toBe(137);
    expect(sampleValue(text, 'restq_http_requests_total', { connection: 'demo', status: '200' })).toBe(1);
    expect(sampleValue(text, 'restq_queue_jobs', { state: 'completed' })).toBe(1);

    // The heartbeat key is there while the worker runs (so its absence below means something) ...
    const heartbeat = `${settings.prefix}:${settings.queue}:workers:${await heartbeatIdOf(start)}`;
    expect(await admin.exists(heartbeat)).toBe(1);
    expect(await admin.pttl(heartbeat)).toBeGreaterThan(0);
    start.child.kill('SIGTERM');
    expect(await start.exited).toBe(0);
    // ... and a clean shutdown removes it at once, long before it would expire: the worker is gone, not dead.
    expect(await admin.exists(heartbeat)).toBe(0);
  });

  it('serves the standalone console with --dashboard when REDIS_URL is not set', async () => {
    const p = spawnRestq(['start', '--dashboard', '--dashboard-port', '0'], { REDIS_URL: '' }, project.dir);
    processes.push(p);
    await p.waitForStderr(/console on http:\/\/\S+/);
    const url = /console on (http:\/\/\S+)/.exec(p.stderr())![1]!;
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true, mode: 'standalone' });
    const jobs = (await (await fetch(`${url}/api/jobs`)).json()) as Array<{ name: string }>;
    expect(jobs.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/queues`)).status).toBe(404);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});

/** The heartbeat id is "<hostname>:<pid>" of the process. */
async function heartbeatIdOf(p: RestqProcess): Promise<string> {
  const { hostname } = await import('node:os');
  return `${hostname()}:${p.child.pid}`;
}
