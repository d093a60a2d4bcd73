/**
 * The `exp` claim of a JWT access token, in epoch milliseconds; undefined for opaque tokens.
 * Only read to schedule a refresh: the signature is the API's business, not ours.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) && claims.exp > 0 ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
