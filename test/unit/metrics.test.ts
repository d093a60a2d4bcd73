import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors/http-error.js';
import type { HttpRequest, HttpResponse, Transport } from '../../src/http/transport.js';
import { countingTransport } from '../../src/http/counting-transport.js';
import { Metrics, sampleValue } from '../../src/ops/metrics.js';

const request: HttpRequest = { method: 'GET', url: new URL('http://127.0.0.1:1/x'), headers: {} };

function answer(status: number): Transport {
  return async () => ({ status, headers: {}, body: Readable.from([]) as HttpResponse['body'], url: request.url });
}

describe('Metrics', () => {
  it('counts runs, rows, duration, refreshes and lock waits under their labels', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.runStarted('orders');
    metrics.runStarted('orders');
    metrics.runSucceeded('orders', 1500);
    metrics.runFailed('orders', 'E_HTTP', 200);
    metrics.rowsWritten('orders', 'csv', 137);
    metrics.tokenRefresh('crm', 'ok');
    metrics.tokenRefresh('crm', 'invalid_grant');
    metrics.lockWait('crm', 40);
    metrics.retry('crm', '429');
    const text = await metrics.text();
    expect(sampleValue(text, 'restq_runs_started_total', { job: 'orders' })).toBe(2);
    expect(sampleValue(text, 'restq_runs_succeeded_total', { job: 'orders' })).toBe(1);
    expect(sampleValue(text, 'restq_runs_failed_total', { job: 'orders', code: 'E_HTTP' })).toBe(1);
    expect(sampleValue(text, 'restq_rows_written_total', { job: 'orders', sink: 'csv' })).toBe(137);
    expect(sampleValue(text, 'restq_run_duration_seconds_sum', { job: 'orders', result: 'succeeded' })).toBe(1.5);
    expect(sampleValue(text, 'restq_run_duration_seconds_bucket', { job: 'orders', result: 'succeeded', le: '1' })).toBe(0);
    expect(sampleValue(text, 'restq_run_duration_seconds_bucket', { job: 'orders', result: 'succeeded', le: '2.5' })).toBe(1);
    expect(sampleValue(text, 'restq_token_refreshes_total', { connection: 'crm', result: 'invalid_grant' })).toBe(1);
    expect(sampleValue(text, 'restq_token_lock_waits_total', { connection: 'crm' })).toBe(1);
    expect(sampleValue(text, 'restq_http_retries_total', { connection: 'crm', reason: '429' })).toBe(1);
  });

  it('keeps each instance separate (no global registry) and reads queue counts at scrape time', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.runStarted('x');
    let waiting = 3;
    b.trackQueue({ getJobCounts: async () => ({ waiting, active: 1, delayed: 0, completed: 9, failed: 2 }) });
    expect(sampleValue(await b.text(), 'restq_runs_started_total', { job: 'x' })).toBeUndefined();
    expect(sampleValue(await b.text(), 'restq_queue_jobs', { state: 'waiting' })).toBe(3);
    waiting = 5;
    const text = await b.text();
    expect(sampleValue(text, 'restq_queue_jobs', { state: 'waiting' })).toBe(5);
    expect(sampleValue(text, 'restq_queue_jobs', { state: 'failed' })).toBe(2);
  });

  it('counts what came between two reads exactly once (runs are added up until a scrape or snapshot reads them)', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.runStarted('orders');
    metrics.runStarted('orders');
    metrics.httpRequest('crm', 200);
    expect(sampleValue(await metrics.text(), 'restq_runs_started_total', { job: 'orders' })).toBe(2);
    metrics.runStarted('orders');
    metrics.runStarted('other');
    metrics.rowsWritten('orders', 'csv', 5);
    metrics.rowsWritten('orders', 'csv', 7);
    metrics.httpRequest('crm', 200);
    const snapshot = await metrics.snapshot();
    const value = (name: string, labels: Record<string, string>) =>
      snapshot.find((m) => m.name === name)?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(value('restq_runs_started_total', { job: 'orders' })).toBe(3);
    expect(value('restq_runs_started_total', { job: 'other' })).toBe(1);
    expect(value('restq_rows_written_total', { job: 'orders', sink: 'csv' })).toBe(12);
    expect(value('restq_http_requests_total', { connection: 'crm', status: '200' })).toBe(2);
    const text = await metrics.text();
    expect(sampleValue(text, 'restq_runs_started_total', { job: 'orders' })).toBe(3);
    expect(sampleValue(text, 'restq_rows_written_total', { job: 'orders', sink: 'csv' })).toBe(12);
  });

  it('publishes only restq counters in worker snapshots (process metrics and queue counts do not add up)', async () => {
    const metrics = new Metrics();
    metrics.trackQueue({ getJobCounts: async () => ({ waiting: 1 }) });
    metrics.runStarted('x');
    const names = (await metrics.snapshot()).map((m) => m.name);
    expect(names).toContain('restq_runs_started_total');
    expect(names.some((n) => n.startsWith('restq_process_') || n.startsWith('restq_nodejs_'))).toBe(false);
    expect(names).not.toContain('restq_queue_jobs');
    expect((await metrics.text()).includes('restq_process_resident_memory_bytes')).toBe(true);
  });
});

describe('countingTransport', () => {
  it('counts each request by connection and status, and failures by kind', async () => {
    const metrics = new Metrics({ processMetrics: false });
    await countingTransport(answer(200), 'crm', metrics)(request);
    await countingTransport(answer(200), 'crm', metrics)(request);
    await countingTransport(answer(429), 'crm', metrics)(request);
    const failing: Transport = async () => {
      throw new HttpError('E_TIMEOUT', 'GET http://127.0.0.1:1/x timed out', { method: 'GET', url: 'http://127.0.0.1:1/x' });
    };
    await expect(countingTransport(failing, 'crm', metrics)(request)).rejects.toThrow('timed out');
    const text = await metrics.text();
    expect(sampleValue(text, 'restq_http_requests_total', { connection: 'crm', status: '200' })).toBe(2);
    expect(sampleValue(text, 'restq_http_requests_total', { connection: 'crm', status: '429' })).toBe(1);
    expect(sampleValue(text, 'restq_http_requests_total', { connection: 'crm', status: 'timeout' })).toBe(1);
  });
});

describe('countingRefresher and countingStore', () => {
  it('count token-endpoint calls by result, and lock waits only when another holder did the update', async () => {
    const { countingRefresher, countingStore } = await import('../../src/auth/counting-auth.js');
    const { RestqError } = await import('../../src/errors/restq-error.js');
    const metrics = new Metrics({ processMetrics: false });
    let fail: 'no' | 'grant' | 'other' = 'no';
    const refresher = countingRefresher(
      async () => {
        if (fail === 'grant') throw new RestqError('E_INVALID_GRANT', 'invalid_grant');
        if (fail === 'other') throw new RestqError('E_TOKEN_REFRESH', '503');
        return { accessToken: 'a', refreshToken: 'r' };
      },
      'crm',
      metrics,
    );
    await refresher('r');
    fail = 'grant';
    await expect(refresher('r')).rejects.toThrow('invalid_grant');
    fail = 'other';
    await expect(refresher('r')).rejects.toThrow('503');

    let holderIsUs = true;
    let now = 0;
    const store = countingStore(
      {
        read: async () => undefined,
        close: async () => undefined,
        update: async (_connection, update) => {
          now += 25;
          if (holderIsUs) await update(undefined, { signal: new AbortController().signal });
          return { version: 1 };
        },
      },
      metrics,
      () => now,
    );
    await store.update('crm', async () => ({ accessToken: 'x' }));
    holderIsUs = false;
    await store.update('crm', async () => ({ accessToken: 'x' }));
    const text = await metrics.text();
    expect(sampleValue(text, 'restq_token_refreshes_total', { connection: 'crm', result: 'ok' })).toBe(1);
    expect(sampleValue(text, 'restq_token_refreshes_total', { connection: 'crm', result: 'invalid_grant' })).toBe(1);
    expect(sampleValue(text, 'restq_token_refreshes_total', { connection: 'crm', result: 'error' })).toBe(1);
    expect(sampleValue(text, 'restq_token_lock_waits_total', { connection: 'crm' })).toBe(1);
    expect(sampleValue(text, 'restq_token_lock_wait_seconds_sum', { connection: 'crm' })).toBe(0.025);
  });
});
