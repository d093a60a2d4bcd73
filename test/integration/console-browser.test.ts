import { createModeClients } from '../../src/commands/api-clients-for-mode.js';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { serveStandaloneConsole, type ServedConsole } from '../../src/console/serve-console.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { createLogger } from '../../src/log/logger.js';
import { readSettings } from '../../src/runtime/settings.js';
import { openStateStore } from '../../src/state/open-state-store.js';
import { until } from '../helpers/queue-fixture.js';

const silent = createLogger({ level: 'silent', pretty: false });
/** RESTQ_SCREENSHOTS=docs writes the README's screenshots (docs/console-*.png); else a temp dir. */
const shots = process.env['RESTQ_SCREENSHOTS'] === 'docs' ? path.resolve('docs') : tmpdir();
const TOKEN = 'console-static-token-7f3a9';

/** Debian's chromium through playwright-core, with the flags the team uses everywhere. */
export async function launchChromium(): Promise<Browser> {
  // launch() gives chromium a fresh, empty profile directory of its own (playwright refuses a
  // --user-data-dir argument and removes the directory on close).
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('the console in a real browser (standalone mode: .restq/, runs in the console process)', () => {
  let api: SampleApi;
  let dir: string;
  let served: ServedConsole;
  let browser: Browser;
  let context: BrowserContext;
  const auth = { user: 'ops', password: `pw-${randomUUID()}` };
  const basic = { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };

  const startRun = async (job: string, params: Record<string, string> = {}): Promise<string> => {
    const response = await fetch(`${served.url}/api/jobs/${job}/runs`, { method: 'POST', headers: { ...basic, 'content-type': 'application/json' }, body: JSON.stringify({ params }) });
    expect(response.status).toBe(202);
    const { runId } = (await response.json()) as { runId: string };
    await until(async () => ((await (await fetch(`${served.url}/api/runs/${runId}`, { headers: basic })).json()) as { state?: string }).state === 'finished', `run ${runId} to finish`, 30_000, 100);
    return runId;
  };

  beforeAll(async () => {
    api = await startSampleApi({ staticTokens: [TOKEN], orders: 137, pageSize: 50 });
    dir = mkdtempSync(path.join(tmpdir(), 'restq-console-'));
    mkdirSync(path.join(dir, 'jobs'));
    writeFileSync(path.join(dir, 'connections.yaml'), `connections:\n  shop:\n    baseUrl: ${api.url}\n    accessToken: ${TOKEN}\n    retry: { attempts: 1 }\n`);
    writeFileSync(path.join(dir, 'jobs', 'orders.yaml'), 'connection: shop\nschedule: "*/15 * * * *"\nparams: { status: open }\ngrid:\n  path: /v1/orders\n  query: { status: "{{params.status}}" }\n  rows: $.data[*]\n  paginate: { nextUrl: $.links.next }\noutput:\n  - csv: out/orders.csv\n');
    writeFileSync(path.join(dir, 'jobs', 'open-count.yaml'), 'connection: shop\nschedule: "30 6 * * *"\ntimezone: Europe/Berlin\nscalar: { path: /v1/orders/count, value: $.count, column: open_orders }\noutput:\n  - csv: out/count.csv\n');
    writeFileSync(path.join(dir, 'jobs', 'broken.yaml'), 'connection: shop\ngrid:\n  path: /v1/no-such-endpoint\n  rows: $.data[*]\noutput:\n  - csv: out/broken.csv\n');
    const config = loadConfig({ dir, env: {} });
    served = await serveStandaloneConsole({ config, settings: readSettings({}), logger: silent, auth, port: 0, createClients: createModeClients });
    // Real runs for the history: 11 of orders (two with another status), one of the others each.
    for (let i = 0; i < 11; i++) await startRun('orders', i % 5 === 4 ? { status: 'closed' } : {});
    await startRun('open-count');
    await startRun('broken');
    browser = await launchChromium();
    context = await browser.newContext({ httpCredentials: { username: auth.user, password: auth.password }, viewport: { width: 1200, height: 900 } });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await served?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('overview: one row per job with connection, schedule in words, next and last run', async () => {
    const page = await context.newPage();
    expect((await page.goto(served.url))?.status()).toBe(200);
    expect(await page.locator('tr[data-job]').count()).toBe(3);
    const orders = await page.locator('tr[data-job="orders"]').innerText();
    expect(orders).toContain('shop');
    expect(orders).toContain('every 15 minutes');
    expect(orders).toContain('succeeded');
    expect(await page.locator('tr[data-job="open-count"]').innerText()).toMatch(/daily at 06:30[\s\S]*Europe\/Berlin/);
    expect(await page.locator('tr[data-job="broken"]').innerText()).toContain('failed');
    await page.screenshot({ path: path.join(shots, 'console-overview.png'), fullPage: true });
    expect(statSync(path.join(shots, 'console-overview.png')).size).toBeGreaterThan(10_000);
  });

  it('job page: history, one chart bar and one dot per run, settings without secrets, the failed run\'s full error', async () => {
    const page = await context.newPage();
    await page.goto(`${served.url}/jobs/orders`);
    const runs = await page.locator('tr.run').count();
    expect(runs).toBe(11);
    expect(await page.locator('svg.chart rect.bar').count()).toBe(runs);
    expect(await page.locator('svg.chart circle.dot').count()).toBe(runs);
    // The chart's marks are the runs of the table, oldest on the left.
    const tableIds = await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
    const barIds = await page.locator('svg.chart rect.bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-run-id')));
    expect(barIds).toEqual([...tableIds].reverse());
    const settings = await page.locator('#settings').innerText();
    expect(settings).toContain('"connection": "shop"');
    expect(await page.content()).not.toContain(TOKEN);
    await page.screenshot({ path: path.join(shots, 'console-job.png'), fullPage: true });

    await page.goto(`${served.url}/jobs/broken`);
    expect(await page.locator('tr.err pre').innerText()).toMatch(new RegExp(`^E_HTTP: GET ${api.url.replace(/\./g, '\\.')}/v1/no-such-endpoint answered 404`));
  });

  it('"Run now" with a parameter starts a run in the console process; it appears in the history', async () => {
    const page = await context.newPage();
    await page.goto(`${served.url}/jobs/orders`);
    const before = await page.locator('tr.run').count();
    await page.fill('textarea[name="params"]', 'status=closed');
    await page.click('#run-now');
    await page.waitForURL(/\/jobs\/orders\?started=/);
    const runId = new URL(page.url()).searchParams.get('started')!;
    // The live box polls /api/runs/RUNID and reloads the page when the run has finished.
    await page.waitForURL(`${served.url}/jobs/orders`, { timeout: 30_000 });
    expect(await page.locator(`tr.run[data-run-id="${runId}"]`).count()).toBe(1);
    expect(await page.locator('tr.run').count()).toBe(before + 1);
    expect(await page.locator(`tr.run[data-run-id="${runId}"]`).innerText()).toMatch(/succeeded\s+console/);
    expect(await page.locator('svg.chart rect.bar').count()).toBe(before + 1);
    expect(api.stats.apiRequests).toBeGreaterThan(0);
  });

  it('cursor reset asks to confirm; cancelling keeps the cursor, confirming resets it', async () => {
    const store = openStateStore({ configDir: dir });
    await store.setCursor('orders', { value: '2026-01-01T00:00:00.000Z', sortKey: String(Date.parse('2026-01-01T00:00:00.000Z')), order: 'number' });
    await store.close();
    const page = await context.newPage();
    await page.goto(`${served.url}/jobs/orders`);
    expect(await page.locator('#cursor').innerText()).toContain('2026-01-01T00:00:00.000Z');
    await page.click('#reset-cursor');
    expect(await page.locator('h1').innerText()).toBe('Reset the cursor of orders?');
    await page.click('#cancel-reset');
    await page.waitForURL(`${served.url}/jobs/orders`);
    expect(await page.locator('#cursor').innerText()).toContain('2026-01-01T00:00:00.000Z');
    await page.click('#reset-cursor');
    await page.click('#confirm-reset');
    await page.waitForURL(`${served.url}/jobs/orders`);
    expect(await page.locator('#cursor').innerText()).toContain('none');
  });

  it('is readable at phone width: nothing wider than the screen but the scrolling tables', async () => {
    const phone = await browser.newContext({ httpCredentials: { username: auth.user, password: auth.password }, viewport: { width: 390, height: 844 } });
    try {
      const page = await phone.newPage();
      for (const url of [served.url, `${served.url}/jobs/orders`]) {
        await page.goto(url);
        expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(390);
      }
    } finally {
      await phone.close();
    }
  });
});
