import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { createDashboardApp, listenDashboard, type RunningDashboard } from '../../src/console/dashboard.js';
import { runJob } from '../../src/runner.js';
import { sampleApiProject, type TempProject } from '../helpers/temp-project.js';
import { pollUntil as waitFor } from '../helpers/wait-for.js';

const redisUrl = inject('redisUrl');
const silent = createLogger({ level: 'silent', pretty: false });
/** Where the screenshot lands (kept after the test, for a human to look at). */
export const SCREENSHOT = path.join(tmpdir(), 'restq-dashboard.png');

describe('dashboard in a real browser', () => {
  let api: SampleApi;
  let config: Config;
  let project: TempProject;
  let redis: Redis;
  let queue: Queue;
  let worker: Worker;
  let clients: ApiClients;
  let dashboard: RunningDashboard;
  let browser: Browser;
  const prefix = `t-${randomUUID()}`;
  const auth = { user: 'ops', password: `pw-${randomUUID()}` };

  beforeAll(async () => {
    api = await startSampleApi();
    project = sampleApiProject(api.url);
    config = project.config;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue('restq', { connection: redis, prefix });
    clients = new ApiClients({ config, logger: silent });
    // The smallest worker that runs a queued restq run the way `restq worker` does: runJob with runId = job id.
    worker = new Worker(
      'restq',
      async (job) => {
        const data = job.data as { job: string };
        const result = await runJob({ config, job: data.job, runId: job.id, clients, logger: silent });
        return { rows: result.rows, outputs: result.outputs };
      },
      { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix },
    );
    const app = createDashboardApp({ queue, redis, prefix, queueName: 'restq', auth, minWorkers: 0 });
    dashboard = await listenDashboard(app, auth, { port: 0 });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.close();
    await worker?.disconnect();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    redis?.disconnect();
    await clients?.close();
    await api?.close();
    project.cleanup();
  });

  it('shows the restq queue and a completed run, and asks for credentials when auth is configured', async () => {
    await queue.add('orders', { job: 'orders', params: {} });
    await waitFor(async () => ((await queue.getJobCounts('completed')).completed === 1 ? true : undefined), 'the run to complete');

    const anonymous = await browser.newContext();
    // Chromium gives up on a Basic challenge it has no credentials for; its request API shows the 401.
    const denied = await anonymous.request.get(dashboard.url);
    expect(denied.status()).toBe(401);
    expect(denied.headers()['www-authenticate']).toMatch(/^Basic/);
    await expect((await anonymous.newPage()).goto(dashboard.url)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();

    const context = await browser.newContext({ httpCredentials: { username: auth.user, password: auth.password }, viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const home = await page.goto(`${dashboard.url}/queues`);
      expect(home?.status()).toBe(200);
      await expect(page.title()).resolves.toBe('restq');
      // The queue appears in the overview, by name.
      await page.getByText('restq', { exact: true }).first().waitFor({ timeout: 15_000 });
      await page.goto(`${dashboard.url}/queues/queue/restq?status=completed`);
      // The completed run is listed with its job name and its return value (rows written).
      await page.getByText('orders').first().waitFor({ timeout: 15_000 });
      await page.getByText('returnValue:').first().waitFor({ timeout: 15_000 });
      const body = await page.locator('body').innerText();
      expect(body).toMatch(/COMPLETED\s*1/);
      expect(body).toMatch(/rows:\s*137/);
      expect(body).toContain('job:"orders"');
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    } finally {
      await context.close();
    }
  }, 60_000);
});
