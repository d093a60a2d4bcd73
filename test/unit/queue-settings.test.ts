import { describe, expect, it } from 'vitest';
import { isDistributed, readQueueSettings, safeRedisUrl } from '../../src/queue/queue-settings.js';

describe('queue settings from the environment', () => {
  it('defaults queue and prefix to restq and keeps finished runs bounded', () => {
    const s = readQueueSettings({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(s).toMatchObject({ queue: 'restq', prefix: 'restq', backoffMs: 10_000, shutdownGraceMs: 30_000, history: 100 });
    expect(s.keepCompleted).toEqual({ count: 1000, ageSeconds: 7 * 86_400 });
    expect(s.keepFailed).toEqual({ count: 5000, ageSeconds: 30 * 86_400 });
  });

  it('reads RESTQ_* overrides, including a Redis Cluster hash-tag prefix', () => {
    const s = readQueueSettings({
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
  });

  it('names the variable and the expected form when a value is wrong', () => {
    expect(() => readQueueSettings({ REDIS_URL: 'redis://x', RESTQ_SHUTDOWN_GRACE: 'soon' })).toThrow(/RESTQ_SHUTDOWN_GRACE="soon" is not a duration/);
    expect(() => readQueueSettings({ REDIS_URL: 'redis://x', RESTQ_KEEP_FAILED: 'all' })).toThrow(/RESTQ_KEEP_FAILED="all": expected "count" or "count\/age"/);
    expect(() => readQueueSettings({ REDIS_URL: 'localhost:6379' })).toThrow(/must start with redis:\/\//);
    expect(() => readQueueSettings({})).toThrow(/REDIS_URL is not set/);
  });

  it('selects distributed mode only with a non-empty REDIS_URL, and never prints its password', () => {
    expect(isDistributed({})).toBe(false);
    expect(isDistributed({ REDIS_URL: ' ' })).toBe(false);
    expect(isDistributed({ REDIS_URL: 'redis://h:6379' })).toBe(true);
    expect(safeRedisUrl('redis://user:s3cr3t-pw@h:6379/0')).toBe('redis://user:***@h:6379/0');
  });
});
