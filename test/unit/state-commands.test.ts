import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatHistory, historyCommand } from '../../src/commands/history.js';
import { pauseCommand } from '../../src/commands/pause.js';
import { formatState, stateCommand } from '../../src/commands/state.js';
import { loadConfig } from '../../src/config/load-config.js';
import { FileStateStore } from '../../src/state/file-state-store.js';
import type { HistoryRecord } from '../../src/state/state-store.js';
import { tempConfigDir } from '../helpers/config-dir.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const project = tempConfigDir({
    'connections.yaml': 'connections:\n  api:\n    baseUrl: http://127.0.0.1:9\n    accessToken: t\n',
    'jobs/orders.yaml': 'connection: api\ngrid:\n  path: /o\n  rows: $.data[*]\nincremental:\n  cursor: $.updated_at\n  start: "2024-01-01T00:00:00Z"\n',
    'jobs/ids.yaml': 'connection: api\ngrid:\n  path: /o\n  rows: $.data[*]\nincremental:\n  cursor: $.id\n  type: number\n  start: 0\n',
    'jobs/plain.yaml': 'connection: api\ngrid:\n  path: /o\n  rows: $.data[*]\n',
  });
  dirs.push(project.dir);
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-cmd-'));
  dirs.push(dir);
  return { config: loadConfig({ dir: project.dir, env: {} }), state: new FileStateStore({ dir }) };
}

describe('restq state', () => {
  it('shows, sets (typed, instants normalised to UTC), resets, and refuses bad values and jobs', async () => {
    const { config, state } = setup();
    expect(await stateCommand({ config, state, job: 'orders' })).toEqual({ job: 'orders', cursor: null, updatedAt: null, runId: null });
    const set = await stateCommand({ config, state, job: 'orders', set: '2024-03-01T12:00:00+02:00' });
    expect(set).toMatchObject({ cursor: '2024-03-01T10:00:00.000Z', runId: 'manual' });
    expect(formatState(set, '2024-01-01T00:00:00Z')).toMatch(/^orders: cursor 2024-03-01T10:00:00\.000Z \(updated .* by restq state --set\)$/);
    // Epoch seconds and milliseconds are the same instant.
    expect((await stateCommand({ config, state, job: 'orders', set: '1709287200' })).cursor).toBe('2024-03-01T10:00:00.000Z');
    expect((await stateCommand({ config, state, job: 'orders', set: '1709287200000' })).cursor).toBe('2024-03-01T10:00:00.000Z');
    expect((await stateCommand({ config, state, job: 'ids', set: '1500' })).cursor).toBe('1500');
    await expect(stateCommand({ config, state, job: 'ids', set: 'abc' })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/--set "abc" is not a number/) });
    await expect(stateCommand({ config, state, job: 'orders', set: 'soon' })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(stateCommand({ config, state, job: 'plain' })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/has no incremental: section/) });
    await expect(stateCommand({ config, state, job: 'ordrs' })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/did you mean "orders"/) });
    const reset = await stateCommand({ config, state, job: 'orders', reset: true });
    expect(reset.cursor).toBeNull();
    expect(formatState(reset, '2024-01-01T00:00:00Z')).toMatch(/no cursor yet: the next run starts at incremental\.start 2024-01-01T00:00:00Z/);
  });
});

describe('restq history and pause', () => {
  it('lists newest first within --limit, in a table that fits 80 columns', async () => {
    const { config, state } = setup();
    for (let i = 0; i < 5; i++) {
      const at = new Date(Date.UTC(2026, 0, 1, i)).toISOString();
      await state.finishRun(
        { runId: `20260101T0${i}0000Z-abcdef0${i}`, job: 'orders', trigger: i === 4 ? 'backfill' : 'schedule', status: i === 3 ? 'failed' : 'succeeded', startedAt: at, finishedAt: at, durationMs: 1234 * i, rows: 100 * i, pages: i, bytes: 10, window: { start: at, end: at }, cursorBefore: null, error: i === 3 ? { code: 'E_HTTP', message: `GET https://api.example.com/v2/orders?updated_since=${at} answered 503: Service Unavailable, try later` } : null },
        { advance: { value: at, sortKey: String(Date.parse(at)), order: 'number', fence: i } },
      );
    }
    const records: HistoryRecord[] = await historyCommand({ config, state, job: 'orders', limit: 3 });
    expect(records.map((r) => r.runId.slice(0, 17))).toEqual(['20260101T040000Z-', '20260101T030000Z-', '20260101T020000Z-']);
    const text = formatHistory(records);
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    expect(text.split('\n')[0]).toMatch(/^STARTED\s+TRIGGER\s+STATUS\s+ROWS\s+TOOK\s+DETAIL$/);
    expect(text).toMatch(/2026-01-01 03:00Z\s+schedule\s+failed\s+300\s+3\.7s\s+E_HTTP GET/);
    expect(formatHistory([])).toBe('no runs recorded yet');
  });

  it('pauses and resumes a job', async () => {
    const { config, state } = setup();
    expect((await pauseCommand({ config, state, job: 'plain', paused: true })).paused).toBe(true);
    expect(await state.getPause('plain')).toMatchObject({ paused: true });
    expect((await pauseCommand({ config, state, job: 'plain', paused: false })).paused).toBe(false);
  });
});
