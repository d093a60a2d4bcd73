import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpError } from '../../src/errors/http-error.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { connectionsYaml, tempConfigDir } from '../helpers/config-dir.js';
import { runCli } from '../helpers/run-cli.js';
import { createTestCa, startTls10Server, type TestCa, type TestHttpsServer } from '../helpers/test-ca.js';
import { memoryLogger, tempConfig } from '../helpers/temp-config.js';

/** A TLS 1.0-only server as a new user meets it: restq must say what to set, once. */
let ca: TestCa;
let caDir: string;
let caFile: string;
let legacy: TestHttpsServer | undefined;

beforeAll(async () => {
  ca = await createTestCa();
  caDir = mkdtempSync(path.join(tmpdir(), 'restq-ca-'));
  caFile = ca.writeCa(caDir);
  // As in tls.test.ts: no TLS 1.0 server here means these messages cannot be tested: fail, do not skip.
  legacy = await startTls10Server(ca);
  if (!legacy) throw new Error('this OpenSSL cannot negotiate TLS 1.0 even at DEFAULT@SECLEVEL=0: the TLS 1.0 messages of restq cannot be tested here');
});
afterAll(async () => {
  await legacy?.close();
  rmSync(caDir, { recursive: true, force: true });
});

describe('a TLS 1.0-only server', () => {
  it('securityProtocol Default: names the versions the server offers and the securityProtocol to set, no OpenSSL internals', async () => {
    if (!legacy) throw new Error('no TLS 1.0 server');
    const temp = tempConfig(`baseUrl: ${legacy.url}\naccessToken: t\nretry: { attempts: 1 }\ntls: { ca: ${caFile} }`);
    const { logger } = memoryLogger(temp.config);
    const clients = new ApiClients({ config: temp.config, logger });
    let error: HttpError | undefined;
    try {
      await clients.get('api').send({ method: 'GET', url: new URL(`${legacy.url}/`), headers: {} });
    } catch (e) {
      error = e as HttpError;
    } finally {
      await clients.close();
      temp.cleanup();
    }
    expect(error?.code).toBe('E_TLS');
    expect(error?.message).toBe(
      `GET ${legacy.url}/ failed: TLS handshake with 127.0.0.1:${new URL(legacy.url).port} failed: connection "api" uses securityProtocol: Default (TLS 1.2 or newer), but the server offers only TLS 1.0: set securityProtocol: TLS1.0 on connection "api" (a deprecated protocol; ask the API owner to enable TLS 1.2)`,
    );
    expect(error?.message).not.toMatch(/ssl3_|SSL routines|ERR_SSL|openssl/i);
  });

  it('securityProtocol TLS1.0: `restq run` warns about the deprecated protocol once, not twice', async () => {
    if (!legacy) throw new Error('no TLS 1.0 server');
    const project = tempConfigDir({
      'connections.yaml': connectionsYaml(legacy.url, ['accessToken: t', 'securityProtocol: TLS1.0', `tls: { ca: ${caFile} }`]),
      'jobs/count.yaml': 'connection: api\nscalar:\n  path: /\n  value: $.count\n',
    });
    try {
      const run = await runCli(['run', 'count', '--config', project.dir]);
      expect(run.stderr).not.toContain('error');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('1\n');
      expect(run.stderr.match(/deprecated protocol/g)).toHaveLength(1);
    } finally {
      project.cleanup();
    }
  });
});
