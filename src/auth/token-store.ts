/**
 * What a token store keeps per connection. Secrets (accessToken, refreshToken) are held in
 * clear only in memory; stores encrypt them at rest when RESTQ_SECRET_KEY is set.
 */
export interface TokenState {
  accessToken?: string | undefined;
  /** Epoch milliseconds; undefined when the lifetime is unknown (refresh on 401 only). */
  expiresAt?: number | undefined;
  /** Epoch milliseconds when this access token was obtained (to cap the skew at 20% of its lifetime). */
  obtainedAt?: number | undefined;
  /** The current (possibly rotated) refresh token. */
  refreshToken?: string | undefined;
  /** Bumped by every write; a 401 invalidates only the version that was used. */
  version: number;
  /** Who refreshed last (hostname:pid) and when (epoch ms), for `restq token`. */
  refreshedBy?: string | undefined;
  refreshedAt?: number | undefined;
  /**
   * A one-way hash of the refresh token / access token found in YAML when it seeded the store
   * (never the value), so a changed YAML value re-seeds and an unchanged one does not.
   */
  seedHash?: string | undefined;
  /**
   * When the token endpoint last answered `invalid_grant` for the stored refresh token (epoch
   * ms). Remembered so every run and worker fails fast instead of calling the endpoint again;
   * cleared by a re-seed (a new refreshToken in connections.yaml), a successful refresh, or
   * `restq token --refresh`.
   */
  invalidGrantAt?: number | undefined;
}

export interface RefreshContext {
  /** Aborts a refresh that outlives its caller or the lock. */
  signal: AbortSignal;
}

/**
 * Persists token state and serializes refreshes. The file store (standalone) serializes within
 * the process; the Redis store (distributed) holds a `SET NX PX` lock with fencing, so exactly
 * one worker of the fleet calls the token endpoint.
 */
export interface TokenStore {
  read(connection: string): Promise<TokenState | undefined>;
  /**
   * Runs `update` while holding the connection's refresh lock. `update` gets the state as
   * re-read under the lock (someone may have refreshed meanwhile) and returns the state to
   * write (the store sets `version` to current + 1) or undefined to leave it as it is. A caller
   * that cannot get the lock waits for the holder to finish and gets the state it wrote.
   * Resolves to the state after the call.
   */
  update(
    connection: string,
    update: (current: TokenState | undefined, ctx: RefreshContext) => Promise<Omit<TokenState, 'version'> | undefined>,
  ): Promise<TokenState | undefined>;
  close(): Promise<void>;
}
