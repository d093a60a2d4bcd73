import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RestqError } from '../errors/restq-error.js';

const PREFIX = 'enc:v1:';

/** Encrypts token state at rest (file and Redis stores) with AES-256-GCM; the key is RESTQ_SECRET_KEY (runtime/settings.ts). */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
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
