/** First 4 characters and the length: enough to tell tokens apart, useless to an attacker. */
export function fingerprint(secret: string): string {
  return `${secret.slice(0, 4)}…(${secret.length})`;
}

const MIN_SECRET_LENGTH = 4;

/**
 * Knows every secret value in play (from the config, and tokens obtained at run time) and
 * replaces them in any text before it is logged, printed or put in an error.
 */
export class Redactor {
  readonly #secrets = new Set<string>();

  add(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
    this.#secrets.add(value);
    // Secrets also travel URL-encoded (form bodies, query strings).
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.#secrets.add(encoded);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(`[secret ${fingerprint(secret)}]`);
    }
    return out;
  }

  get size(): number {
    return this.#secrets.size;
  }
}
