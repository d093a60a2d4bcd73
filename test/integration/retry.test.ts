import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors/http-error.js';
import { RestqError } from '../../src/errors/restq-error.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { httpPolicy } from '../../src/http/http-policy.js';
import { runJob } from '../../src/runner.js';
import { sendJson, startTestServer } from '../helpers/http-test-server.js';
import { serverAndProjectPerTest } from '../helpers/per-test.js';
import { captureStream, memoryLogger, writeProject } from '../helpers/temp-project.js';

const live = serverAndProjectPerTest();

interface RunSetup {
  connection?: Record<string, unknown>;
  job?: Record<string, unknown>;
  /** Records waits instead of sleeping them. */
  fakeSleep?: boolean;
}

async function runScalar(setup: RunSetup = {}) {
  live.project = writeProject(
    { api: { baseUrl: live.server!.url, accessToken: 'retry-token-1234', retry: { attempts: 4, baseDelay: '10ms', maxDelay: '5s' }, ...setup.connection } },
    { count: { connection: 'api', output: [{ stdout: null }], ...setup.job, scalar: { path: '/count', value: '$.count', ...(setup.job?.['scalar'] as object) } } },
  );
  const log = memoryLogger(live.project.config);
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  const clients = new ApiClients({
    config: live.project.config,
    logger: log.logger,
    wrapTransport: httpPolicy({ logger: log.logger, redactor: live.project.config.redactor, ...(setup.fakeSleep ? { sleep } : {}) }),
  });
  const out = captureStream();
  try {
    const result = await runJob({ config: live.project.config, job: 'count', clients, logger: log.logger, stdout: out.stream }).catch((e: unknown) => e);
    const retries = log.records().filter((l) => typeof l['waitMs'] === 'number');
    return { result, waits, retries, stdout: out.text(), logText: log.text() };
  } finally {
    await clients.close();
  }
}

describe('retries', () => {
  it('503 twice then 200: succeeds on the third try, each retry logged with status and wait', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => (++requests <= 2 ? sendJson(res, 503, { error: 'busy' }) : sendJson(res, 200, { count: 7 })));
    const { result, retries, stdout } = await runScalar();
    expect(result).toMatchObject({ rows: 1, requests: 1 });
    expect(stdout).toBe('7\n');
    expect(requests).toBe(3);
    expect(retries.map((r) => [r['status'], r['attempt']])).toEqual([
      [503, 1],
      [503, 2],
    ]);
    // Full jitter: attempt n waits at most baseDelay * 2^(n-1).
    expect(retries[0]!['waitMs']).toBeLessThanOrEqual(10);
    expect(retries[1]!['waitMs']).toBeLessThanOrEqual(20);
  });

  it('429 with Retry-After: 1 waits exactly 1000 ms before the retry', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => (++requests === 1 ? sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : sendJson(res, 200, { count: 1 })));
    const { result, waits, retries } = await runScalar({ fakeSleep: true });
    expect(result).toMatchObject({ rows: 1 });
    expect(waits).toEqual([1000]);
    expect(retries[0]).toMatchObject({ status: 429, retryAfterMs: 1000, waitMs: 1000 });
  });

  it('Retry-After as an HTTP-date is honoured, capped at maxDelay', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) =>
      ++requests === 1 ? sendJson(res, 503, {}, { 'retry-after': new Date(Date.now() + 120_000).toUTCString() }) : sendJson(res, 200, { count: 1 }),
    );
    const { waits } = await runScalar({ fakeSleep: true, connection: { retry: { attempts: 3, maxDelay: '2s' } } });
    expect(waits).toEqual([2000]);
  });

  it('400 is not retried and fails with the response excerpt', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => {
      requests++;
      sendJson(res, 400, { error: 'bad filter' });
    });
    const { result, waits } = await runScalar({ fakeSleep: true });
    expect(requests).toBe(1);
    expect(waits).toEqual([]);
    expect(result).toBeInstanceOf(HttpError);
    expect(result).toMatchObject({ code: 'E_HTTP', status: 400, permanent: true });
    expect((result as Error).message).toMatch(/answered 400: \{"error":"bad filter"\}/);
  });

  it('500 is retried for GET but not for POST', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => (++requests === 1 ? sendJson(res, 500, {}) : sendJson(res, 200, { count: 2 })));
    expect((await runScalar({ fakeSleep: true })).result).toMatchObject({ rows: 1 });
    expect(requests).toBe(2);
    requests = 0;
    const post = await runScalar({ fakeSleep: true, job: { scalar: { method: 'POST', body: { q: 1 } } } });
    expect(post.result).toMatchObject({ code: 'E_HTTP', status: 500 });
    expect(requests).toBe(1);
  });

  it('gives up after `attempts` tries and reports the last status', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => {
      requests++;
      sendJson(res, 502, { error: 'gateway' });
    });
    const { result, waits } = await runScalar({ fakeSleep: true, connection: { retry: { attempts: 3 } } });
    expect(requests).toBe(3);
    expect(waits).toHaveLength(2);
    expect(result).toMatchObject({ code: 'E_HTTP', status: 502, permanent: false });
  });

  it('a dropped connection is retried (network error, decided by code)', async () => {
    let requests = 0;
    live.server = await startTestServer((req, res) => {
      if (++requests === 1) {
        req.socket.destroy();
        return;
      }
      sendJson(res, 200, { count: 3 });
    });
    const { result, retries } = await runScalar({ fakeSleep: true });
    expect(result).toMatchObject({ rows: 1 });
    expect(retries[0]).toMatchObject({ code: 'E_NETWORK', attempt: 1 });
  });
});

describe('timeouts say which one fired', () => {
  it('the per-request timeout (connection timeout:)', async () => {
    live.server = await startTestServer(() => undefined); // never answers
    const { result } = await runScalar({ connection: { timeout: '200ms', retry: { attempts: 1 } } });
    expect(result).toBeInstanceOf(RestqError);
    expect(result).toMatchObject({ code: 'E_TIMEOUT' });
    expect((result as Error).message).toMatch(/timed out after 200 ms waiting for the response \(connection timeout; raise it with timeout: in connections.yaml\)/);
  });

  it('the run timeout (job timeout:), also while a retry is waiting', async () => {
    let requests = 0;
    live.server = await startTestServer((_req, res) => {
      requests++;
      sendJson(res, 503, {}, { 'retry-after': '30' });
    });
    const started = Date.now();
    const { result } = await runScalar({ connection: { timeout: '10s', retry: { attempts: 5, maxDelay: '30s' } }, job: { timeout: '300ms' } });
    expect(result).toMatchObject({ code: 'E_TIMEOUT', permanent: true });
    expect((result as Error).message).toMatch(/run timeout of 300 ms exceeded \(job "count" timeout:\)/);
    expect(requests).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the run timeout while the API hangs', async () => {
    live.server = await startTestServer(() => undefined);
    const { result } = await runScalar({ connection: { timeout: '10s' }, job: { timeout: '250ms' } });
    expect(result).toMatchObject({ code: 'E_TIMEOUT' });
    expect((result as Error).message).toMatch(/run timeout of 250 ms exceeded/);
  });
});
