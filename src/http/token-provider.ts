/** An access token and the version it had in its store (used to invalidate only that one). */
export interface AccessToken {
  readonly value: string;
  readonly version: number;
}

/** Gives each API request a valid access token for one connection. */
export interface TokenProvider {
  /** Undefined when the connection sends no Authorization header. */
  get(signal?: AbortSignal): Promise<AccessToken | undefined>;
  /**
   * The API answered 401 to a request made with `used`: drop that version (if it is still the
   * current one) so the next `get` refreshes. Returns false when nothing can be refreshed.
   */
  invalidate(used: AccessToken, signal?: AbortSignal): Promise<boolean>;
  close?(): Promise<void>;
}

/** A fixed `accessToken` from connections.yaml: nothing to refresh. */
export class StaticTokenProvider implements TokenProvider {
  readonly #token: AccessToken | undefined;

  constructor(value: string | undefined) {
    this.#token = value ? { value, version: 0 } : undefined;
  }

  async get(): Promise<AccessToken | undefined> {
    return this.#token;
  }

  async invalidate(): Promise<boolean> {
    return false;
  }
}
