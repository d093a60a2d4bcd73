import { describe, expect, it } from 'vitest';
import { parseInstant, toCursorValue } from '../../src/state/cursor-value.js';
import { CursorTracker, runWindow, sliceWindow } from '../../src/state/incremental.js';

const base = { cursor: '$.at', type: 'datetime' as const, start: '2024-01-01T00:00:00Z', filter: false };

describe('cursor values', () => {
  it('reads offsets, Z, a date, epoch seconds and epoch milliseconds as the same instants', () => {
    const at = Date.parse('2024-03-01T10:00:00Z');
    for (const text of ['2024-03-01T10:00:00Z', '2024-03-01T12:00:00+02:00', '2024-03-01T12:00:00+0200', '2024-03-01T05:00:00-05', '2024-03-01 10:00:00', '1709287200', '1709287200000', 1709287200, 1709287200000]) {
      expect(parseInstant(text), String(text)).toBe(at);
    }
    expect(parseInstant('2024-03-01')).toBe(Date.parse('2024-03-01T00:00:00Z'));
    expect(parseInstant('2024-02-31T00:00:00Z')).toBeUndefined();
    expect(parseInstant('yesterday')).toBeUndefined();
    expect(toCursorValue('datetime', '2024-03-01T12:00:00.5+02:00')).toEqual({ text: '2024-03-01T10:00:00.500Z', sortKey: at + 500 });
    expect(toCursorValue('number', '15')).toEqual({ text: '15', sortKey: 15 });
    expect(toCursorValue('number', 'x')).toBeUndefined();
    expect(toCursorValue('string', 'v2')).toEqual({ text: 'v2', sortKey: 'v2' });
    expect(toCursorValue('string', { a: 1 })).toBeUndefined();
  });
});

describe('CursorTracker', () => {
  it('keeps the greatest instant whatever the notation, counts rows without one, and filters to the window', () => {
    const window = runWindow({ ...base, filter: true }, { job: 'j', cursor: '2024-03-01T00:00:00.000Z', updatedAt: null, runId: null }, new Date('2024-03-02T00:00:00Z'));
    const tracker = new CursorTracker({ ...base, filter: true }, window);
    const rows = [
      { at: '2024-03-01T13:00:00+02:00' }, // 11:00Z
      { at: 1709290800 }, // 11:00Z in epoch seconds
      { at: 1709298000000 }, // 13:00Z in epoch ms: the greatest
      { at: '2024-02-29T23:59:59Z' }, // before the window: dropped
      { at: '2024-03-02T00:00:00Z' }, // window end is exclusive: dropped
      { other: 1 }, // no cursor: kept and counted
    ];
    expect(rows.map((r) => tracker.accept(r))).toEqual([true, true, true, false, false, true]);
    expect(tracker.max?.text).toBe('2024-03-01T13:00:00.000Z');
    expect(tracker.missing).toBe(1);
    expect(tracker.dropped).toBe(2);
    expect(tracker.warnings()).toEqual(['incremental.cursor $.at: 1 row had no datetime cursor value (delivered, but they cannot move the cursor)']);
    expect(tracker.advance(7)).toEqual({ value: '2024-03-01T13:00:00.000Z', sortKey: String(Date.parse('2024-03-01T13:00:00Z')), order: 'number', fence: 7 });
  });

  it('starts at `start`, steps back by lookback, and slices', () => {
    const first = runWindow(base, { job: 'j', cursor: null, updatedAt: null, runId: null }, new Date('2024-01-03T12:00:00Z'));
    expect(sliceWindow(first, 86_400_000).map((w) => [w.start.text, w.end?.text])).toEqual([
      ['2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z'],
      ['2024-01-02T00:00:00.000Z', '2024-01-03T00:00:00.000Z'],
      ['2024-01-03T00:00:00.000Z', '2024-01-03T12:00:00.000Z'],
    ]);
    const next = runWindow({ ...base, lookback: 600_000 }, { job: 'j', cursor: '2024-01-02T00:00:00.000Z', updatedAt: null, runId: null }, new Date('2024-01-03T00:00:00Z'));
    expect(next.start.text).toBe('2024-01-01T23:50:00.000Z');
    const numeric = runWindow({ ...base, type: 'number', start: 0 }, { job: 'j', cursor: '42', updatedAt: null, runId: null }, new Date());
    expect(numeric).toEqual({ start: { text: '42', sortKey: 42 }, end: undefined });
  });
});
