import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** What `jwt.privateKey` holds: PEM text, or (when it is not PEM) a path relative to the config directory. */
export type PrivateKeySource = { pem: string; file?: string | undefined } | { problem: string };

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]+-----/;
/** Longer than any sensible path: a value this long is key material, read as a path it would only confuse. */
const MAX_PATH_CHARS = 1024;

/**
 * The PEM text of `jwt.privateKey`. Keys kept in environment variables often carry their line
 * breaks as the two characters `\n`: they are turned back into line breaks. Messages never
 * quote the value (it may be a key that lost its BEGIN line).
 */
export function readPrivateKeyPem(value: string, dir: string): PrivateKeySource {
  if (PEM_BEGIN.test(value)) return { pem: value.includes('\n') ? value : value.replace(/\\n/g, '\n') };
  if (value.includes('\n') || value.length > MAX_PATH_CHARS) {
    return { problem: 'is neither PEM text (-----BEGIN PRIVATE KEY----- …) nor a file path' };
  }
  const file = path.resolve(dir, value);
  if (!existsSync(file) || !statSync(file).isFile()) {
    return { problem: 'is not PEM text (-----BEGIN PRIVATE KEY----- …), and no file of that name exists (a path is read relative to the config directory)' };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { problem: `names a file restq cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (!PEM_BEGIN.test(text)) return { problem: 'names a file that holds no PEM text (-----BEGIN PRIVATE KEY----- …)' };
  return { pem: text, file };
}

/** The key type and curve each signing algorithm needs, in words for messages. */
const NEEDS: Record<'RS256' | 'PS256' | 'ES256', string> = {
  RS256: 'an RSA private key (2048 bits or more)',
  PS256: 'an RSA private key (2048 bits or more)',
  ES256: 'an EC private key on the P-256 curve (prime256v1)',
};

const MIN_RSA_BITS = 2048;

/** Parses the PEM and checks that it fits `algorithm`; returns the key or a problem that never quotes it. */
export function parsePrivateKey(pem: string, algorithm: 'RS256' | 'PS256' | 'ES256'): { key: KeyObject } | { problem: string } {
  if (/-----BEGIN (?:RSA |EC )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(pem) && !/PRIVATE KEY-----/.test(pem)) {
    return { problem: `holds a public key or certificate: ${algorithm} signs with the private key` };
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    return { problem: 'is an encrypted (password-protected) key: export it without a passphrase (openssl pkcs8 -topk8 -nocrypt) and keep it secret another way' };
  }
  let key: KeyObject;
  try {
    // node:crypto loads only for a jwt_bearer connection: `restq validate` of any other config skips it (~4 ms).
    key = process.getBuiltinModule('node:crypto').createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return { problem: 'does not parse as a PEM private key (PKCS#8 "BEGIN PRIVATE KEY", PKCS#1 "BEGIN RSA PRIVATE KEY" or SEC1 "BEGIN EC PRIVATE KEY")' };
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  const fits =
    algorithm === 'ES256'
      ? type === 'ec' && details?.namedCurve === 'prime256v1'
      : (type === 'rsa' || (algorithm === 'PS256' && type === 'rsa-pss')) && (details?.modulusLength ?? 0) >= MIN_RSA_BITS;
  if (!fits) {
    const found = type === 'ec' ? `an EC key${details?.namedCurve ? ` on ${details.namedCurve}` : ''}` : type === 'rsa' || type === 'rsa-pss' ? `an RSA key of ${details?.modulusLength ?? '?'} bits` : `a ${type ?? 'unknown'} key`;
    return { problem: `is ${found}: algorithm ${algorithm} needs ${NEEDS[algorithm]}` };
  }
  return { key };
}
