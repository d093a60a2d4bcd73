import { randomBytes, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

/** A client registered with the token server: the key that verifies its assertions. */
export interface JwtClient {
  issuer: string;
  algorithm: 'RS256' | 'PS256' | 'ES256' | 'HS256';
  /** Public key (asymmetric) or the shared secret (HS256). */
  key: KeyObject | Uint8Array;
  keyId?: string;
  subject: string;
  /** Claims the assertion must carry besides the registered ones. */
  claims?: Record<string, unknown>;
}

export interface JwtBearerServer {
  url: string;
  tokenUrl: string;
  /** Every assertion received, verified or not, with its verdict. */
  requests: Array<{ assertion: string; ok: boolean; error?: string; payload?: JWTPayload }>;
  /** Access tokens issued (the API accepts only these). */
  issued: Set<string>;
  close(): Promise<void>;
}

/**
 * An RFC 7523 token endpoint that verifies what a real one does: the signature with the client's
 * registered key and algorithm, `kid`, iss/sub/aud, `exp` in the future and not too far
 * (lifetime), `iat` not in the future, a `jti` never seen before, and the extra claims. It issues
 * opaque access tokens; `/api/whoami` accepts only those.
 */
export async function startJwtBearerServer(clients: JwtClient[], options: { expiresIn?: number; maxLifetimeS?: number } = {}): Promise<JwtBearerServer> {
  const requests: JwtBearerServer['requests'] = [];
  const issued = new Set<string>();
  const seenJti = new Set<string>();
  let tokenUrl = '';
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/api/whoami') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      return token && issued.has(token) ? send(200, { data: [{ ok: true }] }) : send(401, { error: 'invalid_token' });
    }
    if (req.method !== 'POST' || req.url !== '/oauth/token') return send(404, { error: 'not_found' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const assertion = form.get('assertion') ?? '';
      const fail = (error: string) => {
        requests.push({ assertion, ok: false, error });
        send(400, { error: 'invalid_grant', error_description: error });
      };
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return fail(`unsupported grant_type ${form.get('grant_type')}`);
      void (async () => {
        try {
          const unverified = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString()) as JWTPayload;
          const client = clients.find((c) => c.issuer === unverified.iss);
          if (!client) return fail(`unknown issuer ${unverified.iss}`);
          const header = decodeProtectedHeader(assertion);
          if (client.keyId !== undefined && header.kid !== client.keyId) return fail(`kid ${header.kid} is not ${client.keyId}`);
          const { payload } = await jwtVerify(assertion, client.key, { algorithms: [client.algorithm], issuer: client.issuer, subject: client.subject, audience: tokenUrl, requiredClaims: ['iat', 'exp', 'jti'] });
          const now = Math.floor(Date.now() / 1000);
          if (payload.iat! > now + 5) return fail('iat in the future');
          if (payload.exp! - payload.iat! > (options.maxLifetimeS ?? 600)) return fail('lifetime too long');
          if (seenJti.has(payload.jti!)) return fail(`jti ${payload.jti} replayed`);
          seenJti.add(payload.jti!);
          for (const [claim, value] of Object.entries(client.claims ?? {})) if (payload[claim] !== value) return fail(`claim ${claim} missing`);
          const accessToken = `at-${randomBytes(12).toString('hex')}`;
          issued.add(accessToken);
          requests.push({ assertion, ok: true, payload });
          send(200, { access_token: accessToken, token_type: 'Bearer', expires_in: options.expiresIn ?? 3600 });
        } catch (error) {
          fail((error as Error).message);
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUrl = `${url}/oauth/token`;
  return {
    url,
    tokenUrl,
    requests,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
