import { createHash, generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { authorizationUrl, pkcePair } from '../../src/auth/authorize.js';
import { createAssertionSigner } from '../../src/auth/jwt-assertion.js';
import { parsePrivateKey, readPrivateKeyPem } from '../../src/config/jwt-key.js';
import type { Connection } from '../../src/config/types.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function connection(jwt: Partial<NonNullable<Connection['jwt']>>, extra: Partial<Connection> = {}): Connection {
  return {
    name: 'erp',
    source: 'connections.yaml',
    baseUrl: 'https://erp.example.com/api',
    grant: 'jwt_bearer',
    refresh: { endpoint: 'https://erp.example.com/oauth/token' },
    jwt: { algorithm: 'RS256', lifetime: 300_000, claims: {}, ...jwt },
    ...extra,
  } as Connection;
}

describe('jwt_bearer assertions (RFC 7523) signed with node:crypto', () => {
  it.each([
    ['RS256', rsa],
    ['PS256', rsa],
    ['ES256', ec],
  ] as const)('%s verifies with the public key and carries the claims', async (algorithm, pair) => {
    const privateKey = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const sign = createAssertionSigner(connection({ algorithm, privateKey, issuer: 'svc', subject: 'etl@example.com', keyId: 'k-1', claims: { scope: 'read' } }), () => 1_800_000_000_000);
    const token = sign();
    expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, typ: 'JWT', kid: 'k-1' });
    const { payload } = await jwtVerify(token, pair.publicKey, { algorithms: [algorithm], currentDate: new Date(1_800_000_000_000) });
    expect(payload).toMatchObject({ iss: 'svc', sub: 'etl@example.com', aud: 'https://erp.example.com/oauth/token', iat: 1_800_000_000, exp: 1_800_000_300, scope: 'read' });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(sign()).not.toBe(token);
  });

  it('HS256 signs with apiSecret; issuer defaults to apiKey, subject to the issuer, audience to the token endpoint', async () => {
    const sign = createAssertionSigner(connection({ algorithm: 'HS256' }, { apiKey: 'client-7', apiSecret: 'a-shared-secret-of-some-length' }));
    const { payload } = await jwtVerify(sign(), new TextEncoder().encode('a-shared-secret-of-some-length'), { algorithms: ['HS256'] });
    expect(payload).toMatchObject({ iss: 'client-7', sub: 'client-7', aud: 'https://erp.example.com/oauth/token' });
  });

  it('keys: \\n-escaped PEM is restored, wrong types are named without the key', () => {
    const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    const escaped = readPrivateKeyPem(pem.trim().replace(/\n/g, '\\n'), '/nowhere');
    expect('pem' in escaped && parsePrivateKey(escaped.pem, 'RS256')).toHaveProperty('key');
    const wrong = parsePrivateKey(pem, 'ES256');
    expect(wrong).toEqual({ problem: 'is an RSA key of 2048 bits: algorithm ES256 needs an EC private key on the P-256 curve (prime256v1)' });
  });
});

describe('authorization request (PKCE S256, state, loopback redirect)', () => {
  it('the challenge is the SHA-256 of the verifier; the URL keeps the query of the endpoint and adds authorize.params', () => {
    const { verifier, challenge } = pkcePair();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
    const url = authorizationUrl(
      {
        name: 'crm',
        apiKey: 'client-1',
        authorize: { url: 'https://auth.example.com/authorize?tenant=acme', scope: 'openid offline_access', redirectPort: 8765, params: { access_type: 'offline', prompt: 'consent' } },
      } as unknown as Connection,
      'the-state',
      challenge,
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: 'acme',
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'http://127.0.0.1:8765/callback',
      scope: 'openid offline_access',
      state: 'the-state',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      access_type: 'offline',
      prompt: 'consent',
    });
  });
});
