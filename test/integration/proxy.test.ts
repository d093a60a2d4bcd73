import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server as ProxyServer } from 'proxy-chain';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTokenStore } from '../../src/auth/open-token-store.js';
import { readSettings } from '../../src/runtime/settings.js';
import { tokenProviders } from '../../src/auth/token-providers.js';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import type { HttpError } from '../../src/errors/http-error.js';
import { ApiClients } from '../../src/http/api-clients.js';
import { startNtlmProxy, type NtlmProxy } from '../helpers/ntlm-proxy.js';
import { createTestCa, startHttpsServer, type TestCa, type TestHttpsServer } from '../helpers/test-ca.js';
import { memoryLogger, tempConfig } from '../helpers/temp-config.js';

const PROXY_PASSWORD = 'pr0xy-Pa55word!';
const CLIENT_SECRET = 'proxied-client-secret';

interface Seen {
  hostname: string;
  port: number;
  isHttp: boolean;
  method: string;
  url: string;
  username: string;
}

let ca: TestCa;
let caDir: string;
let https: TestHttpsServer;
let sample: SampleApi;
let proxy: ProxyServer;
const seen: Seen[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  ca = await createTestCa();
  caDir = mkdtempSync(path.join(tmpdir(), 'restq-proxy-'));
  ca.writeCa(caDir);
  https = await startHttpsServer(ca, 'TLSv1.2', 'TLSv1.3');
  proxy = new ProxyServer({
    port: 0,
    host: '127.0.0.1',
    prepareRequestFunction: ({ request, username, password, hostname, port, isHttp }) => {
      seen.push({ hostname, port, isHttp, method: request.method ?? '', url: request.url ?? '', username });
      return { requestAuthentication: username !== 'svc-etl' || password !== PROXY_PASSWORD };
    },
  });
  await proxy.listen();
});

afterAll(async () => {
  await proxy.close(true);
  await https.close();
  rmSync(caDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  seen.length = 0;
});

async function sampleApi(): Promise<SampleApi> {
  sample = await startSampleApi({ clientSecret: CLIENT_SECRET, refreshToken: `seed-${Date.now()}` });
  cleanups.push(() => sample.close());
  return sample;
}

async function clientsFor(yaml: string) {
  const temp = tempConfig(yaml);
  const { logger, lines } = memoryLogger(temp.config);
  const store = await openTokenStore({ config: temp.config, settings: readSettings({}) });
  const clients = new ApiClients({ config: temp.config, logger, tokens: tokenProviders({ config: temp.config, store, logger }) });
  cleanups.push(async () => {
    await clients.close();
    await store.close();
    temp.cleanup();
  });
  return { clients, lines, temp };
}

async function get(clients: ApiClients, url: string): Promise<number> {
  const response = await clients.get('api').send({ method: 'GET', url: new URL(url), headers: {} });
  await response.body.dump?.();
  return response.status;
}

const caFile = () => path.join(caDir, 'test-ca.pem');

function refreshingConnection(baseUrl: string, proxyYaml: string, refreshExtra = ''): string {
  return `
baseUrl: ${baseUrl}
apiKey: demo-client
apiSecret: ${CLIENT_SECRET}
tls: { ca: ${caFile()} }
retry: { attempts: 1 }
refresh:
  endpoint: ${sample.url}/oauth/token
  refreshToken: ${sample.currentRefreshToken()}
${refreshExtra}
${proxyYaml}`;
}

const basicProxy = (password = PROXY_PASSWORD) => `proxy: { host: 127.0.0.1, port: ${proxy.port}, username: svc-etl, password: "${password}" }`;

describe('proxy with Basic auth (proxy-chain)', () => {
  it('https API requests go through CONNECT and the token refresh goes through the same proxy', async () => {
    await sampleApi();
    const { clients } = await clientsFor(refreshingConnection(https.url, basicProxy()));
    expect(await get(clients, `${https.url}/v1/things`)).toBe(200);
    const port = Number(new URL(https.url).port);
    expect(seen.some((s) => s.method === 'CONNECT' && s.port === port && s.username === 'svc-etl')).toBe(true);
    const samplePort = Number(new URL(sample.url).port);
    expect(seen.some((s) => s.isHttp && s.method === 'POST' && s.port === samplePort && s.url.includes('/oauth/token'))).toBe(true);
    expect(sample.stats.tokensIssued).toBe(1);
  });

  it('plain http API requests go through it as a forward proxy', async () => {
    await sampleApi();
    const { clients } = await clientsFor(refreshingConnection(sample.url, basicProxy()));
    expect(await get(clients, `${sample.url}/v1/orders/count`)).toBe(200);
    const samplePort = Number(new URL(sample.url).port);
    expect(seen.filter((s) => s.isHttp && s.port === samplePort).map((s) => s.method)).toEqual(['POST', 'GET']);
  });

  it('refresh.proxy: false sends the token request directly', async () => {
    await sampleApi();
    const { clients } = await clientsFor(refreshingConnection(https.url, basicProxy(), '  proxy: false'));
    expect(await get(clients, `${https.url}/v1/things`)).toBe(200);
    expect(sample.stats.tokensIssued).toBe(1);
    expect(seen.some((s) => s.url.includes('/oauth/token'))).toBe(false);
    expect(seen.some((s) => s.method === 'CONNECT')).toBe(true);
  });

  it('reaches an https proxy over TLS (trusting tls.ca) for API and token requests', async () => {
    await sampleApi();
    const secureProxy = new ProxyServer({
      port: 0,
      host: '127.0.0.1',
      serverType: 'https',
      httpsOptions: { cert: ca.cert, key: ca.key },
      prepareRequestFunction: ({ request, username, password, hostname, port, isHttp }) => {
        seen.push({ hostname, port, isHttp, method: request.method ?? '', url: request.url ?? '', username });
        return { requestAuthentication: username !== 'svc-etl' || password !== PROXY_PASSWORD };
      },
    });
    await secureProxy.listen();
    cleanups.push(() => secureProxy.close(true));
    const yaml = `proxy: { protocol: https, host: 127.0.0.1, port: ${secureProxy.port}, username: svc-etl, password: "${PROXY_PASSWORD}" }`;
    const { clients } = await clientsFor(refreshingConnection(https.url, yaml));
    expect(await get(clients, `${https.url}/v1/things`)).toBe(200);
    // Both the API (https) and the token endpoint (http; undici tunnels it too behind an https proxy) went through it.
    expect(seen.map((s) => s.port).sort()).toEqual([Number(new URL(https.url).port), Number(new URL(sample.url).port)].sort());
    expect(sample.stats.tokensIssued).toBe(1);
  });

  it('a wrong password is a clear 407 error naming the proxy, never the password (CONNECT and forward)', async () => {
    for (const target of [`https://127.0.0.1:${new URL(https.url).port}`, 'http://127.0.0.1:9']) {
      const { clients, lines } = await clientsFor(`baseUrl: ${target}\naccessToken: static-token-1234\ntls: { ca: ${caFile()} }\nretry: { attempts: 1 }\n${basicProxy('wrong-Passw0rd')}`);
      const error = (await get(clients, `${target}/x`).catch((e: unknown) => e)) as HttpError;
      expect(error.code).toBe('E_PROXY');
      expect(error.status).toBe(407);
      expect(error.permanent).toBe(true);
      expect(error.message).toContain(`proxy http://127.0.0.1:${proxy.port}`);
      expect(error.message).toContain('svc-etl');
      for (const secret of ['wrong-Passw0rd', PROXY_PASSWORD, Buffer.from(`svc-etl:wrong-Passw0rd`).toString('base64')]) {
        expect(error.message).not.toContain(secret);
        expect(lines.join('')).not.toContain(secret);
      }
    }
  });
});

describe('proxy with NTLM auth', () => {
  let ntlm: NtlmProxy;
  beforeAll(async () => {
    ntlm = await startNtlmProxy({ domain: 'CORP', user: 'svc-etl', password: PROXY_PASSWORD });
  });
  afterAll(async () => {
    await ntlm.close();
  });

  const ntlmProxy = (password = PROXY_PASSWORD) => `proxy: { host: 127.0.0.1, port: ${ntlm.port}, domain: CORP, workstation: ETLHOST, username: svc-etl, password: "${password}" }`;

  it('performs the Type 1 / Type 2 / Type 3 handshake on CONNECT with a valid NTLMv2 response', async () => {
    await sampleApi();
    const { clients } = await clientsFor(refreshingConnection(https.url, ntlmProxy()));
    expect(await get(clients, `${https.url}/v1/things`)).toBe(200);
    const httpsTarget = `127.0.0.1:${new URL(https.url).port}`;
    const tokenTarget = `127.0.0.1:${new URL(sample.url).port}`;
    expect(ntlm.tunnels).toEqual(expect.arrayContaining([httpsTarget, tokenTarget]));
    const attempt = ntlm.attempts.find((a) => a.target === httpsTarget);
    expect(attempt).toMatchObject({ domain: 'CORP', user: 'svc-etl', workstation: 'ETLHOST', validNtlmV2: true });
    expect(ntlm.headers.join(' ')).not.toContain(PROXY_PASSWORD);
    expect(sample.stats.tokensIssued).toBe(1);
  });

  it('a wrong NTLM password is a clear 407 error naming the proxy, domain and user', async () => {
    const { clients, lines } = await clientsFor(`baseUrl: ${https.url}\naccessToken: static-token-1234\ntls: { ca: ${caFile()} }\nretry: { attempts: 1 }\n${ntlmProxy('not-the-password')}`);
    const error = (await get(clients, `${https.url}/x`).catch((e: unknown) => e)) as HttpError;
    expect(error.code).toBe('E_PROXY');
    expect(error.status).toBe(407);
    expect(error.message).toContain(`proxy http://127.0.0.1:${ntlm.port}`);
    expect(error.message).toContain('NTLM');
    expect(error.message).toContain('"svc-etl" in domain "CORP"');
    expect(ntlm.attempts.at(-1)?.validNtlmV2).toBe(false);
    expect(error.message + lines.join('')).not.toContain('not-the-password');
  });
});
