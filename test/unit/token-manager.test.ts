import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../src/auth/memory-token-store.js';
import type { TokenGrant } from '../../src/auth/refresh-client.js';
import { isFresh, seedHash, TokenManager } from '../../src/auth/token-manager.js';
import { jwtExpiry } from '../../src/auth/jwt-expiry.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { tempConfig, type TempConfig } from '../helpers/temp-project.js';

let temp: TempConfig | undefined;
afterEach(() => {
  temp?.cleanup();
  temp = undefined;
});

/** A refresh-token connection whose YAML seeds `refreshToken`; `extra` is more YAML at the end. */
function connection(extra = '', refreshToken = 'seed-refresh-token') {
  temp = tempConfig(`
baseUrl: http://127.0.0.1:9
apiKey: id
apiSecret: secret-value
refresh:
  endpoint: http://127.0.0.1:9/token
  refreshToken: ${refreshToken}
${extra}`);
  return temp.connection;
}

/** A refresher that issues numbered tokens, rotating the refresh token, and fails on reuse. */
function fakeRefresher(clock: { now: number }, lifetimeMs: number | undefined) {
  const used = new Set<string>();
  const calls: (string | undefined)[] = [];
  let n = 0;
  const refresher = async (refreshToken: string | undefined): Promise<TokenGrant> => {
    calls.push(refreshToken);
    if (refreshToken && used.has(refreshToken)) throw new Error('invalid_grant: reused');
    if (refreshToken) used.add(refreshToken);
    await new Promise((r) => setTimeout(r, 5)); // let concurrent callers pile up
    n++;
    return { accessToken: `access-${n}`, refreshToken: `rotated-${n}`, expiresAt: lifetimeMs === undefined ? undefined : clock.now + lifetimeMs };
  };
  return { refresher, calls };
}

describe('isFresh: skew', () => {
  it('refreshes 60 s before expiry for long-lived tokens', () => {
    const state = { version: 1, accessToken: 'a', obtainedAt: 0, expiresAt: 3_600_000 };
    expect(isFresh(state, 3_600_000 - 60_001)).toBe(true);
    expect(isFresh(state, 3_600_000 - 60_000)).toBe(false);
  });

  it('caps the skew at 20% of the lifetime, so a 2 s token is used for 1.6 s', () => {
    const state = { version: 1, accessToken: 'a', obtainedAt: 0, expiresAt: 2000 };
    expect(isFresh(state, 1599)).toBe(true);
    expect(isFresh(state, 1600)).toBe(false);
  });

  it('treats an unknown expiry as fresh (refresh on 401 only)', () => {
    expect(isFresh({ version: 1, accessToken: 'a' }, Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isFresh({ version: 1 }, 0)).toBe(false);
  });
});

describe('TokenManager', () => {
  it('50 concurrent callers across an expiry cause exactly one refresh', async () => {
    const clock = { now: 1_000_000 };
    const { refresher, calls } = fakeRefresher(clock, 10_000);
    const store = new MemoryTokenStore();
    const manager = new TokenManager({ connection: connection(), store, refresher, logger: memoryLogger().logger, clock: () => clock.now });
    const first = await manager.get();
    expect(first?.value).toBe('access-1');
    clock.now += 9_000; // past expiresAt - min(60 s, 20% of 10 s)
    const tokens = await Promise.all(Array.from({ length: 50 }, () => manager.get()));
    expect(new Set(tokens.map((t) => t?.value))).toEqual(new Set(['access-2']));
    expect(calls).toEqual(['seed-refresh-token', 'rotated-1']);
    expect(manager.refreshes).toBe(2);
  });

  it('a 401 invalidates only the version that was used', async () => {
    const clock = { now: 0 };
    const { refresher, calls } = fakeRefresher(clock, undefined);
    const manager = new TokenManager({ connection: connection(), store: new MemoryTokenStore(), refresher, logger: memoryLogger().logger, clock: () => clock.now });
    const old = (await manager.get())!;
    // Many requests made with `old` answer 401 at once: one refresh, then the stale 401s are no-ops.
    await Promise.all(Array.from({ length: 10 }, () => manager.invalidate(old)));
    expect(calls).toHaveLength(2);
    const fresh = (await manager.get())!;
    expect(fresh.value).toBe('access-2');
    expect(fresh.version).toBeGreaterThan(old.version);
    await manager.invalidate(old); // late 401 of the old version: nothing to do
    expect(calls).toHaveLength(2);
  });

  it('seeds from YAML once, keeps a rotated token, and re-seeds when the YAML value changes', async () => {
    const clock = { now: 0 };
    const store = new MemoryTokenStore();
    const { refresher, calls } = fakeRefresher(clock, undefined);
    const conn = connection();
    const logger = memoryLogger().logger;
    await new TokenManager({ connection: conn, store, refresher, logger }).get();
    const stored = await store.read('api');
    expect(stored?.refreshToken).toBe('rotated-1');
    expect(stored?.seedHash).toBe(seedHash(conn));
    expect(JSON.stringify(stored)).not.toContain('seed-refresh-token');

    // A restart with the same YAML keeps the rotated token.
    await new TokenManager({ connection: conn, store, refresher, logger }).invalidate({ value: 'access-1', version: stored!.version });
    expect(calls.at(-1)).toBe('rotated-1');

    // A changed YAML refresh token replaces the stored one.
    temp?.cleanup();
    const reseeded = new TokenManager({ connection: connection('', 'new-seed-token'), store, refresher, logger });
    expect((await reseeded.inspect()).reseedPending).toBe(true);
    const before = calls.length;
    await reseeded.get();
    expect(calls.slice(before)).toEqual(['new-seed-token']);
    expect((await reseeded.inspect()).reseedPending).toBe(false);
  });

  it('reads the lifetime from a JWT exp claim when the response has no expires_in', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 2_000_000_000 })).toString('base64url');
    expect(jwtExpiry(`eyJhbGciOiJub25lIn0.${payload}.sig`)).toBe(2_000_000_000_000);
    expect(jwtExpiry('opaque-token')).toBeUndefined();
  });
});
