import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/config/redactor.js';
import { HttpError } from '../../src/errors/http-error.js';
import type { HttpRequest, HttpResponse, Transport } from '../../src/http/transport.js';
import { withRetry } from '../../src/http/retry.js';
import { memoryLogger } from '../helpers/temp-project.js';

function response(status: number, headers: Record<string, string> = {}): HttpResponse {
  const body = Object.assign(Readable.from([Buffer.from('{}')]), { text: async () => '{}' });
  return { status, headers, body, url: new URL('http://api.test/x') };
}

/** A transport that plays a script of answers (a status, or an error to throw). */
function scripted(script: (HttpResponse | Error)[]): Transport & { calls: number } {
  const fn = Object.assign(
    async (_request: HttpRequest) => {
      const next = script[fn.calls++];
      if (!next) throw new Error('script exhausted');
      if (next instanceof Error) throw next;
      return next;
    },
    { calls: 0 },
  );
  return fn;
}

const request = (method: HttpRequest['method'] = 'GET', signal?: AbortSignal): HttpRequest => ({ method, url: new URL('http://api.test/x?key=s3cr3t-value'), headers: {}, signal });
const networkError = () => new HttpError('E_NETWORK', 'GET http://api.test/x failed: connection reset (ECONNRESET)', { method: 'GET', url: 'http://api.test/x' });

function setup(script: (HttpResponse | Error)[], options: { attempts?: number; maxDelay?: number; now?: () => number } = {}) {
  const transport = scripted(script);
  const waits: number[] = [];
  const log = memoryLogger();
  const redactor = new Redactor();
  redactor.add('s3cr3t-value');
  const send = withRetry(transport, {
    attempts: options.attempts ?? 4,
    baseDelay: 100,
    maxDelay: options.maxDelay ?? 10_000,
    logger: log.logger,
    redactor,
    sleep: async (ms) => void waits.push(ms),
    random: () => 1, // the top of the jitter range, so the ceiling is visible
    now: options.now,
  });
  return { send, transport, waits, log };
}

describe('withRetry', () => {
  it('backs off exponentially (full jitter ceiling 100, 200, 400 ms)', async () => {
    const { send, waits, transport } = setup([response(503), response(502), response(504), response(200)]);
    expect((await send(request())).status).toBe(200);
    expect(transport.calls).toBe(4);
    expect(waits).toEqual([100, 200, 400]);
  });

  it('honours Retry-After as an HTTP-date against the injected clock, capped at maxDelay', async () => {
    const now = Date.parse('2026-11-29T00:00:00Z');
    const { send, waits } = setup([response(429, { 'retry-after': 'Sun, 29 Nov 2026 00:00:03 GMT' }), response(429, { 'retry-after': '3600' }), response(200)], { now: () => now, maxDelay: 5_000 });
    await send(request());
    expect(waits).toEqual([3_000, 5_000]);
  });

  it('retries network errors by code and returns the last answer when attempts run out', async () => {
    const { send, waits, transport } = setup([networkError(), response(503), response(503)], { attempts: 3 });
    expect((await send(request())).status).toBe(503);
    expect(transport.calls).toBe(3);
    expect(waits).toHaveLength(2);
  });

  it('never retries TLS errors, other 4xx, a 500 on POST, or an aborted request', async () => {
    const tls = setup([new HttpError('E_TLS', 'certificate has expired', { method: 'GET', url: 'x' })]);
    await expect(tls.send(request())).rejects.toMatchObject({ code: 'E_TLS' });
    expect(tls.transport.calls).toBe(1);
    for (const status of [400, 401, 403, 404, 409, 422]) {
      const s = setup([response(status)]);
      expect((await s.send(request())).status).toBe(status);
      expect(s.transport.calls).toBe(1);
    }
    const post = setup([response(500)]);
    expect((await post.send(request('POST'))).status).toBe(500);
    expect(post.transport.calls).toBe(1);
    const controller = new AbortController();
    controller.abort(new Error('run timeout'));
    const aborted = setup([networkError()]);
    await expect(aborted.send(request('GET', controller.signal))).rejects.toMatchObject({ code: 'E_NETWORK' });
    expect(aborted.transport.calls).toBe(1);
  });

  it('logs each retry with status, wait and a redacted URL', async () => {
    const { send, log } = setup([response(503), response(200)]);
    await send(request());
    const [line] = log.lines();
    expect(line).toMatchObject({ level: 40, status: 503, attempt: 1, waitMs: 100, method: 'GET' });
    expect(log.text()).not.toContain('s3cr3t-value');
  });
});
