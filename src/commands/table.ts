export type Align = 'left' | 'right';

export interface TableColumn<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  /** Numbers read best right-aligned. @default "left" */
  align?: Align;
  /** May be cut (ending in "…") so the table fits `width`. @default false */
  shrink?: boolean;
}

export interface TableOptions {
  /** Cut `shrink` columns, widest first, until every line fits. @default no limit */
  width?: number;
}

/** The width human tables fit: 80 columns, or `COLUMNS` when that says the terminal is wider. */
export const TABLE_WIDTH = 80;

/** `TABLE_WIDTH`, or the `COLUMNS` environment variable when it is a whole number above it. */
export function tableWidth(env: NodeJS.ProcessEnv = process.env): number {
  const columns = Number(env['COLUMNS']);
  return Number.isInteger(columns) && columns > TABLE_WIDTH ? columns : TABLE_WIDTH;
}

/** Cuts text to `size` characters, the last one "…". */
export function truncate(text: string, size: number): string {
  const chars = [...text];
  return chars.length <= size ? text : `${chars.slice(0, Math.max(0, size - 1)).join('')}…`;
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
export function formatTable<Row>(columns: readonly TableColumn<Row>[], rows: readonly Row[], options: TableOptions = {}): string {
  let cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]!))));
  if (options.width !== undefined) {
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
    for (let over = total() - options.width; over > 0; over = total() - options.width) {
      // The widest shrinkable column that is still wider than its header gives one character.
      let widest = -1;
      columns.forEach((c, i) => {
        if (c.shrink && widths[i]! > Math.max(width(c.header), 4) && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
      });
      if (widest < 0) break;
      widths[widest]!--;
    }
    cells = cells.map((r) => r.map((text, i) => (columns[i]!.shrink ? truncate(text, widths[i]!) : text)));
  }
  const line = (texts: readonly string[]) =>
    texts
      .map((t, i) => pad(t, widths[i]!, columns[i]!.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
