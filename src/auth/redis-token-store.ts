import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from '../redis/redis-connection.js';
import { isRestqError, RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from './secret-box.js';
import type { RefreshContext, TokenState, TokenStore } from './token-store.js';

export interface RedisTokenStoreOptions {
  /** A connected ioredis client; the store duplicates it once for its subscriber. */
  redis: RedisClient;
  /** close() also closes `redis` (the store was given a connection of its own). @default false */
  ownsConnection?: boolean;
  /** Key prefix, the same as the queue's (`RESTQ_PREFIX`). @default "restq" */
  prefix?: string;
  /** Seals accessToken and refreshToken at rest (RESTQ_SECRET_KEY). */
  secretBox?: SecretBox | undefined;
  /** Lifetime of the refresh lock. @default 45000 */
  lockTtlMs?: number;
  /**
   * When `ctx.signal` aborts the refresh, well before the lock expires, so a slow token
   * endpoint never outlives the lock. @default two thirds of lockTtlMs
   */
  refreshDeadlineMs?: number;
  /** How often waiters check the lock besides listening for the publish. @default 100 */
  pollIntervalMs?: number;
  /** How long a caller waits for another worker's refresh before giving up. @default lockTtlMs + 5000 */
  waitTimeoutMs?: number;
  /** Written as refreshedBy. @default "hostname:pid" */
  owner?: string;
  logger?: Logger;
  /** @default Date.now */
  now?: () => number;
}

/** Releases the lock only if it is still ours (compare-and-delete). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Fenced write: accepted only while the caller still holds the lock (or, if the lock expired
 * and nobody took it, while the version is still the one the caller read), and only if no
 * other write happened since that read. Replaces the whole state and bumps the version.
 * KEYS: state, lock. ARGV: lock value, expected version, field, value, field, value…
 */
const WRITE = `
local holder = redis.call('GET', KEYS[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if (holder and holder ~= ARGV[1]) or current ~= tonumber(ARGV[2]) then return -1 end
local next = current + 1
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', next, unpack(ARGV, 3))
return next`;

const SECRET_FIELDS = ['accessToken', 'refreshToken'] as const;
const NUMBER_FIELDS = ['expiresAt', 'obtainedAt', 'refreshedAt', 'invalidGrantAt'] as const;

/**
 * Token state in Redis shared by every worker (SPEC 5): one hash per connection with a
 * version, a `SET NX PX` lock with a random value so exactly one worker of the fleet calls the
 * token endpoint, a fenced Lua write, compare-and-delete release and a publish that wakes the
 * waiters (who also poll, with a deadline, in case they miss it).
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisClient;
  readonly #ownsConnection: boolean;
  readonly #prefix: string;
  readonly #box: SecretBox | undefined;
  readonly #lockTtl: number;
  readonly #refreshDeadline: number;
  readonly #poll: number;
  readonly #waitTimeout: number;
  readonly #owner: string;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  /** One update per connection at a time within this process; others share its outcome. */
  readonly #local = new Map<string, Promise<TokenState | undefined>>();
  readonly #wakers = new Map<string, Set<() => void>>();
  #subscriber: RedisClient | undefined;
  #subscribing: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisTokenStoreOptions) {
    this.#redis = options.redis;
    this.#ownsConnection = options.ownsConnection ?? false;
    this.#prefix = options.prefix ?? 'restq';
    this.#box = options.secretBox;
    this.#lockTtl = options.lockTtlMs ?? 45_000;
    this.#refreshDeadline = options.refreshDeadlineMs ?? Math.floor((this.#lockTtl * 2) / 3);
    if (this.#refreshDeadline >= this.#lockTtl) {
      throw new RestqError('E_CONFIG', `token refresh deadline (${this.#refreshDeadline} ms) must be shorter than the lock TTL (${this.#lockTtl} ms)`, { permanent: true });
    }
    this.#poll = options.pollIntervalMs ?? 100;
    this.#waitTimeout = options.waitTimeoutMs ?? this.#lockTtl + 5_000;
    this.#owner = options.owner ?? `${hostname()}:${process.pid}`;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** The Redis key of a connection's state hash (the lock and channel add suffixes). */
  stateKey(connection: string): string {
    return `${this.#prefix}:token:${connection}`;
  }

  #lockKey(connection: string): string {
    return `${this.stateKey(connection)}:lock`;
  }

  #channel(connection: string): string {
    return `${this.stateKey(connection)}:updated`;
  }

  async read(connection: string): Promise<TokenState | undefined> {
    const hash = await this.#redis.hgetall(this.stateKey(connection));
    return this.#decode(hash);
  }

  async update(
    connection: string,
    update: (current: TokenState | undefined, ctx: RefreshContext) => Promise<Omit<TokenState, 'version'> | undefined>,
  ): Promise<TokenState | undefined> {
    const running = this.#local.get(connection);
    if (running) {
      await running.catch(() => undefined);
      return this.read(connection);
    }
    const promise = this.#updateFleetWide(connection, update);
    this.#local.set(connection, promise);
    try {
      return await promise;
    } finally {
      this.#local.delete(connection);
    }
  }

  async #updateFleetWide(
    connection: string,
    update: (current: TokenState | undefined, ctx: RefreshContext) => Promise<Omit<TokenState, 'version'> | undefined>,
  ): Promise<TokenState | undefined> {
    const lockKey = this.#lockKey(connection);
    const lockValue = randomBytes(16).toString('hex');
    const deadline = this.#now() + this.#waitTimeout;
    let seenVersion: number | undefined;
    for (;;) {
      const acquired = await this.#redis.set(lockKey, lockValue, 'PX', this.#lockTtl, 'NX');
      if (acquired === 'OK') return this.#updateHoldingLock(connection, lockValue, update);
      seenVersion ??= (await this.read(connection))?.version ?? 0;
      // Another worker is refreshing: wait for its publish (or poll) and take what it wrote.
      // If it wrote nothing (it failed, or its lock expired), try to take the lock ourselves.
      if (this.#now() < deadline && (await this.#waitForRelease(connection, deadline))) {
        const state = await this.read(connection);
        if ((state?.version ?? 0) !== seenVersion) return state;
        continue;
      }
      if (this.#closed) throw new RestqError('E_TOKEN_REFRESH', `token store closed while waiting for the refresh lock of connection "${connection}"`);
      throw new RestqError(
        'E_TOKEN_REFRESH',
        `timed out after ${this.#waitTimeout} ms waiting for another worker to refresh the token of connection "${connection}" (lock ${lockKey})`,
      );
    }
  }

  async #updateHoldingLock(
    connection: string,
    lockValue: string,
    update: (current: TokenState | undefined, ctx: RefreshContext) => Promise<Omit<TokenState, 'version'> | undefined>,
  ): Promise<TokenState | undefined> {
    const lockKey = this.#lockKey(connection);
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new RestqError('E_TOKEN_REFRESH', `token refresh of connection "${connection}" took longer than ${this.#refreshDeadline} ms (the refresh lock lives ${this.#lockTtl} ms)`),
        ),
      this.#refreshDeadline,
    );
    timer.unref();
    try {
      // Re-read under the lock: another worker may have refreshed since the caller looked.
      const current = await this.read(connection);
      let next: Omit<TokenState, 'version'> | undefined;
      try {
        next = await update(current, { signal: controller.signal });
      } catch (error) {
        // invalid_grant: if another worker rotated the refresh token meanwhile (possible only
        // when a lock expired), its newer state is good; otherwise the refresh token is dead.
        if (isRestqError(error) && error.code === 'E_INVALID_GRANT') {
          const latest = await this.read(connection);
          if (latest && latest.version !== (current?.version ?? 0)) return latest;
        }
        throw error;
      }
      if (next === undefined) return current;
      const version = await this.#write(connection, lockValue, current?.version ?? 0, next);
      if (version < 0) {
        // Fencing: the lock expired while we waited and someone else wrote a newer state.
        this.#logger?.warn({ connection }, 'token refresh finished after the lock expired and a newer token was stored: keeping the newer one');
        return this.read(connection);
      }
      return { ...next, version };
    } finally {
      clearTimeout(timer);
      await this.#redis.eval(RELEASE, 1, lockKey, lockValue);
      await this.#redis.publish(this.#channel(connection), 'released');
    }
  }

  /** Writes `state` only if we still hold the lock and nobody wrote since `expectedVersion`. Returns the new version or -1. */
  async #write(connection: string, lockValue: string, expectedVersion: number, state: Omit<TokenState, 'version'>): Promise<number> {
    const fields: string[] = [];
    for (const name of SECRET_FIELDS) {
      const value = state[name];
      if (value !== undefined) fields.push(name, this.#box ? this.#box.seal(value) : value);
    }
    for (const name of NUMBER_FIELDS) {
      const value = state[name];
      if (value !== undefined) fields.push(name, String(value));
    }
    if (state.refreshedBy !== undefined || state.refreshedAt !== undefined) fields.push('refreshedBy', state.refreshedBy ?? this.#owner);
    if (state.seedHash !== undefined) fields.push('seedHash', state.seedHash);
    const result = await this.#redis.eval(WRITE, 2, this.stateKey(connection), this.#lockKey(connection), lockValue, String(expectedVersion), ...fields);
    return Number(result);
  }

  #decode(hash: Record<string, string>): TokenState | undefined {
    if (hash['version'] === undefined) return undefined;
    const state: TokenState = { version: Number(hash['version']) };
    for (const name of SECRET_FIELDS) {
      const value = hash[name];
      if (value !== undefined) state[name] = this.#box ? this.#box.open(value) : value;
    }
    for (const name of NUMBER_FIELDS) {
      const value = hash[name];
      if (value !== undefined) state[name] = Number(value);
    }
    if (hash['refreshedBy'] !== undefined) state.refreshedBy = hash['refreshedBy'];
    if (hash['seedHash'] !== undefined) state.seedHash = hash['seedHash'];
    return state;
  }

  /** Resolves true once the lock is gone (publish or poll), false at the deadline. */
  async #waitForRelease(connection: string, deadline: number): Promise<boolean> {
    await this.#subscribe();
    const lockKey = this.#lockKey(connection);
    const channel = this.#channel(connection);
    while (this.#now() < deadline && !this.#closed) {
      if ((await this.#redis.exists(lockKey)) === 0) return true;
      await new Promise<void>((resolve) => {
        const wakers = this.#wakers.get(channel) ?? new Set();
        this.#wakers.set(channel, wakers);
        const wake = () => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(this.#poll, Math.max(1, deadline - this.#now())));
        wakers.add(wake);
      });
    }
    return (await this.#redis.exists(lockKey)) === 0;
  }

  /** One subscriber connection per store, listening to every connection's channel. */
  async #subscribe(): Promise<void> {
    if (!this.#subscribing) {
      this.#subscribing = (async () => {
        const subscriber = this.#redis.duplicate();
        this.#subscriber = subscriber;
        subscriber.on('error', () => undefined); // reconnects on its own; waiters poll meanwhile
        subscriber.on('pmessage', (_pattern: string, channel: string) => {
          for (const wake of [...(this.#wakers.get(channel) ?? [])]) wake();
        });
        await subscriber.psubscribe(`${this.#prefix}:token:*:updated`);
      })().catch((error: unknown) => {
        // Polling alone still works; try subscribing again next time.
        this.#subscribing = undefined;
        this.#logger?.debug({ err: error }, 'token store subscriber unavailable, polling only');
      });
    }
    await this.#subscribing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wakers of this.#wakers.values()) for (const wake of [...wakers]) wake();
    this.#subscriber?.disconnect();
    if (this.#ownsConnection) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
