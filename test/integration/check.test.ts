import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../src/auth/memory-token-store.js';
import { checkConnection, formatCheckReport } from '../../src/commands/check.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { runCli } from '../helpers/run-cli.js';
import { createTestCa, startHttpsServer, type TestCa, type TestHttpsServer } from '../helpers/test-ca.js';
import { memoryLogger, tempConfig, type TempConfig } from '../helpers/temp-config.js';

let ca: TestCa;
let caDir: string;
let caFile: string;
beforeAll(async () => {
  ca = await createTestCa();
  caDir = mkdtempSync(path.join(tmpdir(), 'restq-check-ca-'));
  caFile = ca.writeCa(caDir);
});
afterAll(() => rmSync(caDir, { recursive: true, force: true }));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function config(yaml: string): TempConfig {
  const temp = tempConfig(yaml);
  cleanups.push(() => temp.cleanup());
  return temp;
}

async function https(min: 'TLSv1' | 'TLSv1.2', max: 'TLSv1' | 'TLSv1.3' = min === 'TLSv1' ? 'TLSv1' : 'TLSv1.3'): Promise<TestHttpsServer> {
  const server = await startHttpsServer(ca, min, max);
  cleanups.push(() => server.close());
  return server;
}

async function check(temp: TempConfig, path?: string) {
  const { logger, lines } = memoryLogger(temp.config);
  const report = await checkConnection({ config: temp.config, connection: 'api', path, logger, store: new MemoryTokenStore() });
  return { report, text: formatCheckReport('api', report), logs: lines.join('') };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const SECRET_TOKEN = 'static-token-ABCDEFGH123456';

describe('restq check', () => {
  it('healthy https connection: TLS version, certificate subject and expiry, token fingerprint, status and latency', async () => {
    const server = await https('TLSv1.2');
    const temp = config(`baseUrl: ${server.url}\naccessToken: ${SECRET_TOKEN}\ntls: { ca: ${caFile} }\ncheck: { path: /health }`);
    const { report, text } = await check(temp);
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.name)).toEqual(['proxy', 'tls', 'token', 'http']);
    const [proxy, tlsStep, token, http] = report.steps;
    expect(proxy!.detail).toBe('none (direct connection)');
    expect(tlsStep!.detail).toMatch(/^TLSv1\.3, certificate CN=127\.0\.0\.1 issued by CN=restq test CA, expires \d{4}-\d\d-\d\d \(in \d+/);
    expect(token!.detail).toMatch(/^fixed accessToken from connections\.yaml, stat…\(27\), expiry unknown/);
    expect(http!.detail).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/health answered 200$/);
    expect(text).toMatch(/connection "api": OK\n$/);
    expect(JSON.stringify(report)).not.toContain(SECRET_TOKEN);
  });

  it('wrong client secret: fails at the token step, says what to check, shows no secret', async () => {
    const api: SampleApi = await startSampleApi({ clientSecret: 'the-right-secret' });
    cleanups.push(() => api.close());
    const temp = config(`baseUrl: ${api.url}\napiKey: demo-client\napiSecret: wrong-secret-XYZ987\ngrant: client_credentials\nrefresh: { endpoint: ${api.url}/oauth/token }\nretry: { attempts: 1 }`);
    const { report, text, logs } = await check(temp, '/v1/orders/count');
    expect(report.ok).toBe(false);
    const failed = report.steps.find((s) => !s.ok)!;
    expect(failed.name).toBe('token');
    expect(failed.detail).toMatch(/rejected the client credentials \(401 invalid_client\): check apiKey, apiSecret/);
    expect(report.steps.map((s) => s.name)).toEqual(['proxy', 'tls', 'token']);
    expect(text).toMatch(/FAILED at step token/);
    expect(`${JSON.stringify(report)}${text}${logs}`).not.toContain('wrong-secret-XYZ987');
  });

  it('client_credentials that work: token refreshed, fingerprint and expiry; a second check takes it from the store', async () => {
    const api = await startSampleApi({ clientSecret: 'the-right-secret' });
    cleanups.push(() => api.close());
    const temp = config(`baseUrl: ${api.url}\napiKey: demo-client\napiSecret: the-right-secret\ngrant: client_credentials\nrefresh: { endpoint: ${api.url}/oauth/token }`);
    const store = new MemoryTokenStore();
    const { logger } = memoryLogger(temp.config);
    const first = await checkConnection({ config: temp.config, connection: 'api', path: '/v1/orders/count', logger, store });
    expect(first.ok).toBe(true);
    expect(first.steps[2]!.detail).toMatch(/^refreshed at http:\/\/127\.0\.0\.1:\d+\/oauth\/token \(client_credentials\), at-.{1,3}…\(\d+\), expires in (1h|60m)/);
    const second = await checkConnection({ config: temp.config, connection: 'api', path: '/v1/orders/count', logger, store });
    expect(second.steps[2]!.detail).toMatch(/^from the token store \(still valid\)/);
    expect(api.stats.tokensIssued).toBe(1);
  });

  it('connection refused: fails at TLS with what to change', async () => {
    const port = await closedPort();
    const temp = config(`baseUrl: https://127.0.0.1:${port}\ntls: { ca: ${caFile} }`);
    const { report } = await check(temp);
    expect(report.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({ name: 'tls', ok: false });
    expect(report.steps.at(-1)!.detail).toMatch(/nothing listens on 127\.0\.0\.1:\d+: check baseUrl/);
  });

  it('untrusted certificate: says to set tls.ca', async () => {
    const server = await https('TLSv1.2');
    const temp = config(`baseUrl: ${server.url}`);
    const { report } = await check(temp);
    expect(report.steps.at(-1)).toMatchObject({ name: 'tls', ok: false });
    expect(report.steps.at(-1)!.detail).toMatch(/set tls\.ca of connection "api"/);
  });

  it('a TLS1.0-only server with securityProtocol Default: says to set securityProtocol: TLS1.0', async () => {
    // The test must really run a TLS 1.0 server: first prove this OpenSSL negotiates TLS 1.0 at all.
    const server = await https('TLSv1');
    const probe = await new Promise<string | null>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: Number(new URL(server.url).port), ca: ca.caCert, minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(socket.getProtocol());
        socket.destroy();
      });
      socket.once('error', () => resolve(null));
    });
    expect(probe).toBe('TLSv1');
    const temp = config(`baseUrl: ${server.url}\ntls: { ca: ${caFile} }`);
    const { report } = await check(temp);
    expect(report.steps.at(-1)).toMatchObject({ name: 'tls', ok: false });
    expect(report.steps.at(-1)!.detail).toMatch(/the server only speaks TLS 1\.0: set securityProtocol: TLS1\.0 on connection "api"/);
    // The fix works: pinned to TLS1.0, the same check passes and reports the version.
    const pinned = config(`baseUrl: ${server.url}\nsecurityProtocol: TLS1.0\ntls: { ca: ${caFile} }\naccessToken: ${SECRET_TOKEN}`);
    const fixed = await check(pinned);
    expect(fixed.report.ok).toBe(true);
    expect(fixed.report.steps[1]!.detail).toMatch(/^TLSv1, certificate CN=127\.0\.0\.1/);
    expect(server.protocols).toContain('TLSv1');
  });

  it('CLI: --json prints {ok, steps}, exit 0 on 2xx and 1 on failure, no secret', async () => {
    const server = await https('TLSv1.2');
    const temp = config(`baseUrl: ${server.url}\naccessToken: ${SECRET_TOKEN}\ntls: { ca: ${caFile} }`);
    const ok = await runCli(['--config', temp.dir, 'check', 'api', '--json']);
    expect(ok.code).toBe(0);
    const parsed = JSON.parse(ok.stdout) as { ok: boolean; steps: { name: string; ok: boolean; detail: string; ms: number }[] };
    expect(parsed.ok).toBe(true);
    expect(Object.keys(parsed.steps[0]!).sort()).toEqual(['detail', 'ms', 'name', 'ok']);
    expect(ok.stdout + ok.stderr).not.toContain(SECRET_TOKEN);
    const port = await closedPort();
    const bad = config(`baseUrl: http://127.0.0.1:${port}\naccessToken: ${SECRET_TOKEN}`);
    const refused = await runCli(['--config', bad.dir, 'check', 'api']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/✗ http .*connection refused.*nothing listens on 127\.0\.0\.1:\d+: check baseUrl/);
    expect(refused.stdout).toMatch(/FAILED at step http/);
    expect(refused.stdout + refused.stderr).not.toContain(SECRET_TOKEN);
  });
});
