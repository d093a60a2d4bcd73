/** Keys whose value is a secret wherever they appear in connections.yaml or a job file. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['accessToken', 'apiKey', 'apiSecret', 'refreshToken', 'password', 'secret']);

/** A `jwt.privateKey` value that names a key file rather than holding the key. */
const KEY_FILE_NAME = /^\S{1,1024}\.(?:pem|key|p8)$/i;

/** Names of headers, query parameters, params and form fields that carry credentials. */
const SECRET_NAME = /authorization|token|secret|passw|api[-_]?key|signature|credential|cookie/i;

/** Environment variables that hold credentials, by the usual naming conventions. */
export const SECRET_ENV_NAME = /TOKEN|SECRET|PASSW|KEY|CREDENTIAL|PRIVATE/i;

// `Authorization: Bearer xyz` in a header: the token alone may also travel elsewhere.
const AUTH_SCHEME = /^(?:Bearer|Basic|Token|Digest)\s+(\S+)$/i;

function addNamed(name: string, value: unknown, add: (secret: string) => void): void {
  if (!SECRET_NAME.test(name) || (typeof value !== 'string' && typeof value !== 'number')) return;
  const text = String(value);
  add(text);
  const scheme = AUTH_SCHEME.exec(text);
  if (scheme) add(scheme[1]!);
}

/**
 * Finds every secret value in a parsed (and interpolated) config file, so the redactor knows
 * them before any message is printed, even for entries that fail validation.
 */
export function collectSecrets(data: unknown, add: (secret: string) => void): void {
  if (Array.isArray(data)) {
    for (const item of data) collectSecrets(item, add);
    return;
  }
  if (data === null || typeof data !== 'object') return;
  for (const [key, value] of Object.entries(data)) {
    if (SECRET_KEYS.has(key) && typeof value === 'string') add(value);
    // jwt.privateKey: the PEM text is a secret; a file name is not (the loader adds the file's text).
    if (key === 'privateKey' && typeof value === 'string' && !KEY_FILE_NAME.test(value)) add(value);
    if (key === 'headers' || key === 'query' || key === 'params') {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [name, entry] of Object.entries(value)) addNamed(name, entry, add);
      } else if (typeof value === 'string') {
        // refresh.params as a query string: "client_secret=…&scope=read".
        for (const [name, entry] of new URLSearchParams(value)) addNamed(name, entry, add);
      }
    }
    collectSecrets(value, add);
  }
}
