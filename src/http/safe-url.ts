import type { Redactor } from '../config/redactor.js';

/** A URL fit for messages and logs: no userinfo, secret values replaced by fingerprints. */
export function safeUrl(url: URL | string, redactor?: Redactor): string {
  const copy = new URL(String(url));
  copy.username = '';
  copy.password = '';
  const text = copy.toString();
  return redactor ? redactor.redact(text) : text;
}
