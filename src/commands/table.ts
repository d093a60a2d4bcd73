export type Align = 'left' | 'right';

export interface TableColumn<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  /** Numbers read best right-aligned. @default "left" */
  align?: Align;
}

/** Display width: code points, not UTF-16 units, so "…" and "·" count once. */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, size: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'right' ? fill + text : text + fill;
}

/** One line per cell: tabs and newlines in values (an error message) must not break the grid. */
function cellText(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\s+/g, ' ');
}

/**
 * Renders rows as an aligned plain-text table (header, then one line per row, columns two
 * spaces apart, trailing spaces trimmed), for `restq status` and the bench reports.
 */
export function formatTable<Row>(columns: readonly TableColumn<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]!))));
  const line = (texts: readonly string[]) =>
    texts
      .map((t, i) => pad(t, widths[i]!, columns[i]!.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
