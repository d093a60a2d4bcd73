import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTokenStore } from '../../src/auth/open-token-store.js';
import { readSettings } from '../../src/runtime/settings.js';
import { tokenProviders } from '../../src/auth/token-providers.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/types.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-clients.js';
import { createLogger } from '../../src/logger.js';
import { Metrics, sampleValue } from '../../src/ops/metrics.js';
import { runJob } from '../../src/runner.js';

const secret = (name: string) => `${name}-${randomBytes(9).toString('hex')}`;

/**
 * The API of the jobs: it accepts any access token the sample API issued, answers 503 once
 * before the first page (a retry), and on /fail echoes the request's Authorization header in a
 * 500 body, as careless APIs do, so a secret reaches restq's error excerpt unless redacted.
 */
async function startDataApi(seen: Set<string>): Promise<{ url: string; server: Server }> {
  let flaky = true;
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (token) seen.add(token);
    if (!token?.startsWith('at-')) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    if (req.url?.startsWith('/fail')) return res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'boom', youSent: auth }));
    if (flaky) {
      flaky = false;
      return res.writeHead(503, { 'retry-after': '0' }).end();
    }
    const body = JSON.stringify({ data: [{ id: 1, owner: 'a' }, { id: 2, owner: 'b' }] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('logs of a run with a token refresh, retries and failures', () => {
  const clientId = secret('client-id');
  const clientSecret = secret('client-secret');
  const seedRefreshToken = secret('refresh-seed');
  const wrongRefreshToken = secret('refresh-wrong');
  const hookSecret = secret('hook-secret');
  const seenTokens = new Set<string>();
  let api: SampleApi;
  let data: { url: string; server: Server };
  let hook: Server;
  let dir: string;
  let config: Config;

  beforeAll(async () => {
    api = await startSampleApi({ clientId, clientSecret, refreshToken: seedRefreshToken, tokenLifetimeSeconds: 3600 });
    data = await startDataApi(seenTokens);
    hook = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/in`;
    dir = mkdtempSync(path.join(tmpdir(), 'restq-logs-'));
    mkdirSync(path.join(dir, 'jobs'));
    const connection = (refreshToken: string) =>
      [
        `    baseUrl: ${data.url}`,
        '    apiKey: ${CLIENT_ID}',
        '    apiSecret: ${CLIENT_SECRET}',
        '    retry: { attempts: 3, baseDelay: 5ms, maxDelay: 20ms }',
        '    refresh:',
        `      endpoint: ${api.url}/oauth/token`,
        `      refreshToken: ${refreshToken}`,
      ].join('\n');
    writeFileSync(path.join(dir, 'connections.yaml'), `connections:\n  api:\n${connection('${REFRESH_TOKEN}')}\n  stale:\n${connection('${WRONG_REFRESH_TOKEN}')}\n`);
    const output = `output:\n  - csv: out/{job}.csv\n  - webhook: { url: "${hookUrl}", secret: "\${HOOK_SECRET}" }\n`;
    writeFileSync(path.join(dir, 'jobs', 'rows.yaml'), `connection: api\ngrid:\n  path: /rows\n  rows: $.data[*]\n${output}`);
    writeFileSync(path.join(dir, 'jobs', 'fails.yaml'), `connection: api\ngrid:\n  path: /fail\n  rows: $.data[*]\n${output}`);
    writeFileSync(path.join(dir, 'jobs', 'stale.yaml'), `connection: stale\ngrid:\n  path: /rows\n  rows: $.data[*]\n${output}`);
    config = loadConfig({
      dir,
      env: { CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REFRESH_TOKEN: seedRefreshToken, WRONG_REFRESH_TOKEN: wrongRefreshToken, HOOK_SECRET: hookSecret },
    });
  });

  afterAll(async () => {
    await api.close();
    data.server.closeAllConnections();
    data.server.close();
    hook.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('contain job, runId and connection fields, and none of the secrets used', async () => {
    let text = '';
    const destination = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination, redactor: config.redactor, pretty: false });
    const metrics = new Metrics({ processMetrics: false });
    const store = await openTokenStore({ config, settings: readSettings({}) });
    const clients = new ApiClients({ config, logger, metrics, tokens: tokenProviders({ config, store, logger, metrics }) });
    const errors: string[] = [];
    try {
      const ok = await runJob({ config, job: 'rows', clients, logger, metrics });
      expect(ok.rows).toBe(2);
      for (const job of ['fails', 'stale']) {
        const error = await runJob({ config, job, clients, logger, metrics }).then(
          () => undefined,
          (e: unknown) => e as Error & { code?: string },
        );
        expect(error).toBeDefined();
        errors.push(`${error!.code} ${error!.message} ${error!.stack ?? ''}`);
      }
    } finally {
      await clients.close();
      await store.close();
    }
    expect(errors[0]).toMatch(/^E_HTTP .*answered 500/);
    expect(errors[0]).toContain('[secret at-'); // the echoed token is shown only as a fingerprint
    expect(errors[1]).toMatch(/^E_INVALID_GRANT /);

    // What happened: one refresh per connection, a retried 503 and 500s, both failures.
    const scraped = await metrics.text();
    expect(sampleValue(scraped, 'restq_token_refreshes_total', { connection: 'api', result: 'ok' })).toBe(1);
    expect(sampleValue(scraped, 'restq_token_refreshes_total', { connection: 'stale', result: 'invalid_grant' })).toBe(1);
    expect(sampleValue(scraped, 'restq_http_retries_total', { connection: 'api', reason: '503' })).toBe(1);
    expect(sampleValue(scraped, 'restq_http_retries_total', { connection: 'api', reason: '500' })).toBe(2);
    expect(sampleValue(scraped, 'restq_http_requests_total', { connection: 'api', status: '500' })).toBe(3);
    expect(sampleValue(scraped, 'restq_runs_failed_total', { job: 'stale', code: 'E_INVALID_GRANT' })).toBe(1);

    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    const retryLine = lines.find((l) => String(l['msg']).includes('answered 503'));
    expect(retryLine).toMatchObject({ job: 'rows', connection: 'api', runId: expect.any(String) });

    const secrets = [clientId, clientSecret, seedRefreshToken, wrongRefreshToken, hookSecret, api.currentRefreshToken(), ...seenTokens];
    expect(seenTokens.size).toBeGreaterThan(0);
    expect(api.currentRefreshToken()).not.toBe(seedRefreshToken); // rotated: a second secret
    const everything = `${text}\n${errors.join('\n')}`;
    for (const value of secrets) {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(encodeURIComponent(value));
      expect(everything).not.toContain(Buffer.from(value).toString('base64'));
    }
  });
});
