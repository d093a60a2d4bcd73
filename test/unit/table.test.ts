import { describe, expect, it } from 'vitest';
import { formatHistory } from '../../src/commands/history.js';
import { formatTable, tableWidth } from '../../src/commands/table.js';
import type { HistoryRecord } from '../../src/state/state-store.js';

describe('formatTable', () => {
  const rows = [
    { name: 'orders', rows: 1370, error: null },
    { name: 'open-order-count', rows: 1, error: 'GET http://x answered 500:\n\tboom' },
  ];
  const columns = [
    { header: 'JOB', value: (r: (typeof rows)[number]) => r.name },
    { header: 'ROWS', value: (r: (typeof rows)[number]) => r.rows, align: 'right' as const },
    { header: 'ERROR', value: (r: (typeof rows)[number]) => r.error },
  ];

  it('aligns columns two spaces apart, numbers to the right, empty cells as "-"', () => {
    expect(formatTable(columns, rows).split('\n')).toEqual([
      'JOB               ROWS  ERROR',
      'orders            1370  -',
      'open-order-count     1  GET http://x answered 500: boom',
    ]);
  });

  it('counts characters, not UTF-16 units, and prints a header for no rows', () => {
    const table = formatTable([{ header: 'A', value: (r: { a: string }) => r.a }, { header: 'B', value: () => 'x' }], [{ a: '…·é' }, { a: 'abcd' }]);
    expect(table.split('\n')).toEqual(['A     B', '…·é   x', 'abcd  x']);
    expect(formatTable(columns, [])).toBe('JOB  ROWS  ERROR');
  });
});

describe('formatTable width', () => {
  it('cuts shrinkable columns, widest first, until the lines fit', () => {
    const cols = [
      { header: 'NAME', value: (r: { a: string; b: string }) => r.a, shrink: true },
      { header: 'NOTE', value: (r: { a: string; b: string }) => r.b, shrink: true },
      { header: 'N', value: () => 7 },
    ];
    const text = formatTable(cols, [{ a: 'a'.repeat(30), b: 'b'.repeat(10) }], { width: 30 });
    const lines = text.split('\n');
    expect(lines[1]).toBe(`${'a'.repeat(14)}…  ${'b'.repeat(10)}  7`);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(30);
  });
});

describe('restq status table', () => {
  it('shows one aligned line per job with its schedule, next and last run, then the queue counts', async () => {
    const { formatStatus } = await import('../../src/commands/status.js');
    const text = formatStatus({
      mode: 'distributed',
      jobs: [
        { name: 'orders', schedule: '*/15 * * * *', timezone: 'UTC', nextRunAt: '2026-11-29T02:00:00.000Z', paused: false, lastRun: { runId: 'r-1', status: 'succeeded', startedAt: '2026-11-29T01:45:00.000Z', finishedAt: '2026-11-29T01:45:02.500Z', rows: 1370, error: null } },
        { name: 'count', schedule: null, timezone: 'UTC', nextRunAt: null, paused: true, lastRun: { runId: 'r-2', status: 'failed', startedAt: '2026-11-29T01:40:00.000Z', finishedAt: '2026-11-29T01:40:00.250Z', rows: 0, error: `GET http://x answered 500: ${'boom '.repeat(30)}` } },
        { name: 'new-job', schedule: null, timezone: 'UTC', nextRunAt: null, paused: false, lastRun: null },
      ],
      queue: { waiting: 1, active: 0, delayed: 2, completed: 30, failed: 4 },
    });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^JOB\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+RESULT\s+ROWS\s+TOOK$/);
    expect(lines[1]).toMatch(/^orders\s+\*\/15 \* \* \* \*\s+11-29 02:00\s+11-29 01:45\s+succeeded\s+1370\s+2\.5s$/);
    expect(lines[2]).toMatch(/^count\s+on demand PAUSED\s+-\s+11-29 01:40\s+failed\s+0\s+0\.3s$/);
    // The failed run's error on its own indented line, cut to the width.
    expect(lines[3]).toMatch(/^ {2}└ GET http:\/\/x answered 500: boom.*…$/);
    expect(lines[4]).toMatch(/^new-job\s+on demand\s+-\s+never\s+-\s+-\s+-$/);
    // Aligned: every column starts at the same offset on every line.
    const at = (header: string) => lines[0]!.indexOf(header);
    expect(lines[1]!.indexOf('11-29 02:00')).toBe(at('NEXT RUN'));
    expect(lines[4]!.indexOf('never')).toBe(at('LAST RUN'));
    expect(lines.at(-1)).toBe('times in UTC · queue: 1 waiting, 0 active, 2 delayed, 30 completed, 4 failed');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
  });

  it('fits 80 columns with long job names and schedules by cutting those columns', async () => {
    const { formatStatus } = await import('../../src/commands/status.js');
    const long = 'customer-orders-with-a-very-long-descriptive-name';
    const text = formatStatus({
      jobs: [{ name: long, schedule: '0,15,30,45 6-22 * * 1-5', timezone: 'Europe/Berlin', paused: false, nextRunAt: '2026-11-29T02:00:00.000Z', lastRun: { runId: 'r', status: 'succeeded', startedAt: '2026-11-29T01:45:00.000Z', finishedAt: '2026-11-29T01:59:02.500Z', rows: 123456789, error: null } }],
      mode: 'distributed',
      queue: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 },
    });
    const lines = text.split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^customer-o\S*…\s+0,15,30\S*( \S*)*…?\s+11-29 02:00\s+11-29 01:45\s+succeeded\s+123456789\s+14m03s$/);
  });
});

describe('restq status on a wider terminal, and with large queue counts', () => {
  it('cuts the error line to the given width, and wraps queue counts that do not fit', async () => {
    const { formatStatus } = await import('../../src/commands/status.js');
    const report = {
      mode: 'distributed' as const,
      jobs: [{ name: 'orders', schedule: null, timezone: 'UTC', nextRunAt: null, paused: false, lastRun: { runId: 'r', status: 'failed' as const, startedAt: '2026-11-29T01:40:00.000Z', finishedAt: '2026-11-29T01:40:01.000Z', rows: 0, error: `E_HTTP ${'boom '.repeat(40)}` } }],
      queue: { waiting: 1_234_567, active: 8, delayed: 2_345_678, completed: 34_567_890, failed: 4_567_890 },
    };
    const narrow = formatStatus(report, 80).split('\n');
    for (const line of narrow) expect([...line].length).toBeLessThanOrEqual(80);
    expect(narrow.slice(-2)).toEqual(['times in UTC · queue: 1234567 waiting, 8 active, 2345678 delayed,', '  34567890 completed, 4567890 failed']);
    const wide = formatStatus(report, 132).split('\n');
    for (const line of wide) expect([...line].length).toBeLessThanOrEqual(132);
    expect([...wide[2]!]).toHaveLength(132);
    expect(wide.at(-1)).toBe('times in UTC · queue: 1234567 waiting, 8 active, 2345678 delayed, 34567890 completed, 4567890 failed');
  });
});

describe('table width', () => {
  it('is 80 columns unless COLUMNS says the terminal is wider', () => {
    expect(tableWidth({})).toBe(80);
    expect(tableWidth({ COLUMNS: '132' })).toBe(132);
    expect(tableWidth({ COLUMNS: '60' })).toBe(80);
    expect(tableWidth({ COLUMNS: 'wide' })).toBe(80);
    expect(tableWidth({ COLUMNS: '100.5' })).toBe(80);
  });
});

describe('restq history table', () => {
  const base: HistoryRecord = {
    runId: 'r',
    job: 'orders',
    trigger: 'schedule',
    status: 'succeeded',
    startedAt: '2026-01-01T03:00:00.000Z',
    finishedAt: '2026-01-01T03:00:04.000Z',
    durationMs: 4_000,
    rows: 300,
    pages: 3,
    bytes: 10,
    window: null,
    cursorBefore: null,
    cursorAfter: null,
    error: null,
  };
  const longId = `20260101T030000Z-${'f'.repeat(90)}`;
  const records: HistoryRecord[] = [
    { ...base, runId: longId },
    { ...base, trigger: 'console', status: 'failed', rows: 123_456_789, durationMs: 7_200_000, error: { code: 'E_HTTP', message: `GET https://api.example.com/v2/orders answered 503:\n${'Service Unavailable\t'.repeat(12)}` } },
    { ...base, trigger: 'backfill', window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' } },
  ];

  it('renders every line within 80 columns, long run ids and error messages cut with …, one line per run', () => {
    const lines = formatHistory(records, 80).split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^STARTED\s+TRIGGER\s+STATUS\s+ROWS\s+TOOK\s+DETAIL$/);
    expect(lines[1]).toMatch(/^2026-01-01 03:00Z\s+schedule\s+succeeded\s+300\s+4\.0s\s+20260101T030000Z-f+…$/);
    expect([...lines[1]!]).toHaveLength(80);
    // The message's newline and tabs do not break the grid.
    expect(lines[2]).toMatch(/^2026-01-01 03:00Z\s+console\s+failed\s+123456789\s+2\.0h\s+E_HTTP GET \S+…$/);
    expect(lines[3]).toMatch(/^2026-01-01 03:00Z\s+backfill\s+succeeded\s+300\s+4\.0s\s+window 2026-01-01T00:0…$/);
  });

  it('uses a wider terminal when COLUMNS says so, and cuts nothing that fits', () => {
    const lines = formatHistory(records, 200).split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(200);
    expect(lines[1]).toContain(longId);
    expect(lines[2]!.length).toBeGreaterThan(80);
  });
});
