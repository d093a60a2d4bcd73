import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RestqError } from '../errors/restq-error.js';

const PREFIX = 'enc:v1:';

/** Encrypts token state at rest (file and Redis stores) with AES-256-GCM. */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

/**
 * Parses RESTQ_SECRET_KEY: 32 random bytes as 64 hex characters or base64 (`openssl rand -hex 32`).
 * Any other value is a start-up error; undefined or empty means no encryption.
 */
export function parseSecretKey(value: string | undefined): Buffer | undefined {
  if (value === undefined || value === '') return undefined;
  const trimmed = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (!key || key.length !== 32) {
    throw new RestqError(
      'E_CONFIG',
      `RESTQ_SECRET_KEY must be 32 random bytes as 64 hex characters or base64 (got ${trimmed.length} characters); create one with: openssl rand -hex 32`,
      { permanent: true },
    );
  }
  return key;
}

export function createSecretBox(key: Buffer): SecretBox {
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new RestqError('E_STATE', 'stored token state is not encrypted but RESTQ_SECRET_KEY is set');
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new RestqError('E_STATE', 'cannot decrypt stored token state: RESTQ_SECRET_KEY differs from the key it was written with', { cause: error });
      }
    },
  };
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}
