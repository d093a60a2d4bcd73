import { writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls, { type SecureVersion } from 'node:tls';
import { generate } from 'selfsigned';

export interface TestCa {
  caCert: string;
  /** A server certificate for 127.0.0.1 signed by the CA. */
  cert: string;
  key: string;
  /** A client certificate (CN restq-client) and key signed by the CA, for mutual TLS. */
  clientCert: string;
  clientKey: string;
  /** Writes the CA PEM into `dir` and returns its path. */
  writeCa(dir: string): string;
}

/** A throwaway CA and a 127.0.0.1 server certificate it signed (generated per test run). */
export async function createTestCa(): Promise<TestCa> {
  const ca = await generate([{ name: 'commonName', value: 'restq test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'restq-client' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return {
    caCert: ca.cert,
    cert: leaf.cert,
    key: leaf.private,
    clientCert: client.cert,
    clientKey: client.private,
    writeCa(dir) {
      const file = path.join(dir, 'test-ca.pem');
      writeFileSync(file, ca.cert);
      return file;
    },
  };
}

export interface TestHttpsServer {
  url: string;
  /** TLS versions the server negotiated, one per connection. */
  protocols: string[];
  /** CNs of client certificates presented (mutual TLS). */
  clients: string[];
  close(): Promise<void>;
}

/** An https server on 127.0.0.1 that speaks only the given TLS versions and answers {ok:true}. */
export async function startHttpsServer(ca: TestCa, minVersion: SecureVersion, maxVersion: SecureVersion = minVersion, options: { requireClientCert?: boolean } = {}): Promise<TestHttpsServer> {
  const protocols: string[] = [];
  const clients: string[] = [];
  const legacy = minVersion === 'TLSv1' || minVersion === 'TLSv1.1';
  const mtls = options.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: ca.caCert } : {};
  const server: Server = createHttpsServer({ cert: ca.cert, key: ca.key, minVersion, maxVersion, ...mtls, ...(legacy ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, count: 1 }));
  });
  server.on('secureConnection', (socket) => {
    protocols.push(String(socket.getProtocol()));
    const cn = socket.getPeerCertificate().subject?.CN;
    if (cn) clients.push(String(cn));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    protocols,
    clients,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TLS 1.0-only https server (at OpenSSL security level 0, as legacy servers need), or undefined
 * where this machine's OpenSSL cannot negotiate TLS 1.0 at all: a bare TLS socket pair is tried first.
 */
export async function startTls10Server(ca: TestCa): Promise<TestHttpsServer | undefined> {
  return (await canSpeakTls10(ca)) ? startHttpsServer(ca, 'TLSv1') : undefined;
}

async function canSpeakTls10(ca: TestCa): Promise<boolean> {
  const options = { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1' as const, ciphers: 'DEFAULT@SECLEVEL=0' };
  const server = tls.createServer({ ...options, cert: ca.cert, key: ca.key }, (socket) => socket.end());
  try {
    await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
    const port = (server.address() as { port: number }).port;
    return await new Promise<boolean>((resolve) => {
      const socket = tls.connect({ ...options, host: '127.0.0.1', port, ca: ca.caCert }, () => {
        resolve(socket.getProtocol() === 'TLSv1');
        socket.destroy();
      });
      socket.once('error', () => resolve(false));
    });
  } catch {
    return false;
  } finally {
    server.close();
  }
}
