import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redactor } from '../config/redactor.js';
import type { Connection } from '../config/types.js';
import { isRestqError, RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import { jwtExpiry } from './jwt-expiry.js';
import type { TokenRefresher } from './refresh-client.js';
import type { AccessToken, TokenProvider } from '../http/token-provider.js';
import type { TokenState, TokenStore } from './token-store.js';

export interface TokenManagerOptions {
  connection: Connection;
  store: TokenStore;
  refresher: TokenRefresher;
  logger: Logger;
  /** Learns every token obtained, so logs and errors never show one. */
  redactor?: Redactor | undefined;
  /** @default Date.now */
  clock?: () => number;
  /** Refresh this long before expiry, capped at 20% of the token's lifetime. @default 60000 */
  skewMs?: number;
  /** Written as `refreshedBy`. @default "<hostname>:<pid>" */
  identity?: string;
  /** Called by close() (e.g. a token-endpoint dispatcher the manager owns). */
  onClose?: () => Promise<void>;
}

/** Share of a token's lifetime the skew may take at most, so a 2 s token is not refreshed on every request. */
const MAX_SKEW_SHARE = 0.2;

/**
 * A one-way fingerprint of the token values found in YAML, kept in the store next to the state
 * they seeded: a changed YAML value re-seeds, an unchanged one leaves a rotated token alone.
 */
export function seedHash(connection: Connection): string | undefined {
  const refreshToken = connection.refresh?.refreshToken;
  const accessToken = connection.accessToken;
  if (!refreshToken && !accessToken) return undefined;
  const hash = createHash('sha256').update(`restq-seed\0${connection.name}\0${refreshToken ?? ''}\0${accessToken ?? ''}`).digest('hex');
  return `sha256:${hash.slice(0, 32)}`;
}

/** Whether `state` holds an access token usable at `now` (expiry minus the capped skew). */
export function isFresh(state: TokenState | undefined, now: number, skewMs = 60_000): state is TokenState & { accessToken: string } {
  if (!state?.accessToken) return false;
  if (state.expiresAt === undefined) return true;
  const lifetime = state.obtainedAt === undefined ? Infinity : state.expiresAt - state.obtainedAt;
  const skew = Math.min(skewMs, Math.max(0, lifetime * MAX_SKEW_SHARE));
  return now < state.expiresAt - skew;
}

/**
 * The TokenProvider of a connection with `refresh`: hands out the stored access token until
 * `expiresAt - skew`, then refreshes through the store's lock. Within the process one refresh
 * runs at a time (single flight): concurrent callers wait for it and share its result. A 401
 * invalidates only the version that was used, so fifty 401s of one expired token cause one refresh.
 */
export class TokenManager implements TokenProvider {
  readonly #options: TokenManagerOptions;
  readonly #clock: () => number;
  readonly #skewMs: number;
  readonly #identity: string;
  #state: TokenState | undefined;
  #seeding: Promise<void> | undefined;
  #inflight: Promise<TokenState | undefined> | undefined;
  /** Refresh calls made by this manager (for tests and `restq token`). */
  refreshes = 0;

  constructor(options: TokenManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#skewMs = options.skewMs ?? 60_000;
    this.#identity = options.identity ?? `${hostname()}:${process.pid}`;
  }

  get connection(): Connection {
    return this.#options.connection;
  }

  async get(signal?: AbortSignal): Promise<AccessToken | undefined> {
    await this.#seed();
    if (isFresh(this.#state, this.#clock(), this.#skewMs)) return tokenOf(this.#state);
    const state = await untilAborted(this.#refresh((current) => !isFresh(current, this.#clock(), this.#skewMs)), signal);
    return tokenOf(this.#require(state));
  }

  async invalidate(used: AccessToken, signal?: AbortSignal): Promise<boolean> {
    await this.#seed();
    // Refresh only if the rejected version is still the current one; otherwise someone already did.
    await untilAborted(this.#refresh((current) => !current?.accessToken || current.version === used.version || !isFresh(current, this.#clock(), this.#skewMs)), signal);
    return true;
  }

  /** `restq token --refresh`: a refresh now, whatever the expiry. */
  async forceRefresh(signal?: AbortSignal): Promise<TokenState> {
    await this.#seed();
    const before = this.#state?.version;
    return this.#require(await untilAborted(this.#refresh((current) => current?.version === before || current === undefined || current.invalidGrantAt !== undefined, true), signal));
  }

  /**
   * The stored state without changing it, for `restq token`; `reseedPending` when the YAML token
   * differs from the one that seeded the store (the next use replaces the stored one).
   */
  async inspect(): Promise<{ state: TokenState | undefined; reseedPending: boolean }> {
    const state = await this.#options.store.read(this.connection.name);
    const hash = seedHash(this.connection);
    return { state, reseedPending: hash !== undefined && state?.seedHash !== hash };
  }

  async close(): Promise<void> {
    await this.#options.onClose?.();
  }

  #rememberedInvalidGrant(at: number): RestqError {
    const name = this.connection.name;
    return new RestqError(
      'E_INVALID_GRANT',
      `connection "${name}": the token endpoint refused the stored refresh token (invalid_grant) at ${new Date(at).toISOString()}; restq does not call it again with the same token. Put a new refresh token in connections.yaml (refresh.refreshToken) to re-seed, or run \`restq token ${name} --refresh\` to try once more`,
      { permanent: true },
    );
  }

  #require(state: TokenState | undefined): TokenState & { accessToken: string } {
    if (!state?.accessToken) {
      throw new RestqError('E_TOKEN_REFRESH', `connection "${this.connection.name}": no access token after a refresh`, { permanent: true });
    }
    return state as TokenState & { accessToken: string };
  }

  /** Once per manager: put the YAML refresh/access token in the store when it has none or when they changed. */
  #seed(): Promise<void> {
    this.#seeding ??= (async () => {
      const { store, connection, logger, redactor } = this.#options;
      const hash = seedHash(connection);
      let state = await store.read(connection.name);
      if (hash !== undefined && state?.seedHash !== hash) {
        const replaced = state?.refreshToken !== undefined;
        state = await store.update(connection.name, async (current) => {
          if (current?.seedHash === hash) return undefined;
          const accessToken = connection.accessToken;
          return {
            accessToken,
            expiresAt: accessToken ? jwtExpiry(accessToken) : undefined,
            obtainedAt: accessToken ? this.#clock() : undefined,
            refreshToken: connection.refresh?.refreshToken,
            seedHash: hash,
            refreshedBy: undefined,
            refreshedAt: undefined,
          };
        });
        if (replaced) logger.info(`connection "${connection.name}": the token in connections.yaml changed since it was seeded: it replaces the stored one (re-seed)`);
        else logger.info(`connection "${connection.name}": token store seeded from connections.yaml`);
      }
      redactor?.add(state?.accessToken);
      redactor?.add(state?.refreshToken);
      this.#state = state;
    })().catch((error: unknown) => {
      this.#seeding = undefined;
      throw error;
    });
    return this.#seeding;
  }

  /**
   * Single flight: joins the refresh in progress, or starts one that runs only if `needed(current)`
   * under the store's lock. It is shared, so no single caller's signal aborts it (it has its own
   * timeouts); callers stop waiting when theirs aborts.
   */
  #refresh(needed: (current: TokenState | undefined) => boolean, force = false): Promise<TokenState | undefined> {
    this.#inflight ??= (async () => {
      let failure: unknown;
      try {
        const { store, connection, refresher, logger, redactor } = this.#options;
        const state = await store.update(connection.name, async (current, ctx) => {
          if (!needed(current)) return undefined;
          // A refresh token the endpoint already refused stays refused: do not ask again.
          if (current?.invalidGrantAt !== undefined && !force) return undefined;
          this.refreshes++;
          const started = this.#clock();
          let grant: Awaited<ReturnType<TokenRefresher>>;
          try {
            grant = await refresher(current?.refreshToken, ctx.signal);
          } catch (error) {
            if (!(isRestqError(error) && error.code === 'E_INVALID_GRANT')) throw error;
            failure = error;
            // Remembered in the store (fenced like any write), so other workers fail fast too.
            logger.warn(`connection "${connection.name}": the token endpoint answered invalid_grant; remembered until the refresh token is re-seeded or \`restq token ${connection.name} --refresh\` is run`);
            return { ...current, invalidGrantAt: this.#clock() };
          }
          redactor?.add(grant.accessToken);
          redactor?.add(grant.refreshToken);
          const now = this.#clock();
          logger.info(
            { expiresAt: grant.expiresAt && new Date(grant.expiresAt).toISOString(), rotated: grant.refreshToken !== undefined, ms: now - started },
            'access token refreshed',
          );
          // The rotated refresh token is written with the access token, before anyone uses either.
          return {
            ...current,
            accessToken: grant.accessToken,
            expiresAt: grant.expiresAt,
            obtainedAt: now,
            refreshToken: grant.refreshToken ?? current?.refreshToken,
            refreshedBy: this.#identity,
            refreshedAt: now,
            invalidGrantAt: undefined,
          };
        });
        this.#state = state;
        if (failure) throw failure;
        if (state?.invalidGrantAt !== undefined && !isFresh(state, this.#clock(), this.#skewMs)) throw this.#rememberedInvalidGrant(state.invalidGrantAt);
        return state;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }
}

function tokenOf(state: TokenState & { accessToken: string }): AccessToken {
  return { value: state.accessToken, version: state.version };
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
