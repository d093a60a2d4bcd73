import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpError } from '../../src/errors/http-error.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createTestCa, startHttpsServer, startTls10Server, type TestCa, type TestHttpsServer } from '../helpers/test-ca.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { tempConfig } from '../helpers/temp-project.js';

let ca: TestCa;
let caFile: string;
let caDir: string;
const servers: TestHttpsServer[] = [];

beforeAll(async () => {
  ca = await createTestCa();
  caDir = mkdtempSync(path.join(tmpdir(), 'restq-ca-'));
  caFile = ca.writeCa(caDir);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(caDir, { recursive: true, force: true });
});

async function server(min: tls.SecureVersion, max: tls.SecureVersion = min): Promise<TestHttpsServer> {
  const s = await startHttpsServer(ca, min, max);
  servers.push(s);
  return s;
}

/** One GET through a connection built from YAML, as `restq run` would send it. */
async function get(url: string, extra: string): Promise<{ status?: number; error?: HttpError; logs: string }> {
  const temp = tempConfig(`baseUrl: ${url}\naccessToken: tls-test-token\nretry: { attempts: 1 }\n${extra}`);
  const { logger, lines } = memoryLogger(temp.config);
  const clients = new ApiClients({ config: temp.config, logger });
  try {
    const response = await clients.get('api').send({ method: 'GET', url: new URL(`${url}/`), headers: {} });
    await response.body.dump?.();
    return { status: response.status, logs: lines.join('') };
  } catch (error) {
    return { error: error as HttpError, logs: lines.join('') };
  } finally {
    await clients.close();
    temp.cleanup();
  }
}

describe('TLS: securityProtocol and tls.*', () => {
  it('TLS1.2-only server + TLS1.2 with tls.ca: ok', async () => {
    const s = await server('TLSv1.2');
    const result = await get(s.url, `securityProtocol: TLS1.2\ntls: { ca: ${caFile} }`);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(s.protocols).toEqual(['TLSv1.2']);
  });

  it('pins the version: TLS1.2 against a server that also speaks TLS1.3 negotiates TLS1.2', async () => {
    const s = await server('TLSv1.2', 'TLSv1.3');
    expect((await get(s.url, `securityProtocol: TLS1.2\ntls: { ca: ${caFile} }`)).status).toBe(200);
    expect((await get(s.url, `tls: { ca: ${caFile} }`)).status).toBe(200);
    expect(s.protocols).toEqual(['TLSv1.2', 'TLSv1.3']);
  });

  it('TLS1.3-only server + TLS1.2: a clear failure naming the pinned version', async () => {
    const s = await server('TLSv1.3');
    const { error } = await get(s.url, `securityProtocol: TLS1.2\ntls: { ca: ${caFile} }`);
    expect(error?.code).toBe('E_TLS');
    expect(error?.message).toContain('pins TLS1.2 (securityProtocol)');
    expect(error?.message).toContain(`GET ${s.url}/`);
  });

  it('unknown CA: a clear failure that points at tls.ca', async () => {
    const s = await server('TLSv1.2', 'TLSv1.3');
    const { error } = await get(s.url, '');
    expect(error?.code).toBe('E_TLS');
    expect(error?.message).toContain('is not trusted');
    expect(error?.message).toContain('tls.ca');
  });

  it('rejectUnauthorized: false connects to an unknown CA and warns loudly', async () => {
    const s = await server('TLSv1.2', 'TLSv1.3');
    const result = await get(s.url, 'tls: { rejectUnauthorized: false }');
    expect(result.status).toBe(200);
    expect(result.logs).toContain('NOT checked');
  });

  it('sends the client certificate of tls.cert/tls.key to a server that requires one (mutual TLS)', async () => {
    const s = await startHttpsServer(ca, 'TLSv1.2', 'TLSv1.3', { requireClientCert: true });
    servers.push(s);
    writeFileSync(path.join(caDir, 'client.pem'), ca.clientCert);
    writeFileSync(path.join(caDir, 'client-key.pem'), ca.clientKey, { mode: 0o600 });
    const withCert = await get(s.url, `tls: { ca: ${caFile}, cert: ${path.join(caDir, 'client.pem')}, key: ${path.join(caDir, 'client-key.pem')} }`);
    expect(withCert.error).toBeUndefined();
    expect(withCert.status).toBe(200);
    expect(s.clients).toEqual(['restq-client']);
    const without = await get(s.url, `tls: { ca: ${caFile} }`);
    expect(without.error).toBeDefined();
    expect(without.status).toBeUndefined();
  });

  it('TLS1.0 against a TLS1.0-only legacy server (security level lowered for that connection only)', async () => {
    // The legacy server runs at OpenSSL security level 0 (DEFAULT@SECLEVEL=0), TLSv1 only. A
    // machine whose OpenSSL cannot do that at all cannot test this feature: say so, loudly.
    const s = await startTls10Server(ca);
    if (!s) throw new Error('this OpenSSL cannot negotiate TLS 1.0 even at DEFAULT@SECLEVEL=0: the TLS1.0 support of restq cannot be tested here');
    servers.push(s);
    const result = await get(s.url, `securityProtocol: TLS1.0\ntls: { ca: ${caFile} }`);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(s.protocols).toEqual(['TLSv1']);
    expect(result.logs).toContain('deprecated protocol');
    // Process-wide defaults are untouched: another connection of the same process refuses TLS 1.0.
    const strict = await get(s.url, `securityProtocol: TLS1.2\ntls: { ca: ${caFile} }`);
    expect(strict.error?.code).toBe('E_TLS');
    expect(s.protocols).toEqual(['TLSv1']);
  });
});
