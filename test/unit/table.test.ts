import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/commands/table.js';

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
    expect(lines[0]).toMatch(/^JOB\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+RESULT\s+ROWS\s+TOOK\s+RUN ID\s+ERROR$/);
    expect(lines[1]).toMatch(/^orders\s+\*\/15 \* \* \* \* \(UTC\)\s+2026-11-29 02:00:00Z\s+2026-11-29 01:45:00Z\s+succeeded\s+1370\s+2\.50s\s+r-1\s+-$/);
    expect(lines[2]).toMatch(/^count\s+on demand PAUSED\s+-\s+2026-11-29 01:40:00Z\s+failed\s+0\s+0\.25s\s+r-2\s+GET http:\/\/x answered 500: boom.*…$/);
    expect(lines[3]).toMatch(/^new-job\s+on demand\s+-\s+never\s+-\s+-\s+-\s+-\s+-$/);
    // Aligned: every column starts at the same offset on every line.
    const at = (line: string, header: string) => (line === lines[0] ? line.indexOf(header) : -1);
    expect(lines[1]!.indexOf('2026-11-29 02:00:00Z')).toBe(at(lines[0]!, 'NEXT RUN'));
    expect(lines[3]!.indexOf('never')).toBe(at(lines[0]!, 'LAST RUN'));
    expect(lines.at(-1)).toBe('queue: 1 waiting, 0 active, 2 delayed, 30 completed, 4 failed');
  });
});
