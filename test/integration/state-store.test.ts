import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileTokenStore } from '../../src/auth/file-token-store.js';
import { FileStateStore } from '../../src/state/file-state-store.js';
import { RedisStateStore } from '../../src/state/redis-state-store.js';
import type { CursorAdvance, HistoryRecord, StateStore } from '../../src/state/state-store.js';
import { deletePrefix } from '../helpers/queue-fixture.js';

const run = promisify(execFile);

function record(job: string, runId: string, extra: Partial<HistoryRecord> = {}): Omit<HistoryRecord, 'cursorAfter'> {
  return {
    runId,
    job,
    trigger: 'schedule',
    status: 'succeeded',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    durationMs: 1000,
    rows: 3,
    pages: 1,
    bytes: 120,
    window: { start: '2025-12-31T00:00:00.000Z', end: '2026-01-01T00:00:00.000Z' },
    cursorBefore: null,
    error: null,
    ...extra,
  };
}

const dt = (iso: string, fence: number): CursorAdvance => ({ value: iso, sortKey: String(Date.parse(iso)), order: 'number', fence });

let redis: Redis;
const prefixes: string[] = [];
const dirs: string[] = [];

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});

afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  redis.disconnect();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-state-'));
  dirs.push(dir);
  return path.join(dir, '.restq');
}

const backends: Array<[string, (limit?: number) => StateStore]> = [
  [
    'redis',
    (limit) => {
      const prefix = `restq-test-${randomUUID()}`;
      prefixes.push(prefix);
      return new RedisStateStore({ redis, prefix, queue: 'q', historyLimit: limit });
    },
  ],
  [
    // As a worker uses it: successful runs' records written in batches a moment later.
    'redis, batched',
    (limit) => {
      const prefix = `restq-test-${randomUUID()}`;
      prefixes.push(prefix);
      return new RedisStateStore({ redis, prefix, queue: 'q', historyLimit: limit, deferMs: 5 });
    },
  ],
  ['file', (limit) => new FileStateStore({ dir: newDir(), historyLimit: limit })],
];

describe.each(backends)('StateStore (%s)', (_name, open) => {
  it('starts empty', async () => {
    const store = open();
    expect(await store.getCursor('orders')).toEqual({ job: 'orders', cursor: null, updatedAt: null, runId: null });
    expect(await store.history('orders')).toEqual([]);
    expect(await store.lastRun('orders')).toBeUndefined();
    expect(await store.lastSuccessAt('orders')).toBe('');
    expect(await store.getPause('orders')).toEqual({ paused: false, since: null });
    expect(await store.getLive('nope')).toBeUndefined();
  });

  it('moves the cursor forward on finishRun, never back, and fills cursorAfter', async () => {
    const store = open();
    const first = await store.finishRun(record('orders', 'r1'), { advance: dt('2026-01-01T10:00:00.000Z', 100), lastSuccessAt: '2026-01-01T00:00:00.000Z' });
    expect(first.moved).toBe(true);
    expect(first.record.cursorAfter).toBe('2026-01-01T10:00:00.000Z');
    expect(await store.getCursor('orders')).toEqual({ job: 'orders', cursor: '2026-01-01T10:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', runId: 'r1' });
    // A newer run whose greatest value is older (e.g. lookback only found old rows): no move back.
    const second = await store.finishRun(record('orders', 'r2', { cursorBefore: '2026-01-01T10:00:00.000Z' }), { advance: dt('2026-01-01T09:00:00.000Z', 200) });
    expect(second).toMatchObject({ moved: false, reason: 'not-greater' });
    expect(second.record.cursorAfter).toBe('2026-01-01T10:00:00.000Z');
    expect((await store.getCursor('orders')).cursor).toBe('2026-01-01T10:00:00.000Z');
    // Numbers compare as numbers, not text ("9" < "10").
    const nums = open();
    await nums.finishRun(record('n', 'a'), { advance: { value: '9', sortKey: '9', order: 'number', fence: 1 } });
    expect((await nums.finishRun(record('n', 'b'), { advance: { value: '10', sortKey: '10', order: 'number', fence: 2 } })).moved).toBe(true);
    expect((await nums.getCursor('n')).cursor).toBe('10');
  });

  it('fences out a stale attempt of an older run that finishes after a newer one', async () => {
    const store = open();
    // Newer run (created at t=2000) commits first; the older run (t=1000) finishes late with a greater value.
    expect((await store.finishRun(record('orders', 'new'), { advance: dt('2026-01-02T00:00:00.000Z', 2000) })).moved).toBe(true);
    const late = await store.finishRun(record('orders', 'old'), { advance: dt('2026-01-03T00:00:00.000Z', 1000) });
    expect(late).toMatchObject({ moved: false, reason: 'stale' });
    expect(await store.getCursor('orders')).toMatchObject({ cursor: '2026-01-02T00:00:00.000Z', runId: 'new' });
    // Both runs are in the history, newest append first.
    expect((await store.history('orders')).map((r) => r.runId)).toEqual(['old', 'new']);
  });

  it('set and reset fence out runs that started before the change', async () => {
    const store = open();
    await store.finishRun(record('j', 'r1'), { advance: dt('2026-03-01T00:00:00.000Z', 1000) });
    const set = await store.setCursor('j', { value: '2026-01-01T00:00:00.000Z', sortKey: String(Date.parse('2026-01-01T00:00:00.000Z')), order: 'number' }, new Date(5000));
    expect(set).toEqual({ job: 'j', cursor: '2026-01-01T00:00:00.000Z', updatedAt: new Date(5000).toISOString(), runId: 'manual' });
    // A run created before the --set cannot undo it.
    expect((await store.finishRun(record('j', 'r0'), { advance: dt('2026-04-01T00:00:00.000Z', 4000) })).reason).toBe('stale');
    expect((await store.getCursor('j')).cursor).toBe('2026-01-01T00:00:00.000Z');
    const reset = await store.resetCursor('j', new Date(6000));
    expect(reset).toEqual({ job: 'j', cursor: null, updatedAt: new Date(6000).toISOString(), runId: null });
    expect((await store.finishRun(record('j', 'r5'), { advance: dt('2026-04-01T00:00:00.000Z', 5500) })).reason).toBe('stale');
    expect((await store.finishRun(record('j', 'r7'), { advance: dt('2026-02-01T00:00:00.000Z', 7000) })).moved).toBe(true);
    expect((await store.getCursor('j')).cursor).toBe('2026-02-01T00:00:00.000Z');
  });

  it('keeps the last historyLimit records, newest first, with the fields of SPEC 8', async () => {
    const store = open(5);
    for (let i = 0; i < 12; i++) {
      await store.finishRun(record('h', `run-${i}`, { status: i % 3 === 0 ? 'failed' : 'succeeded', error: i % 3 === 0 ? { code: 'E_HTTP', message: 'HTTP 500' } : null }));
    }
    const history = await store.history('h');
    expect(history.map((r) => r.runId)).toEqual(['run-11', 'run-10', 'run-9', 'run-8', 'run-7']);
    expect(await store.history('h', 2)).toHaveLength(2);
    expect(Object.keys(history[0]!)).toEqual(['runId', 'job', 'trigger', 'status', 'startedAt', 'finishedAt', 'durationMs', 'rows', 'pages', 'bytes', 'window', 'cursorBefore', 'cursorAfter', 'error']);
    expect(history[2]).toMatchObject({ runId: 'run-9', status: 'failed', error: { code: 'E_HTTP', message: 'HTTP 500' }, cursorAfter: null });
    expect((await store.lastRun('h'))!.runId).toBe('run-11');
    // Other jobs keep their own history.
    expect(await store.history('other')).toEqual([]);
  });

  it('keeps the latest lastSuccessAt', async () => {
    const store = open();
    await store.finishRun(record('s', 'a'), { lastSuccessAt: '2026-01-02T00:00:00.000Z' });
    await store.finishRun(record('s', 'b'), { lastSuccessAt: '2026-01-01T00:00:00.000Z' });
    await store.finishRun(record('s', 'c', { status: 'failed' }));
    expect(await store.lastSuccessAt('s')).toBe('2026-01-02T00:00:00.000Z');
  });

  it('pauses and resumes', async () => {
    const store = open();
    expect(await store.setPaused('p', true, new Date(1000))).toEqual({ paused: true, since: new Date(1000).toISOString() });
    // Pausing twice keeps the first time.
    expect(await store.setPaused('p', true, new Date(2000))).toEqual({ paused: true, since: new Date(1000).toISOString() });
    expect(await store.getPause('other')).toEqual({ paused: false, since: null });
    expect(await store.setPaused('p', false)).toEqual({ paused: false, since: null });
    expect(await store.getPause('p')).toEqual({ paused: false, since: null });
  });

  it('keeps live progress of a run and marks it finished with the run', async () => {
    const store = open();
    const live = { runId: 'live-1', job: 'l', trigger: 'enqueue' as const, state: 'active' as const, startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.500Z', pages: 2, rows: 40, bytes: 900, window: null };
    await store.setLive(live);
    expect(await store.getLive('live-1')).toEqual(live);
    await store.finishRun(record('l', 'live-1'));
    expect(await store.getLive('live-1')).toMatchObject({ state: 'finished', rows: 40 });
  });
});

describe('RedisStateStore bounds', () => {
  it('keeps one list per job however many runs, and live records expire', async () => {
    const prefix = `restq-test-${randomUUID()}`;
    prefixes.push(prefix);
    const store = new RedisStateStore({ redis, prefix, queue: 'q', historyLimit: 3 });
    for (let i = 0; i < 20; i++) await store.finishRun(record('b', `r${i}`), { advance: { value: String(i), sortKey: String(i), order: 'number', fence: i } });
    await store.setLive({ runId: 'x', job: 'b', trigger: 'cli', state: 'active', startedAt: '', updatedAt: '', pages: 0, rows: 0, bytes: 0, window: null });
    const keys = (await redis.keys(`${prefix}:*`)).sort();
    expect(keys).toEqual([`${prefix}:q:state:cursor:b`, `${prefix}:q:state:history:b`, `${prefix}:q:state:live:x`]);
    expect(await redis.llen(`${prefix}:q:state:history:b`)).toBe(3);
    expect(await redis.pttl(`${prefix}:q:state:live:x`)).toBeGreaterThan(0);
  });
});

describe('RedisStateStore batched records', () => {
  function batched(deferMs: number, client: Redis = redis, onDeferredError?: (error: Error, records: number) => void) {
    const prefix = `restq-test-${randomUUID()}`;
    prefixes.push(prefix);
    const store = new RedisStateStore({ redis: client, prefix, queue: 'q', deferMs, onDeferredError });
    // Another process's view: a store without deferral on the same keys.
    const reader = new RedisStateStore({ redis, prefix, queue: 'q' });
    return { store, reader, prefix };
  }

  it('writes successful runs later, in one script call, in order; failures and cursor moves at once', async () => {
    const { store, reader } = batched(60_000);
    await store.finishRun(record('a', 'r1', { startedAt: '2026-01-01T00:00:00.000Z' }), { lastSuccessAt: '2026-01-01T00:00:00.000Z' });
    await store.finishRun(record('b', 'r2'));
    await store.finishRun(record('a', 'r3', { startedAt: '2026-01-01T00:01:00.000Z' }), { lastSuccessAt: '2026-01-01T00:01:00.000Z' });
    // Not in Redis yet: the batch waits for its timer (a minute here) or a flush.
    expect(await reader.history('a')).toEqual([]);
    const scriptCalls = Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    await store.flush();
    expect(Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0) - scriptCalls).toBeLessThanOrEqual(1);
    expect((await reader.history('a')).map((r) => r.runId)).toEqual(['r3', 'r1']);
    expect((await reader.history('b')).map((r) => r.runId)).toEqual(['r2']);
    expect(await reader.lastSuccessAt('a')).toBe('2026-01-01T00:01:00.000Z');

    // A failed run is written before finishRun resolves (enqueue --wait reads its error code)…
    await store.finishRun(record('a', 'r4'));
    await store.finishRun(record('a', 'r5', { status: 'failed', error: { code: 'E_HTTP', message: 'boom' } }));
    expect((await reader.history('a')).map((r) => r.runId)).toEqual(['r5', 'r4', 'r3', 'r1']);
    // …and so is a cursor move, after the records of the runs before it.
    await store.finishRun(record('a', 'r6'));
    await store.finishRun(record('a', 'r7'), { advance: dt('2026-01-02T00:00:00.000Z', 7) });
    expect((await reader.history('a')).map((r) => r.runId)).toEqual(['r7', 'r6', 'r5', 'r4', 'r3', 'r1']);
    expect((await reader.getCursor('a')).cursor).toBe('2026-01-02T00:00:00.000Z');
  });

  it('in one batch: trims each job to the history limit, marks live runs finished, never moves lastSuccessAt back', async () => {
    const prefix = `restq-test-${randomUUID()}`;
    prefixes.push(prefix);
    const store = new RedisStateStore({ redis, prefix, queue: 'q', historyLimit: 3, deferMs: 60_000 });
    const reader = new RedisStateStore({ redis, prefix, queue: 'q', historyLimit: 3 });
    await reader.finishRun(record('b', 'b0'), { lastSuccessAt: '2026-03-01T00:00:00.000Z' });
    await store.setLive({ runId: 'a2', job: 'a', trigger: 'enqueue', state: 'active', startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', pages: 1, rows: 5, bytes: 9, window: null });
    for (let i = 1; i <= 5; i++) await store.finishRun(record('a', `a${i}`), { lastSuccessAt: `2026-01-01T00:0${i}:00.000Z` });
    await store.finishRun(record('b', 'b1'), { lastSuccessAt: '2026-02-01T00:00:00.000Z' });
    await store.flush();
    expect((await reader.history('a')).map((r) => r.runId)).toEqual(['a5', 'a4', 'a3']);
    expect((await reader.history('b')).map((r) => r.runId)).toEqual(['b1', 'b0']);
    expect(await reader.lastSuccessAt('a')).toBe('2026-01-01T00:05:00.000Z');
    expect(await reader.lastSuccessAt('b')).toBe('2026-03-01T00:00:00.000Z');
    expect(await redis.hget(`${prefix}:q:state:live:a2`, 'state')).toBe('finished');
    expect(await redis.exists(`${prefix}:q:state:live:a1`)).toBe(0);
  });

  it('writes by itself once the batch time is over, and on close', async () => {
    const { store, reader } = batched(20);
    await store.finishRun(record('t', 'r1'));
    await expect.poll(async () => (await reader.history('t')).length, { timeout: 5_000, interval: 10 }).toBe(1);
    const closing = batched(60_000);
    await closing.store.finishRun(record('t', 'r2'));
    await closing.store.close();
    expect((await closing.reader.history('t')).map((r) => r.runId)).toEqual(['r2']);
  });

  it('keeps a batch Redis refused, says so, and writes it once Redis answers again', async () => {
    const client = new Redis(inject('redisUrl'), { enableOfflineQueue: false, lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    const errors: Array<[string, number]> = [];
    const { store, reader } = batched(60_000, client, (error, records) => errors.push([error.message, records]));
    try {
      await store.finishRun(record('x', 'r1'));
      const ended = once(client, 'end');
      client.disconnect();
      await ended;
      await expect(store.flush()).rejects.toThrow(/cannot record 1 run in the job history in Redis/);
      expect(errors).toEqual([[expect.stringMatching(/cannot record 1 run in the job history/), 1]]);
      await store.finishRun(record('x', 'r2'));
      await client.connect();
      await store.flush();
      expect((await reader.history('x')).map((r) => r.runId)).toEqual(['r2', 'r1']);
    } finally {
      await store.close().catch(() => undefined);
      client.disconnect();
    }
  });
});

describe('FileStateStore files', () => {
  it('writes state.json and history files with mode 0600 and keeps the token store\'s connections', async () => {
    const dir = newDir();
    const tokens = new FileTokenStore({ file: path.join(dir, 'state.json') });
    await tokens.update('crm', async () => ({ refreshToken: 'rt-1', accessToken: 'at-1' }));
    const store = new FileStateStore({ dir });
    await store.finishRun(record('orders', 'r1'), { advance: dt('2026-01-01T00:00:00.000Z', 1) });
    await tokens.update('crm', async (current) => ({ ...current, refreshToken: 'rt-2' }));
    const data = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as { connections: Record<string, { refreshToken: string }>; jobs: Record<string, { cursor: { cursor: string } }> };
    expect(data.connections['crm']!.refreshToken).toBe('rt-2');
    expect(data.jobs['orders']!.cursor.cursor).toBe('2026-01-01T00:00:00.000Z');
    expect(statSync(path.join(dir, 'state.json')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'history', 'orders.json')).mode & 0o777).toBe(0o600);
    // A fresh store (a restart) reads the same state.
    expect((await new FileStateStore({ dir }).getCursor('orders')).cursor).toBe('2026-01-01T00:00:00.000Z');
  });

  it('two processes appending at once lose nothing and leave valid files', async () => {
    const dir = newDir();
    const child = path.resolve('test/helpers/state-store-child.ts');
    const env = (tag: string) => ({ env: { ...process.env, STATE_CHILD_DIR: dir, STATE_CHILD_JOB: 'shared', STATE_CHILD_TAG: tag, STATE_CHILD_RUNS: '25' } });
    await Promise.all([run(process.execPath, ['--import', 'tsx', child], env('a')), run(process.execPath, ['--import', 'tsx', child], env('b'))]);
    const store = new FileStateStore({ dir, historyLimit: 1000 });
    const history = await store.history('shared');
    expect(history).toHaveLength(50);
    expect(new Set(history.map((r) => r.runId)).size).toBe(50);
    // The greatest value either process offered: 24*2+1.
    expect((await store.getCursor('shared')).cursor).toBe('49');
    const tokens = new FileTokenStore({ file: path.join(dir, 'state.json') });
    expect((await tokens.read('conn-a'))?.refreshToken).toBe('rt-a-20');
    expect((await tokens.read('conn-b'))?.refreshToken).toBe('rt-b-20');
  }, 60_000);

  it('says which file is corrupted', async () => {
    const dir = newDir();
    const store = new FileStateStore({ dir });
    await store.finishRun(record('c', 'r1'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'state.json'), '{not json');
    await expect(store.getCursor('c')).rejects.toThrow(/state file .*state\.json is corrupted/);
  });
});
