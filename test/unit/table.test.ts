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
