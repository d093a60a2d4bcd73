import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTokenStore } from '../../src/auth/file-token-store.js';
import { openTokenStore } from '../../src/auth/open-token-store.js';
import { readSettings } from '../../src/runtime/settings.js';
import { createRefreshClient } from '../../src/auth/refresh-client.js';
import { createTokenManager, tokenProviders } from '../../src/auth/token-providers.js';
import { ApiClients } from '../../src/http/api-clients.js';
import { createDispatcher } from '../../src/http/dispatcher.js';
import type { RestqError } from '../../src/errors/restq-error.js';
import { startSampleApi, type SampleApi, type SampleApiOptions } from '../../src/demo/sample-api.js';
import { memoryLogger, tempConfig, type TempConfig } from '../helpers/temp-config.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
// `npm test` builds first, so the compiled CLI is current and starts 3x faster than tsx.
const BUILT = existsSync(path.resolve('dist/cli.js'));
const TSX = BUILT ? process.execPath : path.resolve('node_modules/.bin/tsx');
const CLI = path.resolve(BUILT ? 'dist/cli.js' : 'src/cli.ts');
const CLIENT_SECRET = 'client-secret-Zq9';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function api(options: SampleApiOptions = {}): Promise<SampleApi> {
  const server = await startSampleApi({ clientSecret: CLIENT_SECRET, refreshToken: `seed-${randomBytes(6).toString('hex')}`, ...options });
  cleanups.push(() => server.close());
  return server;
}

function setup(server: SampleApi, refreshYaml = '', env: Record<string, string> = {}): TempConfig {
  const temp = tempConfig(
    `
baseUrl: ${server.url}
apiKey: demo-client
apiSecret: ${CLIENT_SECRET}
retry: { attempts: 3, baseDelay: 10ms, maxDelay: 50ms }
refresh:
  endpoint: ${server.url}/oauth/token
  refreshToken: ${server.currentRefreshToken()}
${refreshYaml.trim().split('\n').map((l) => `  ${l}`).join('\n')}
`,
    env,
  );
  cleanups.push(() => temp.cleanup());
  return temp;
}

async function clientsFor(temp: TempConfig, env: Record<string, string> = {}) {
  const { logger, lines } = memoryLogger(temp.config);
  const store = await openTokenStore({ config: temp.config, settings: readSettings(env) });
  const clients = new ApiClients({ config: temp.config, logger, tokens: tokenProviders({ config: temp.config, store, logger }) });
  cleanups.push(async () => {
    await clients.close();
    await store.close();
  });
  return { clients, store, lines };
}

async function getCount(clients: ApiClients): Promise<number> {
  const response = await clients.get('api').send({ method: 'GET', url: new URL(`${clients.get('api').connection.baseUrl}/v1/orders/count`), headers: {} });
  return (JSON.parse(await response.body.text()) as { count: number }).count;
}

describe('OAuth2 refresh against a rotating token server', () => {
  it('50 concurrent requests across an expiry: 1 refresh call, 0 invalid_grant', async () => {
    // 1.5 s tokens: the new one must outlive the 50 requests even on a loaded machine.
    const server = await api({ tokenLifetimeMs: 1500 });
    const temp = setup(server);
    const { clients } = await clientsFor(temp);
    expect(await getCount(clients)).toBe(137);
    expect(server.stats.tokensIssued).toBe(1);
    // Wait until the token is past expiresAt - skew (20% of 1.5 s), then fire 50 at once.
    const stored = (await new FileTokenStore({ file: path.join(temp.dir, '.restq', 'state.json') }).read('api'))!;
    await waitFor(() => Date.now() >= stored.expiresAt! - 300);
    const counts = await Promise.all(Array.from({ length: 50 }, () => getCount(clients)));
    expect(counts.every((c) => c === 137)).toBe(true);
    expect(server.stats.tokensIssued).toBe(2);
    expect(server.stats.tokenRequests).toBe(2);
    expect(server.stats.invalidGrants).toBe(0);
    expect(server.stats.unauthorized).toBe(0);
  });

  it('restart: a new process, then a new store instance, use the rotated refresh token from the state file', async () => {
    const server = await api();
    const temp = setup(server);
    const first = await clientsFor(temp);
    await getCount(first.clients);
    const file = path.join(temp.dir, '.restq', 'state.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(server.currentRefreshToken());
    await first.clients.close();

    // A new process: presenting anything but the rotated token would be invalid_grant.
    const out = await run(TSX, [CLI, '--config', temp.dir, '--log-level', 'silent', 'token', 'api', '--refresh']);
    expect(out.stdout).toContain('refreshed now');
    expect(server.stats.tokensIssued).toBe(2);
    expect(server.stats.invalidGrants).toBe(0);

    // A new manager and store instance in this process, after the child's rotation.
    const dispatcher = createDispatcher(temp.connection);
    const manager = createTokenManager(temp.connection, dispatcher, { config: temp.config, store: new FileTokenStore({ file }), logger: memoryLogger().logger });
    try {
      await manager.forceRefresh();
    } finally {
      await manager.close();
      await dispatcher.close();
    }
    expect(server.stats.tokensIssued).toBe(3);
    expect(server.stats.invalidGrants).toBe(0);
  });

  it('restq run in two processes: the second refreshes with the token the first rotated', async () => {
    // Long enough that a loaded machine never sees the first process's token expire in use
    // (the skew is 20% of it), short enough to wait out before the second process.
    const lifetime = 1500;
    const server = await api({ tokenLifetimeMs: lifetime });
    const temp = setup(server);
    mkdirSync(path.join(temp.dir, 'jobs'));
    writeFileSync(path.join(temp.dir, 'jobs', 'count.yaml'), 'connection: api\nscalar:\n  path: /v1/orders/count\n  value: $.count\noutput:\n  - stdout: {}\n');
    let lastIssue = 0;
    for (const expected of [1, 2]) {
      // The second process starts after the first one's token expired.
      await waitFor(() => server.stats.tokensIssued === 0 || Date.now() > lastIssue + lifetime, 5_000);
      const out = await run(TSX, [CLI, '--config', temp.dir, '--log-level', 'silent', 'run', 'count']);
      expect(out.stdout.trim()).toBe('137');
      expect(server.stats.tokensIssued).toBe(expected);
      lastIssue = Date.now();
    }
    expect(server.stats.invalidGrants).toBe(0);
  });

  it('after an API 401 refreshes once and retries; a second 401 fails clearly', async () => {
    const server = await api();
    const temp = setup(server);
    const { clients } = await clientsFor(temp);
    await getCount(clients);
    // The server restarts and forgets its access tokens but keeps the refresh chain: simulate by
    // a token the server never issued in the store.
    const file = path.join(temp.dir, '.restq', 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { connections: { api: { accessToken: string } } };
    state.connections.api.accessToken = 'at-unknown-to-the-server';
    writeFileSync(file, JSON.stringify(state));
    const { clients: fresh } = await clientsFor(temp);
    expect(await getCount(fresh)).toBe(137);
    expect(server.stats.unauthorized).toBe(1);
    expect(server.stats.tokensIssued).toBe(2);

    // An API that rejects every token this endpoint issues: one refresh, one retry, then a clear error.
    const other = await api();
    const mismatched = tempConfig(`
baseUrl: ${other.url}
apiKey: demo-client
apiSecret: ${CLIENT_SECRET}
refresh:
  endpoint: ${server.url}/oauth/token
  refreshToken: ${server.currentRefreshToken()}
`);
    cleanups.push(() => mismatched.cleanup());
    const { clients: wrong } = await clientsFor(mismatched);
    const error = (await getCount(wrong).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_UNAUTHORIZED');
    expect(error.message).toContain('again after a token refresh');
    expect(other.stats.unauthorized).toBe(2);
    expect(server.stats.tokensIssued).toBe(4);
  });

  it('nested responses with custom JSONPaths, Basic client auth and query params checked by the server', async () => {
    const server = await api({ tokenResponse: 'nested', clientAuth: 'basic', requiredTokenParams: { scope: 'orders.read', audience: 'a b&c' } });
    const temp = setup(
      server,
      `
accessTokenPath: $.data.token
expiresInPath: $.data.expiresIn
refreshTokenPath: $.data.refresh
clientAuth: basic
params: "scope=orders.read&audience=a%20b%26c"`,
    );
    const { clients, lines } = await clientsFor(temp);
    expect(await getCount(clients)).toBe(137);
    expect(server.stats.lastClientAuth).toBe('basic');
    // Debug logs saw the token request and the refresh, but no token, refresh token or secret.
    const logs = lines.join('');
    expect(logs).toContain('access token refreshed');
    expect(logs).not.toMatch(/at-[0-9a-f]{24}|rt-[0-9a-f]{24}/);
    expect(logs).not.toContain(CLIENT_SECRET);
    expect(logs).not.toContain(temp.connection.refresh!.refreshToken!);
    const state = JSON.parse(readFileSync(path.join(temp.dir, '.restq', 'state.json'), 'utf8')) as { connections: { api: { refreshToken: string; expiresAt: number } } };
    expect(state.connections.api.refreshToken).toBe(server.currentRefreshToken());
    expect(state.connections.api.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('body client auth with params as a map; client_credentials grant', async () => {
    const server = await api({ clientAuth: 'body', requiredTokenParams: { scope: 'x y' } });
    const temp = setup(server, `params: { scope: "x y" }`);
    const { clients } = await clientsFor(temp);
    expect(await getCount(clients)).toBe(137);
    expect(server.stats.lastClientAuth).toBe('body');
    expect(server.stats.lastTokenQuery).toBe('?scope=x+y');

    const cc = tempConfig(`
baseUrl: ${server.url}
apiKey: demo-client
apiSecret: ${CLIENT_SECRET}
grant: client_credentials
refresh:
  endpoint: ${server.url}/oauth/token
  params: { scope: "x y" }
`);
    cleanups.push(() => cc.cleanup());
    const c2 = await clientsFor(cc);
    expect(await getCount(c2.clients)).toBe(137);
    expect(server.stats.tokensIssued).toBe(2);
  });

  it('invalid_grant fails fast and tells how to re-seed; no secret in the message or logs', async () => {
    const server = await api();
    const temp = setup(server);
    // Spend the seed token elsewhere, so ours is already used.
    const dispatcher = createDispatcher(temp.connection);
    cleanups.push(() => dispatcher.close());
    const spend = createRefreshClient({ connection: temp.connection, dispatcher, redactor: temp.config.redactor, logger: memoryLogger().logger });
    const grant = await spend(temp.connection.refresh!.refreshToken);
    const { clients, lines } = await clientsFor(temp);
    const error = (await getCount(clients).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_INVALID_GRANT');
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/re-seed/i);
    expect(error.message).toContain('refresh.refreshToken');
    expect(server.stats.tokenRequests).toBe(2); // no retry of invalid_grant
    const secrets = [temp.connection.refresh!.refreshToken!, CLIENT_SECRET, grant.accessToken, grant.refreshToken!];
    for (const secret of secrets) {
      expect(error.message).not.toContain(secret);
      expect(lines.join('')).not.toContain(secret);
    }
  });

  it('retries 5xx from the token endpoint with backoff, then succeeds', async () => {
    const server = await api({ failTokenRequests: 2 });
    const temp = setup(server);
    const { clients } = await clientsFor(temp);
    expect(await getCount(clients)).toBe(137);
    expect(server.stats.tokenRequests).toBe(3);
  });

  it('a response without the token names the path and the top-level keys, never values', async () => {
    const server = await api({ tokenResponse: 'nested' });
    const temp = setup(server, 'accessTokenPath: $.data.accessToken');
    const { clients } = await clientsFor(temp);
    const error = (await getCount(clients).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_TOKEN_REFRESH');
    expect(error.message).toContain('$.data.accessToken');
    expect(error.message).toContain('top-level keys: data');
    expect(error.message).not.toMatch(/at-[0-9a-f]{24}|rt-[0-9a-f]{24}/);
  });

  it('encrypts the state file with RESTQ_SECRET_KEY; restq token shows fingerprints only', async () => {
    const server = await api();
    const key = randomBytes(32).toString('hex');
    const temp = setup(server);
    const seed = temp.connection.refresh!.refreshToken!;
    const { clients } = await clientsFor(temp, { RESTQ_SECRET_KEY: key });
    await getCount(clients);
    const text = readFileSync(path.join(temp.dir, '.restq', 'state.json'), 'utf8');
    expect(text).toContain('enc:v1:');
    for (const secret of [seed, server.currentRefreshToken(), CLIENT_SECRET]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/at-[0-9a-f]{24}/);

    const out = await run(TSX, [CLI, '--config', temp.dir, 'token', 'api'], { env: { ...process.env, RESTQ_SECRET_KEY: key } });
    expect(out.stdout).toContain('access token:    at-');
    expect(out.stdout).toMatch(/expires at: +\d{4}-/);
    expect(out.stdout).toMatch(/last refreshed: +\d{4}-.* by /);
    for (const secret of [seed, server.currentRefreshToken(), CLIENT_SECRET]) {
      expect(out.stdout + out.stderr).not.toContain(secret);
    }
    expect(out.stdout).not.toMatch(/at-[0-9a-f]{24}/);

    // Without the key the encrypted file is a clear error, not a silent reset.
    const noKey = await run(TSX, [CLI, '--config', temp.dir, 'token', 'api'], { env: { ...process.env, RESTQ_SECRET_KEY: '' } }).catch((e: { code: number; stderr: string }) => e);
    expect((noKey as { code: number }).code).toBe(1);
    expect((noKey as { stderr: string }).stderr).toContain('RESTQ_SECRET_KEY');
  });

  it('a corrupted state file is a clear error', async () => {
    const server = await api();
    const temp = setup(server);
    const file = path.join(temp.dir, '.restq', 'state.json');
    const { clients } = await clientsFor(temp);
    await getCount(clients);
    writeFileSync(file, '{"format":1,"connections":{"api":');
    const again = await clientsFor(temp);
    const error = (await getCount(again.clients).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_STATE');
    expect(error.message).toContain('corrupted');
    expect(error.message).toContain(file);
  });

  it('takes the expiry from the JWT exp claim when the response has no expires_in', async () => {
    const exp = Math.floor(Date.now() / 1000) + 900;
    const jwt = `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp, sub: 'x' })).toString('base64url')}.c2ln`;
    const server = await tokenServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: jwt })));
    const temp = tempConfig(`baseUrl: ${server.url}\ngrant: client_credentials\napiKey: id\napiSecret: s3cret-value\nrefresh: { endpoint: ${server.url}/token }`);
    cleanups.push(() => temp.cleanup());
    const dispatcher = createDispatcher(temp.connection);
    cleanups.push(() => dispatcher.close());
    const grant = await createRefreshClient({ connection: temp.connection, dispatcher, redactor: temp.config.redactor, logger: memoryLogger().logger })(undefined);
    expect(grant.expiresAt).toBe(exp * 1000);
  });

  it('a token endpoint that times out is retried, then fails with a clear error', async () => {
    let calls = 0;
    const server = await tokenServer(() => {
      calls++; // never answers
    });
    const temp = tempConfig(`baseUrl: ${server.url}\ngrant: client_credentials\napiKey: id\napiSecret: s3cret-value\nretry: { attempts: 2, baseDelay: 10ms, maxDelay: 20ms }\nrefresh: { endpoint: ${server.url}/token, timeout: 150ms }`);
    cleanups.push(() => temp.cleanup());
    const dispatcher = createDispatcher(temp.connection);
    cleanups.push(() => dispatcher.close());
    const refresh = createRefreshClient({ connection: temp.connection, dispatcher, redactor: temp.config.redactor, logger: memoryLogger().logger });
    const error = (await refresh(undefined).catch((e: unknown) => e)) as RestqError;
    expect(error.code).toBe('E_TOKEN_REFRESH');
    expect(error.permanent).toBe(false);
    expect(error.message).toContain('failed after 2 attempts');
    expect(error.message).toContain('timed out');
    expect(calls).toBe(2);
  });
});

/** A bare token endpoint for shapes the sample API does not produce. */
async function tokenServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
