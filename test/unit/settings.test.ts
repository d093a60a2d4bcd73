import { describe, expect, it } from 'vitest';
import { describeRedis, safeRedisUrl } from '../../src/redis/describe-redis.js';
import { keyPrefix } from '../../src/redis/key-prefix.js';
import { isDistributed, queueSettings, readSettings } from '../../src/runtime/settings.js';

const queue = (env: Record<string, string>) => queueSettings(readSettings(env));

describe('settings from the environment', () => {
  it('defaults: standalone, history 100, grace 30 s, no key, no tracing', () => {
    const s = readSettings({});
    expect(isDistributed(s)).toBe(false);
    expect(s).toMatchObject({ redis: null, queue: null, history: 100, shutdownGraceMs: 30_000, secretKey: undefined, otel: null, color: true });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.env)).toBe(true);
    expect(() => queueSettings(s)).toThrow(/REDIS_URL is not set/);
  });

  it('defaults queue and prefix to restq and keeps finished runs bounded', () => {
    const s = queue({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(s).toMatchObject({ queue: 'restq', prefix: 'restq', backoffMs: 10_000, shutdownGraceMs: 30_000, history: 100 });
    expect(s.redis).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(s.keepCompleted).toEqual({ count: 1000, ageSeconds: 7 * 86_400 });
    expect(s.keepFailed).toEqual({ count: 5000, ageSeconds: 30 * 86_400 });
  });

  it('reads RESTQ_* overrides, including a Redis Cluster hash-tag prefix', () => {
    const s = queue({
      REDIS_URL: 'rediss://cache:6380/2',
      RESTQ_QUEUE: 'etl',
      RESTQ_PREFIX: '{restq}',
      RESTQ_KEEP_COMPLETED: '50/1h',
      RESTQ_KEEP_FAILED: '10',
      RESTQ_SHUTDOWN_GRACE: '2m',
      RESTQ_BACKOFF: '500ms',
    });
    expect(s).toMatchObject({ queue: 'etl', prefix: '{restq}', shutdownGraceMs: 120_000, backoffMs: 500 });
    expect(s.keepCompleted).toEqual({ count: 50, ageSeconds: 3600 });
    expect(s.keepFailed).toEqual({ count: 10, ageSeconds: 30 * 86_400 });
    expect(readSettings({ RESTQ_HISTORY: '7', LOG_LEVEL: 'debug', NO_COLOR: '1', RESTQ_CONFIG_DIR: '/srv/restq' })).toMatchObject({
      history: 7,
      logLevel: 'debug',
      color: false,
      configDir: '/srv/restq',
    });
  });

  it('trims REDIS_URL the same way for the mode and the connection', () => {
    expect(isDistributed(readSettings({ REDIS_URL: ' ' }))).toBe(false);
    const s = readSettings({ REDIS_URL: '  redis://h:6379 \n' });
    expect(isDistributed(s)).toBe(true);
    expect(s.redis).toEqual({ kind: 'single', url: 'redis://h:6379' });
  });

  it('names the variable and the expected form when a value is wrong, all of them at once', () => {
    expect(() => readSettings({ REDIS_URL: 'redis://x', RESTQ_SHUTDOWN_GRACE: 'soon' })).toThrow(/RESTQ_SHUTDOWN_GRACE="soon" is not a duration/);
    expect(() => readSettings({ REDIS_URL: 'redis://x', RESTQ_LOCK_DURATION: '30d' })).toThrow(/RESTQ_LOCK_DURATION="30d" is longer than 24 days: restq waits with Node\.js timers/);
    expect(() => readSettings({ REDIS_URL: 'redis://x', RESTQ_KEEP_FAILED: 'all' })).toThrow(/RESTQ_KEEP_FAILED="all": expected "count" or "count\/age"/);
    expect(() => readSettings({ REDIS_URL: 'localhost:6379' })).toThrow(/must start with redis:\/\//);
    expect(() => readSettings({ RESTQ_HISTORY: '0' })).toThrow(/RESTQ_HISTORY="0" must be a positive integer/);
    const both = (() => {
      try {
        readSettings({ RESTQ_SHUTDOWN_GRACE: 'soon', RESTQ_HISTORY: 'many' });
      } catch (error) {
        return error as Error & { code: string };
      }
    })();
    expect(both?.code).toBe('E_CONFIG');
    expect(both?.message.split('\n')).toHaveLength(2);
  });

  it('RESTQ_CONFIG_WATCH: on by default, on/off in the usual spellings, anything else a clear error', () => {
    expect(readSettings({}).configWatch).toBe(true);
    for (const off of ['off', 'OFF', ' false ', 'no', '0']) expect(readSettings({ RESTQ_CONFIG_WATCH: off }).configWatch).toBe(false);
    for (const on of ['on', 'True', 'yes', '1', '']) expect(readSettings({ RESTQ_CONFIG_WATCH: on }).configWatch).toBe(true);
    let error: (Error & { code?: string }) | undefined;
    try {
      readSettings({ RESTQ_CONFIG_WATCH: 'sometimes', RESTQ_HISTORY: 'many' });
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error?.code).toBe('E_CONFIG');
    // Listed with the other malformed variables, naming the value and what is accepted.
    expect(error?.message.split('\n')).toEqual([
      'RESTQ_HISTORY="many" must be a positive integer',
      'RESTQ_CONFIG_WATCH="sometimes" must be on or off (also accepted: true/false, yes/no, 1/0), e.g. RESTQ_CONFIG_WATCH=off',
    ]);
  });

  it('validates RESTQ_SECRET_KEY (hex or base64 of 32 bytes) without echoing it', () => {
    const hex = 'ab'.repeat(32);
    expect(readSettings({ RESTQ_SECRET_KEY: hex }).secretKey).toEqual(Buffer.from(hex, 'hex'));
    expect(readSettings({ RESTQ_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') }).secretKey).toEqual(Buffer.alloc(32, 7));
    expect(readSettings({ RESTQ_SECRET_KEY: '' }).secretKey).toBeUndefined();
    let message = '';
    try {
      readSettings({ RESTQ_SECRET_KEY: 'not-a-key-hunter2' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/RESTQ_SECRET_KEY must be 32 random bytes .* \(got 17 characters\); create one with: openssl rand -hex 32/);
    expect(message).not.toContain('hunter2');
  });

  it('parses Sentinel and Cluster topologies, with credentials from REDIS_URL', () => {
    const sentinel = readSettings({
      REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2 ,[::1]:26380',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_URL: 'rediss://app:p%40ss@ignored:6379/3',
    });
    expect(sentinel.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      master: 'mymaster',
      username: 'app',
      password: 'p@ss',
      tls: true,
      db: 3,
    });
    expect(describeRedis(sentinel.redis!)).toBe('sentinel mymaster via 10.0.0.1:26379,10.0.0.2:26379,::1:26380');
    const cluster = readSettings({ REDIS_CLUSTER: 'n1:7000,n2:7001' });
    expect(cluster.redis).toEqual({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], tls: false });
    // Every key of a BullMQ script must hash to one slot on a cluster.
    expect(cluster.queue?.prefix).toBe('{restq}');
    expect(readSettings({ REDIS_CLUSTER: 'n1:7000', RESTQ_PREFIX: 'etl' }).queue?.prefix).toBe('{etl}');
    expect(keyPrefix('{etl}:x', 'cluster')).toBe('{etl}:x');
    expect(keyPrefix('etl', 'single')).toBe('etl');
  });

  it('rejects malformed or contradictory topologies with a clear error', () => {
    expect(() => readSettings({ REDIS_SENTINELS: 'a:1' })).toThrow(/REDIS_SENTINELS needs REDIS_SENTINEL_MASTER/);
    expect(() => readSettings({ REDIS_SENTINEL_MASTER: 'm' })).toThrow(/REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS/);
    expect(() => readSettings({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'm', REDIS_CLUSTER: 'b:2' })).toThrow(/both set: choose one/);
    expect(() => readSettings({ REDIS_CLUSTER: 'n1:7000,n2:port' })).toThrow(/REDIS_CLUSTER: "n2:port" is not host:port/);
    expect(() => readSettings({ REDIS_CLUSTER: 'n1:70000' })).toThrow(/"n1:70000" is not host:port/);
    expect(() => readSettings({ REDIS_SENTINELS: 'a:1,', REDIS_SENTINEL_MASTER: 'm' })).toThrow(/REDIS_SENTINELS: "" is not host:port/);
  });

  it('never prints a Redis password', () => {
    expect(safeRedisUrl('redis://user:s3cr3t-pw@h:6379/0')).toBe('redis://user:***@h:6379/0');
    expect(describeRedis(readSettings({ REDIS_URL: 'redis://:s3cr3t-pw@h:6379' }).redis!)).not.toContain('s3cr3t');
  });
});
