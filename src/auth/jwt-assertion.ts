import { createHmac, randomUUID, sign, constants, type KeyObject } from 'node:crypto';
import { parsePrivateKey } from '../config/jwt-key.js';
import type { Connection } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';

/** RFC 7523 section 2.1: the grant type of a token request that carries a signed assertion. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Makes a fresh assertion (new `jti`, `iat` now) for each token request of a `jwt_bearer` connection. */
export type AssertionSigner = () => string;

/**
 * Builds the signer of a connection once: the key is parsed here (validate already checked it),
 * so a token request only signs. Claims: iss, sub, aud, iat, exp = iat + lifetime, a random jti,
 * plus `jwt.claims`.
 */
export function createAssertionSigner(connection: Connection, clock: () => number = Date.now): AssertionSigner {
  const jwt = connection.jwt;
  const name = connection.name;
  if (!jwt) throw new RestqError('E_CONFIG', `connection "${name}" has grant jwt_bearer but no jwt block`, { permanent: true });
  const algorithm = jwt.algorithm;
  const issuer = jwt.issuer ?? connection.apiKey;
  const audience = jwt.audience ?? connection.refresh?.endpoint;
  if (!issuer || !audience) throw new RestqError('E_CONFIG', `connection "${name}": jwt.issuer and jwt.audience (or apiKey and refresh.endpoint) are needed`, { permanent: true });
  const subject = jwt.subject ?? issuer;

  let signer: (input: string) => Buffer;
  if (algorithm === 'HS256') {
    const secret = connection.apiSecret;
    if (!secret) throw new RestqError('E_CONFIG', `connection "${name}": algorithm HS256 signs with apiSecret, which is not set`, { permanent: true });
    signer = (input) => createHmac('sha256', secret).update(input).digest();
  } else {
    const parsed = jwt.privateKey === undefined ? { problem: 'is missing' } : parsePrivateKey(jwt.privateKey, algorithm);
    if ('problem' in parsed) throw new RestqError('E_CONFIG', `connection "${name}": jwt.privateKey ${parsed.problem}`, { permanent: true });
    signer = keySigner(parsed.key, algorithm);
  }

  const header = base64url(JSON.stringify({ alg: algorithm, typ: 'JWT', ...(jwt.keyId ? { kid: jwt.keyId } : {}) }));
  return () => {
    const iat = Math.floor(clock() / 1000);
    const payload = { ...jwt.claims, iss: issuer, sub: subject, aud: audience, iat, exp: iat + Math.max(1, Math.round(jwt.lifetime / 1000)), jti: randomUUID() };
    const input = `${header}.${base64url(JSON.stringify(payload))}`;
    return `${input}.${base64url(signer(input))}`;
  };
}

function keySigner(key: KeyObject, algorithm: 'RS256' | 'PS256' | 'ES256'): (input: string) => Buffer {
  switch (algorithm) {
    case 'RS256':
      return (input) => sign('sha256', Buffer.from(input), key);
    case 'PS256':
      // RFC 7518 3.5: MGF1 with SHA-256 and a salt as long as the hash.
      return (input) => sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'ES256':
      // JWS wants the raw r||s signature, not DER.
      return (input) => sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  }
}
