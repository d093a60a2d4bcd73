import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationUrl, exchangeAuthorizationCode, pkcePair } from '../../src/auth/authorize.js';
import { openTokenStore } from '../../src/auth/open-token-store.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createDispatcher } from '../../src/http/dispatcher.js';
import { readSettings } from '../../src/runtime/settings.js';
import { tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { actAsBrowser, startOidcServer, type OidcServer } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/own-redis.js';
import { scanKeysAndValues } from '../helpers/redis-scan.js';
import { spawnRestq, type RestqProcess } from '../helpers/restq-process.js';
import { runCli } from '../helpers/run-cli.js';
import { memoryLogger } from '../helpers/temp-project.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const SECRET_KEY = randomBytes(32).toString('hex');
const CONFIDENTIAL_SECRET = `cs-${randomBytes(12).toString('hex')}`;

let oidc: OidcServer;
const ports: number[] = [];
const projects: ConfigDir[] = [];

beforeAll(async () => {
  for (let i = 0; i < 6; i++) ports.push(await freePort());
  const base = { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code' as const], redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/callback`) };
  oidc = await startOidcServer({
    // Short-lived access tokens, so the refresh after expiry is part of the test.
    accessTokenTtl: 6,
    clients: [
      { ...base, client_id: 'restq-public', token_endpoint_auth_method: 'none' },
      { ...base, client_id: 'restq-confidential', client_secret: CONFIDENTIAL_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
    ],
  });
});
afterAll(async () => {
  for (const p of projects) p.cleanup();
  await oidc?.close();
});

/** A project whose connection `crm` is an authorization_code connection of oidc-provider; its API is the provider's userinfo. */
function project(port: number, client: 'public' | 'confidential' = 'public'): ConfigDir {
  const dir = tempConfigDir({
    'connections.yaml': lines(
      'connections:',
      '  crm:',
      `    baseUrl: ${oidc.issuer}`,
      `    apiKey: restq-${client}`,
      ...(client === 'confidential' ? ['    apiSecret: ${CRM_CLIENT_SECRET}'] : []),
      '    grant: authorization_code',
      '    authorize:',
      `      url: ${oidc.issuer}/auth`,
      '      scope: "openid offline_access"',
      `      redirectPort: ${port}`,
      '      params: { prompt: consent }',
      '    refresh:',
      `      endpoint: ${oidc.issuer}/token`,
      ...(client === 'confidential' ? ['      clientAuth: basic'] : []),
      '    retry: { attempts: 2, baseDelay: 10ms }',
    ),
    '.env': lines(`CRM_CLIENT_SECRET=${CONFIDENTIAL_SECRET}`),
    'jobs/me.yaml': lines('connection: crm', 'scalar:', '  path: /me', '  value: $.sub', '  column: user', 'output:', '  - stdout:'),
  });
  projects.push(dir);
  return dir;
}

/** Starts `restq token crm --authorize --no-browser` and reads the authorization URL it prints. */
async function startAuthorize(dir: string, env: Record<string, string | undefined> = {}, extra: string[] = []): Promise<{ proc: RestqProcess; url: string }> {
  const proc = spawnRestq(['token', 'crm', '--authorize', '--no-browser', ...extra], { LOG_LEVEL: 'debug', RESTQ_SECRET_KEY: SECRET_KEY, ...env }, dir);
  await proc.waitForStderr(/Waiting for the redirect/, 20_000);
  const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m.exec(proc.stderr())?.[1];
  if (!url) throw new Error(`no authorization URL printed:\n${proc.stderr()}`);
  return { proc, url };
}

async function storedState(dir: string, env: Record<string, string | undefined> = {}) {
  const config = loadConfig({ dir, env: { CRM_CLIENT_SECRET: CONFIDENTIAL_SECRET } });
  const store = await openTokenStore({ config, settings: readSettings({ RESTQ_SECRET_KEY: SECRET_KEY, ...env }) });
  try {
    return await store.read('crm');
  } finally {
    await store.close();
  }
}

function expectNone(text: string, secrets: Array<string | undefined>): void {
  for (const secret of secrets) {
    expect(secret, 'a secret to look for').toBeTruthy();
    expect(text).not.toContain(secret);
    expect(text).not.toContain(encodeURIComponent(secret!));
  }
}

describe('grant authorization_code: restq token --authorize against oidc-provider', { timeout: 180_000 }, () => {
  it('runs the consent flow as a user would, stores the tokens, then refreshes with rotation', async () => {
    const dir = project(ports[0]!).dir;
    const env = { RESTQ_SECRET_KEY: SECRET_KEY };

    const before = await runCli(['--config', dir, 'run', 'me'], { env });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('run `restq token crm --authorize` first');

    const { proc, url } = await startAuthorize(dir);
    const authUrl = new URL(url);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${ports[0]}/callback`);
    expect(authUrl.searchParams.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(authUrl.searchParams.get('prompt')).toBe('consent');

    const browser = await actAsBrowser(url, { login: 'etl-user' });
    expect(browser.status).toBe(200);
    expect(browser.body).toContain('restq is authorized');
    expect(await proc.exited).toBe(0);
    const code = browser.redirect.searchParams.get('code')!;
    const exchange = oidc.grants.find((g) => g.grantType === 'authorization_code' && g.params['code'] === code);
    expect(exchange?.ok).toBe(true);

    const stored = await storedState(dir);
    expect(stored?.accessToken).toBeTruthy();
    expect(stored?.refreshToken).toBeTruthy();
    expect(stored?.expiresAt).toBeGreaterThan(Date.now());
    const out = proc.stdout();
    expect(out).toContain('(authorized now)');
    expect(out).toContain(`access token:    ${stored!.accessToken!.slice(0, 4)}…(${stored!.accessToken!.length})`);
    expect(out).toContain(`refresh token:   ${stored!.refreshToken!.slice(0, 4)}…(${stored!.refreshToken!.length})`);
    expect(out).toMatch(/expires at:\s+\d{4}-\d\d-\d\dT.*\(in \d+ s\)/);
    // The code, the verifier and the tokens are nowhere in the output (debug logs included) nor in clear on disk.
    const file = readFileSync(path.join(dir, '.restq', 'state.json'), 'utf8');
    expectNone(`${proc.stdout()}\n${proc.stderr()}\n${file}`, [code, exchange!.params['code_verifier'], stored!.accessToken, stored!.refreshToken]);

    // The connection now works like any refresh-token connection: a run with the stored token…
    const run = await runCli(['--config', dir, 'run', 'me'], { env });
    expect(run.stderr).not.toContain('error');
    expect(run.stdout.trim()).toBe('etl-user');

    // …and a refresh that rotates the refresh token and persists the new one.
    const refreshed = await runCli(['--config', dir, 'token', 'crm', '--refresh'], { env });
    expect(refreshed.code).toBe(0);
    expect(refreshed.stdout).toContain('(refreshed now)');
    const after = await storedState(dir);
    expect(after!.refreshToken).not.toBe(stored!.refreshToken);
    expect(after!.accessToken).not.toBe(stored!.accessToken);
    expect(after!.version).toBeGreaterThan(stored!.version);

    const again = await runCli(['--config', dir, 'run', 'me'], { env });
    expect(again.stdout.trim()).toBe('etl-user');

    // `restq check` shows the grant in its token step.
    const check = await runCli(['--config', dir, 'check', 'crm', '--path', '/me', '--json'], { env });
    expect(check.code, check.stderr).toBe(0);
    const token = (JSON.parse(check.stdout) as { steps: Array<{ name: string; ok: boolean; detail: string }> }).steps.find((s) => s.name === 'token')!;
    expect(token.ok).toBe(true);
    expect(token.detail).toMatch(/authorization_code/);

    // The provider rotated it: the old refresh token is dead, which is why restq must persist the
    // new one. Replaying it also makes oidc-provider revoke the whole grant (reuse detection)…
    const reuse = await fetch(`${oidc.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored!.refreshToken!, client_id: 'restq-public' }).toString(),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');

    // …after which restq says what to do: consent again.
    const revoked = await runCli(['--config', dir, 'run', 'me'], { env });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('rejected the refresh token');
    expect(revoked.stderr).toContain('run `restq token crm --authorize` again');
  });

  it('a confidential client (clientAuth basic) in distributed mode: tokens encrypted in Redis, one refresh per expiry across two workers', async () => {
    const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const prefix = `restq-oauth-${randomUUID()}`;
    const env = { REDIS_URL: redisUrl, RESTQ_PREFIX: prefix, RESTQ_SECRET_KEY: SECRET_KEY };
    const dir = project(ports[1]!, 'confidential').dir;

    const { proc, url } = await startAuthorize(dir, env);
    const browser = await actAsBrowser(url, { login: 'svc-owner' });
    expect(browser.status).toBe(200);
    expect(await proc.exited).toBe(0);
    const code = browser.redirect.searchParams.get('code')!;
    const exchange = oidc.grants.find((g) => g.grantType === 'authorization_code' && g.params['code'] === code)!;
    expect(exchange.ok).toBe(true);
    const stored = await storedState(dir, env);
    expect(stored?.refreshToken).toBeTruthy();

    const redis = new Redis(redisUrl);
    try {
      const dump = (await scanKeysAndValues(redis, `${prefix}*`)).join('\n');
      expect(dump).toContain('crm');
      expectNone(dump, [code, exchange.params['code_verifier'], stored!.accessToken, stored!.refreshToken, CONFIDENTIAL_SECRET]);

      // Wait until the stored access token is due for refresh, then start two workers at once.
      await new Promise((r) => setTimeout(r, Math.max(0, stored!.expiresAt! - Date.now() + 200)));
      const seenBefore = oidc.grants.length;
      const [a, b] = await Promise.all([runCli(['--config', dir, 'run', 'me'], { env }), runCli(['--config', dir, 'run', 'me'], { env })]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(a.stdout.trim()).toBe('svc-owner');
      expect(b.stdout.trim()).toBe('svc-owner');
      const refreshes = oidc.grants.slice(seenBefore).filter((g) => g.grantType === 'refresh_token');
      expect(refreshes.map((g) => g.ok)).toEqual([true]);
      const after = await storedState(dir, env);
      expect(after!.refreshToken).not.toBe(stored!.refreshToken);
    } finally {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    }
  });

  it('a tampered state is refused: exit 1, nothing exchanged, nothing stored', async () => {
    const dir = project(ports[2]!).dir;
    const { proc, url } = await startAuthorize(dir);
    const browser = await actAsBrowser(url, {
      rewriteRedirect: (u) => {
        const forged = new URL(u);
        forged.searchParams.set('state', `${u.searchParams.get('state')}x`);
        return forged;
      },
    });
    expect(browser.status).toBe(400);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain("the redirect's state does not match the one restq sent");
    expect(proc.stderr()).toContain('nothing was stored');
    const code = browser.redirect.searchParams.get('code')!;
    expect(oidc.grants.some((g) => g.params['code'] === code)).toBe(false);
    expect(await storedState(dir)).toBeUndefined();
    expectNone(proc.stderr() + proc.stdout(), [code]);
  });

  it('declined consent (error=access_denied) is a clear failure, nothing stored', async () => {
    const dir = project(ports[3]!).dir;
    const { proc, url } = await startAuthorize(dir);
    const browser = await actAsBrowser(url, { decline: true });
    expect(browser.redirect.searchParams.get('error')).toBe('access_denied');
    expect(browser.status).toBe(400);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain('the provider refused the authorization (access_denied');
    expect(proc.stderr()).toContain('Consent was declined');
    expect(await storedState(dir)).toBeUndefined();
  });

  it('a code exchanged with the wrong verifier is rejected by the provider with a clear message', async () => {
    const dir = project(ports[4]!).dir;
    const config = loadConfig({ dir, env: {} });
    const connection = config.connections['crm']!;
    const pkce = pkcePair();
    const url = authorizationUrl(connection, 'state-of-this-test', pkce.challenge);
    const browser = await actAsBrowser(url.href, { follow: false });
    const code = browser.redirect.searchParams.get('code')!;
    expect(code).toBeTruthy();
    const { logger } = memoryLogger(config);
    const dispatcher = createDispatcher(connection, { logger });
    try {
      const wrong = pkcePair().verifier;
      const failure = exchangeAuthorizationCode({ connection, dispatcher, redactor: config.redactor, logger, code, verifier: wrong });
      await expect(failure).rejects.toMatchObject({ code: 'E_INVALID_GRANT' });
      const message = await failure.then(
        () => '',
        (e: Error) => e.message,
      );
      expect(message).toContain('rejected the authorization code');
      expect(message).toContain('code_verifier');
      expect(message).toContain('restq token crm --authorize');
      expectNone(message, [code, wrong]);
    } finally {
      await dispatcher.close();
    }
  });

  it('no redirect before --timeout, and a redirect port in use: exit 1 with what to do', async () => {
    const dir = project(ports[5]!).dir;
    const timedOut = await runCli(['--config', dir, 'token', 'crm', '--authorize', '--no-browser', '--timeout', '1s']);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain(`no redirect reached http://127.0.0.1:${ports[5]}/callback within 1 s: nothing was stored`);

    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports[5], '127.0.0.1', resolve));
    try {
      const busy = await runCli(['--config', dir, 'token', 'crm', '--authorize', '--no-browser']);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain(`port ${ports[5]} on 127.0.0.1 is in use`);
      expect(busy.stderr).toContain('authorize.redirectPort');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    expect(await storedState(dir)).toBeUndefined();
  });
});
