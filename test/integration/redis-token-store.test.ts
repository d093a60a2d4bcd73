import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../../src/auth/redis-token-store.js';
import { createSecretBox } from '../../src/auth/secret-box.js';
import { RestqError } from '../../src/errors/restq-error.js';
import type { TokenState } from '../../src/auth/token-store.js';
import { scanKeysAndValues } from '../helpers/redis-scan.js';

const url = inject('redisUrl');
const clients: Redis[] = [];
const stores: RedisTokenStore[] = [];

function client(): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  clients.push(redis);
  return redis;
}

function store(prefix: string, options: Partial<RedisTokenStoreOptions> = {}): RedisTokenStore {
  const s = new RedisTokenStore({ redis: client(), prefix, ...options });
  stores.push(s);
  return s;
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const fresh = (token: string, refreshToken = `rt-${token}`): Omit<TokenState, 'version'> => ({
  accessToken: token,
  refreshToken,
  expiresAt: Date.now() + 60_000,
  obtainedAt: Date.now(),
  refreshedBy: 'test',
  refreshedAt: Date.now(),
});

let admin: Redis;
const prefixes: string[] = [];
const newPrefix = () => {
  const p = `restq-test-${randomUUID()}`;
  prefixes.push(p);
  return p;
};

beforeAll(() => {
  admin = client();
});

afterAll(async () => {
  for (const s of stores) await s.close();
  for (const p of prefixes) {
    const keys = await admin.keys(`${p}:*`);
    if (keys.length) await admin.del(...keys);
  }
  for (const c of clients) c.disconnect();
});

describe('RedisTokenStore', () => {
  it('writes a version-bumped state hash and reads it back', async () => {
    const prefix = newPrefix();
    const s = store(prefix);
    expect(await s.read('crm')).toBeUndefined();
    const first = await s.update('crm', async (current) => {
      expect(current).toBeUndefined();
      return fresh('at-1');
    });
    expect(first).toMatchObject({ accessToken: 'at-1', version: 1 });
    const second = await s.update('crm', async (current) => ({ ...fresh('at-2'), refreshToken: `${current?.refreshToken}-next` }));
    expect(second?.version).toBe(2);
    expect(await s.read('crm')).toMatchObject({ accessToken: 'at-2', refreshToken: 'rt-at-1-next', version: 2, refreshedBy: 'test' });
    expect(await admin.hget(s.stateKey('crm'), 'version')).toBe('2');
    // No lock is left behind.
    expect(await admin.exists(`${s.stateKey('crm')}:lock`)).toBe(0);
  });

  it('lets exactly one of many processes refresh; the others reuse what it wrote', async () => {
    const prefix = newPrefix();
    // 4 "processes" (own connections and stores) × 8 concurrent callers.
    const fleet = Array.from({ length: 4 }, () => store(prefix, { pollIntervalMs: 20 }));
    let endpointCalls = 0;
    const refresh = async (current: TokenState | undefined) => {
      if (current?.accessToken && (current.expiresAt ?? 0) > Date.now()) return undefined; // someone just refreshed
      endpointCalls++;
      await new Promise((r) => setTimeout(r, 50)); // a slow token endpoint
      return fresh(`at-${endpointCalls}`);
    };
    const results = await Promise.all(fleet.flatMap((s) => Array.from({ length: 8 }, () => s.update('crm', refresh))));
    expect(endpointCalls).toBe(1);
    expect(new Set(results.map((r) => r?.accessToken))).toEqual(new Set(['at-1']));
    expect(new Set(results.map((r) => r?.version))).toEqual(new Set([1]));
  });

  it('fences a holder paused past its lock TTL: it cannot overwrite the newer token', async () => {
    const prefix = newPrefix();
    const slow = store(prefix, { lockTtlMs: 200, refreshDeadlineMs: 100, pollIntervalMs: 10 });
    const other = store(prefix, { lockTtlMs: 5_000, pollIntervalMs: 10 });
    const lockKey = `${slow.stateKey('crm')}:lock`;
    const holding = deferred();
    const resume = deferred();
    let abortedBeforeLockExpired = false;
    // The slow holder's token endpoint answers only after another worker refreshed.
    const slowUpdate = slow.update('crm', async (_current, ctx) => {
      holding.resolve();
      await until(async () => ctx.signal.aborted);
      abortedBeforeLockExpired = (await admin.exists(lockKey)) === 1;
      await resume.promise; // paused (GC, stopped VM) and ignoring the abort
      return fresh('at-stale');
    });
    await holding.promise;
    const newer = await other.update('crm', async () => fresh('at-newer'));
    expect(newer).toMatchObject({ accessToken: 'at-newer', version: 1 });
    resume.resolve();
    const stale = await slowUpdate;
    expect(abortedBeforeLockExpired).toBe(true);
    expect(stale).toMatchObject({ accessToken: 'at-newer', version: 1 });
    expect(await other.read('crm')).toMatchObject({ accessToken: 'at-newer', refreshToken: 'rt-at-newer', version: 1 });
  });

  it('on invalid_grant re-reads the store: a token another worker rotated meanwhile is used, else the error stands', async () => {
    const prefix = newPrefix();
    const slow = store(prefix, { lockTtlMs: 150, refreshDeadlineMs: 100, pollIntervalMs: 10 });
    const other = store(prefix, { pollIntervalMs: 10 });
    const holding = deferred();
    const resume = deferred();
    const invalidGrant = () => new RestqError('E_INVALID_GRANT', 'token endpoint answered invalid_grant', { permanent: true });
    const slowUpdate = slow.update('crm', async () => {
      holding.resolve();
      await resume.promise;
      throw invalidGrant(); // its refresh token was rotated by the other worker
    });
    await holding.promise;
    await other.update('crm', async () => fresh('at-rotated'));
    resume.resolve();
    expect(await slowUpdate).toMatchObject({ accessToken: 'at-rotated', version: 1 });
    // Nobody rotated: invalid_grant is the answer.
    await expect(other.update('crm', async () => { throw invalidGrant(); })).rejects.toMatchObject({ code: 'E_INVALID_GRANT' });
  });

  it('releases only its own lock (compare-and-delete)', async () => {
    const prefix = newPrefix();
    const s = store(prefix, { lockTtlMs: 100, refreshDeadlineMs: 50 });
    const lockKey = `${s.stateKey('crm')}:lock`;
    await s.update('crm', async () => {
      await until(async () => (await admin.exists(lockKey)) === 0);
      await admin.set(lockKey, 'someone-else', 'PX', 5_000);
      return undefined;
    });
    expect(await admin.get(lockKey)).toBe('someone-else');
  });

  it('wakes waiters on the publish, without waiting for their poll', async () => {
    const prefix = newPrefix();
    const holder = store(prefix);
    const waiter = store(prefix, { pollIntervalMs: 60_000 });
    const holding = deferred();
    const finish = deferred();
    const held = holder.update('crm', async () => {
      holding.resolve();
      await finish.promise;
      return fresh('at-published');
    });
    await holding.promise;
    const waited = waiter.update('crm', async () => {
      throw new Error('the waiter must not refresh');
    });
    // Let the waiter subscribe and find the lock taken.
    await new Promise((r) => setTimeout(r, 100));
    const released = Date.now();
    finish.resolve();
    await held;
    expect(await waited).toMatchObject({ accessToken: 'at-published' });
    expect(Date.now() - released).toBeLessThan(2_000);
  });

  it('gives up waiting at the deadline with a clear error', async () => {
    const prefix = newPrefix();
    const s = store(prefix, { waitTimeoutMs: 200, pollIntervalMs: 20 });
    await admin.set(`${s.stateKey('crm')}:lock`, 'stuck', 'PX', 10_000);
    await expect(s.update('crm', async () => fresh('never'))).rejects.toMatchObject({ code: 'E_TOKEN_REFRESH', message: expect.stringContaining('waiting for another worker') });
  });

  it('holds no clear token in Redis when RESTQ_SECRET_KEY is set', async () => {
    const prefix = newPrefix();
    const box = createSecretBox(randomBytes(32));
    const s = store(prefix, { secretBox: box });
    const accessToken = `at-${randomBytes(16).toString('hex')}`;
    const refreshToken = `rt-${randomBytes(16).toString('hex')}`;
    await s.update('crm', async () => ({ ...fresh(accessToken), refreshToken }));
    const dump = await scanKeysAndValues(admin, `${prefix}:*`);
    expect(dump.length).toBeGreaterThan(0);
    for (const text of dump) {
      expect(text).not.toContain(accessToken);
      expect(text).not.toContain(refreshToken);
    }
    expect(await admin.hget(s.stateKey('crm'), 'accessToken')).toMatch(/^enc:v1:/);
    expect(await s.read('crm')).toMatchObject({ accessToken, refreshToken });
    // A store with another key cannot read it, and says why.
    const wrongKey = store(prefix, { secretBox: createSecretBox(randomBytes(32)) });
    await expect(wrongKey.read('crm')).rejects.toMatchObject({ code: 'E_STATE' });
  });
});
