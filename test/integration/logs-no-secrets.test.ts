import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTokenStore } from '../../src/auth/open-token-store.js';
import { readSettings } from '../../src/runtime/settings.js';
import { tokenProviders } from '../../src/auth/token-provider-factory.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/types.js';
import { createLogger } from '../../src/log/logger.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { Metrics, sampleValue } from '../../src/ops/metrics.js';
import { runJob } from '../../src/runner.js';
import { startTestServer, type TestServer } from '../helpers/http-test-server.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { startJwtBearerServer } from '../helpers/jwt-bearer-server.js';

const secret = (name: string) => `${name}-${randomBytes(9).toString('hex')}`;

/**
 * The API of the jobs: it accepts any access token the sample API issued, answers 503 once
 * before the first page (a retry), and on /fail echoes the request's Authorization header in a
 * 500 body, as careless APIs do, so a secret reaches restq's error excerpt unless redacted.
 */
async function startDataApi(seen: Set<string>): Promise<TestServer> {
  let flaky = true;
  return startTestServer((req, res) => {
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
}

describe('logs of a run with a token refresh, retries and failures', () => {
  const clientId = secret('client-id');
  const clientSecret = secret('client-secret');
  const seedRefreshToken = secret('refresh-seed');
  const wrongRefreshToken = secret('refresh-wrong');
  const hookSecret = secret('hook-secret');
  const seenTokens = new Set<string>();
  let api: SampleApi;
  let data: TestServer;
  let hook: TestServer;
  let project: TempProject;
  let config: Config;

  beforeAll(async () => {
    api = await startSampleApi({ clientId, clientSecret, refreshToken: seedRefreshToken, tokenLifetimeSeconds: 3600 });
    data = await startDataApi(seenTokens);
    hook = await startTestServer((_req, res) => void res.writeHead(204).end());
    const hookUrl = `${hook.url}/in`;
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
    const output = `output:\n  - csv: out/{job}.csv\n  - webhook: { url: "${hookUrl}", secret: "\${HOOK_SECRET}" }\n`;
    project = tempProject({
      'connections.yaml': `connections:\n  api:\n${connection('${REFRESH_TOKEN}')}\n  stale:\n${connection('${WRONG_REFRESH_TOKEN}')}\n`,
      'jobs/rows.yaml': `connection: api\ngrid:\n  path: /rows\n  rows: $.data[*]\n${output}`,
      'jobs/fails.yaml': `connection: api\ngrid:\n  path: /fail\n  rows: $.data[*]\n${output}`,
      'jobs/stale.yaml': `connection: stale\ngrid:\n  path: /rows\n  rows: $.data[*]\n${output}`,
    });
    config = project.load({ CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REFRESH_TOKEN: seedRefreshToken, WRONG_REFRESH_TOKEN: wrongRefreshToken, HOOK_SECRET: hookSecret });
  });

  afterAll(async () => {
    await api.close();
    await data.close();
    await hook.close();
    project.cleanup();
  });

  it('contain job, runId and connection fields, and none of the secrets used', async () => {
    const { logger, records, text: logText } = memoryLogger({ config, level: 'trace' });
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

    const text = logText();
    const lines = records();
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

describe('logs of a jwt_bearer run (RFC 7523)', () => {
  it('show the token request but neither the assertion, the private key nor the token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const server = await startJwtBearerServer([{ issuer: 'svc-logs', algorithm: 'ES256', key: publicKey, subject: 'svc-logs' }]);
    const dir = mkdtempSync(path.join(tmpdir(), 'restq-logs-jwt-'));
    try {
      mkdirSync(path.join(dir, 'jobs'));
      writeFileSync(path.join(dir, 'key.pem'), pem);
      writeFileSync(
        path.join(dir, 'connections.yaml'),
        `connections:\n  erp:\n    baseUrl: ${server.url}/api\n    grant: jwt_bearer\n    jwt: { privateKey: key.pem, algorithm: ES256, issuer: svc-logs }\n    refresh: { endpoint: ${server.tokenUrl} }\n`,
      );
      writeFileSync(path.join(dir, 'jobs', 'who.yaml'), 'connection: erp\ngrid:\n  path: /whoami\n  rows: $.data[*]\noutput:\n  - csv: out/who.csv\n');
      const config = loadConfig({ dir, env: {} });
      let text = '';
      const destination = new Writable({
        write(chunk, _encoding, done) {
          text += String(chunk);
          done();
        },
      });
      const logger = createLogger({ level: 'trace', destination, redactor: config.redactor, pretty: false });
      const store = await openTokenStore({ config, settings: readSettings({}) });
      const clients = new ApiClients({ config, logger, tokens: tokenProviders({ config, store, logger }) });
      try {
        const result = await runJob({ config, job: 'who', clients, logger });
        expect(result.rows).toBe(1);
      } finally {
        await clients.close();
        await store.close();
      }
      expect(server.requests.map((r) => r.ok)).toEqual([true]);
      expect(text).toContain('token request POST');
      const secrets = [server.requests[0]!.assertion, ...server.issued, ...pem.split('\n').filter((l) => l && !l.startsWith('-----'))];
      for (const value of secrets) expect(text).not.toContain(value);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
