import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { json, startServer, type TestServer } from '../helpers/http-test-server.js';
import { tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { freePort } from '../helpers/own-redis.js';
import { spawnRestq } from '../helpers/restq-process.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

// Distinctive values: any occurrence in any output is a leak.
const SECRETS = {
  ACCESS_TOKEN: 'AT-leak-canary-7f3a9c',
  API_KEY: 'AK-leak-canary-51be02',
  API_SECRET: 'AS-leak-canary-c0ffee',
  REFRESH_TOKEN: 'RT-leak-canary-88d1e4',
  PROXY_PASSWORD: 'PP-leak-canary-a4b4c4',
  HOOK_SECRET: 'HS-leak-canary-9e9e9e',
  QUERY_TOKEN: 'QT-leak-canary-3d3d3d',
};

let server: TestServer;
let project: TempProject;
let invalid: TempProject;

beforeAll(async () => {
  server = await startServer({
    '/v1/items': (req, res) => {
      const ok = req.headers['authorization'] === `Bearer ${SECRETS.ACCESS_TOKEN}` && req.headers['x-api-key'] === SECRETS.API_KEY;
      json(res, ok ? { data: [{ id: 1, name: 'visible row' }] } : { error: 'unauthorized' }, ok ? 200 : 403);
    },
    // An API that echoes credentials into its error body, as some do.
    '/v1/fail': (req, res) => json(res, { error: 'boom', authorization: req.headers['authorization'], key: req.headers['x-api-key'], url: req.url.href }, 500),
  });
  const connection = [
    'connections:',
    '  api:',
    `    baseUrl: ${server.url}/v1`,
    '    accessToken: ${ACCESS_TOKEN}',
    '    apiKey: ${API_KEY}',
    '    apiKeyHeader: X-API-Key',
    '    apiSecret: ${API_SECRET}',
    '    retry: { attempts: 1 }',
  ];
  project = tempProject({
    'connections.yaml': lines(...connection),
    '.env': lines(...Object.entries(SECRETS).map(([k, v]) => `${k}=${v}`)),
    'jobs/items.yaml': lines('connection: api', 'grid:', '  path: /items', '  query: { token: "${QUERY_TOKEN}" }', '  rows: $.data[*]', 'output:', '  - stdout:'),
    'jobs/fail.yaml': lines('connection: api', 'grid:', '  path: /fail', '  query: { token: "${QUERY_TOKEN}" }', '  rows: $.data[*]'),
    'jobs/hook.yaml': lines('connection: api', 'grid:', '  path: /items', '  rows: $.data[*]', 'output:', '  - webhook: { url: "http://127.0.0.1:9/hook", secret: "${HOOK_SECRET}" }'),
  });
  invalid = tempProject({
    'connections.yaml': lines(
      ...connection,
      '    securityProtocol: ${API_SECRET}',
      '    refresh: { endpoint: "http://127.0.0.1:9/token", refreshToken: "${REFRESH_TOKEN}", expiresInPath: "${REFRESH_TOKEN}" }',
      '    proxy: { host: proxy.local, port: 3128, username: svc, password: "${PROXY_PASSWORD}", domain: "${API_KEY}" }',
    ),
    '.env': lines(...Object.entries(SECRETS).map(([k, v]) => `${k}=${v}`)),
    'jobs/items.yaml': lines('connection: ${API_KEY}', 'timezone: ${HOOK_SECRET}', 'grid:', '  path: /items', '  rows: $.data[*]'),
  });
});
afterAll(async () => {
  project.cleanup();
  invalid.cleanup();
  await server.close();
});

function expectNoSecret(result: CliResult): void {
  const all = `${result.stdout}\n${result.stderr}`;
  for (const [name, value] of Object.entries(SECRETS)) {
    expect(all, `${name} leaked`).not.toContain(value);
    expect(all, `${name} leaked URL-encoded`).not.toContain(encodeURIComponent(value));
  }
}

describe('secrets never reach stdout or stderr', () => {
  it('a successful run at debug log level (the server proves the secrets were sent)', async () => {
    const result = await runCli(['--config', project.dir, '--log-level', 'debug', 'run', 'items']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ id: 1, name: 'visible row' });
    expectNoSecret(result);
  });

  it('a failed run whose error body echoes the credentials', async () => {
    const result = await runCli(['--config', project.dir, 'run', 'fail'], { env: { LOG_LEVEL: 'debug' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[E_HTTP\]: GET .*\/v1\/fail\?token=\[secret QT-l…\(21\)\] answered 500: .*"authorization":"Bearer \[secret AT-l…\(21\)\]"/m);
    expectNoSecret(result);
  });

  it('--dry-run shows fingerprints only', async () => {
    for (const job of ['items', 'hook']) {
      const result = await runCli(['--config', project.dir, 'run', job, '--dry-run']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('[secret');
      expectNoSecret(result);
    }
  });

  it('validate errors about values that hold secrets', async () => {
    const result = await runCli(['--config', invalid.dir, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/securityProtocol must be one of/);
    expect(result.stderr).toMatch(/connection "\[secret AK-l…\(21\)\]" is not defined/);
    expectNoSecret(result);
  });
});

describe('secrets of the authorization_code and jwt_bearer grants never reach stdout or stderr', () => {
  // A careless token endpoint: it echoes what it received (code, verifier, assertion, secret) in its errors.
  const received: Array<Record<string, string>> = [];
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const PEM = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const KEY_LINES = PEM.split('\n').filter((l) => l && !l.startsWith('-----'));
  const CODE = 'AC-leak-canary-5e5e5e';
  let echo: TestServer;
  let grants: ConfigDir;
  let redirectPort: number;

  beforeAll(async () => {
    redirectPort = await freePort();
    echo = await startServer({
      'POST /token': (req, res) => {
        const form = Object.fromEntries(new URLSearchParams(req.body));
        received.push(form);
        json(res, { error: 'invalid_grant', error_description: `rejected ${JSON.stringify(form)}` }, 400);
      },
    });
    grants = tempConfigDir({
      'connections.yaml': lines(
        'connections:',
        '  crm:',
        `    baseUrl: ${echo.url}/v1`,
        '    apiKey: public-client-id',
        '    apiSecret: ${API_SECRET}',
        '    grant: authorization_code',
        `    authorize: { url: "${echo.url}/authorize", scope: offline_access, redirectPort: ${redirectPort} }`,
        `    refresh: { endpoint: "${echo.url}/token" }`,
        '    retry: { attempts: 1 }',
        '  erp:',
        `    baseUrl: ${echo.url}/v1`,
        '    grant: jwt_bearer',
        '    jwt: { privateKey: "${ERP_KEY}", issuer: svc }',
        `    refresh: { endpoint: "${echo.url}/token" }`,
        '    retry: { attempts: 1 }',
      ),
      '.env': lines(`API_SECRET=${SECRETS.API_SECRET}`, `ERP_KEY=${PEM.trim().replace(/\n/g, '\\n')}`),
      'jobs/erp.yaml': lines('connection: erp', 'grid:', '  path: /items', '  rows: $.data[*]'),
    });
  });
  afterAll(async () => {
    grants.cleanup();
    await echo.close();
  });

  it('authorization code and code verifier, even when the token endpoint echoes them', async () => {
    const proc = spawnRestq(['--log-level', 'debug', 'token', 'crm', '--authorize', '--no-browser'], {}, grants.dir);
    await proc.waitForStderr(/Waiting for the redirect/, 20_000);
    const state = new URL(/(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(proc.stderr())![1]!).searchParams.get('state')!;
    const callback = await fetch(`http://127.0.0.1:${redirectPort}/callback?code=${CODE}&state=${encodeURIComponent(state)}`);
    expect(callback.status).toBe(502);
    expect(await proc.exited).toBe(1);
    const form = received.find((f) => f['grant_type'] === 'authorization_code')!;
    expect(form['code']).toBe(CODE);
    const verifier = form['code_verifier']!;
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const result = { code: 1, stdout: proc.stdout(), stderr: proc.stderr() };
    expect(result.stderr).toContain('rejected the authorization code');
    for (const value of [CODE, verifier]) expect(`${result.stdout}${result.stderr}`).not.toContain(value);
    expectNoSecret(result);
  });

  it('the signed assertion and the private key, even when the token endpoint echoes the assertion', async () => {
    const before = received.length;
    const result = await runCli(['--config', grants.dir, '--log-level', 'debug', 'run', 'erp']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refused the signed assertion');
    const assertion = received.slice(before).find((f) => f['grant_type'] === 'urn:ietf:params:oauth:grant-type:jwt-bearer')!['assertion']!;
    expect(assertion.split('.')).toHaveLength(3);
    const all = `${result.stdout}${result.stderr}`;
    expect(all).not.toContain(assertion);
    expect(all).not.toContain(assertion.split('.')[2]);
    for (const line of KEY_LINES) expect(all).not.toContain(line);
    expectNoSecret(result);

    const dryRun = await runCli(['--config', grants.dir, 'run', 'erp', '--dry-run']);
    for (const line of KEY_LINES) expect(`${dryRun.stdout}${dryRun.stderr}`).not.toContain(line);
  });
});
