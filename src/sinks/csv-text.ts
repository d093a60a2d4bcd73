import type { Cell } from '../query/row-projector.js';

// RFC 4180 CSV text, written by hand: rows are flat cells (string, number, boolean, null), so
// the general stringifier's per-field option merging and casting is work a run of a million
// rows does not need (it was the largest item of the extract profile after JSON.parse).
//
// A field is quoted when it holds the delimiter, a double quote, a CR or an LF, or starts or
// ends with white space (a bare LF or CR is a line break to most readers, and readers that trim
// unquoted fields keep quoted spaces); double quotes are doubled. Records end with CRLF, the
// last one too. null is an empty field, booleans are true/false. This is byte for byte what
// csv-stringify writes with those options (test/unit/csv-text.test.ts compares the two).

const EDGE_SPACE = /^\s|\s$/;

/** Whether `value` holds `delimiter`, also across its end as csv-stringify checks a multi-character one. */
function holdsDelimiter(value: string, delimiter: string): boolean {
  if (value.includes(delimiter)) return true;
  return delimiter.length > 1 && (value + delimiter).indexOf(delimiter) < value.length;
}

/** A field needs quotes: the common one-character delimiter is checked in one regular expression. */
function quoteTest(delimiter: string): (value: string) => boolean {
  if (delimiter.length === 1 && delimiter !== '"' && delimiter !== '\r' && delimiter !== '\n') {
    const special = new RegExp(`["\\r\\n${delimiter.replace(/[\\\]^-]/g, '\\$&')}]|^\\s|\\s$`);
    return (value) => special.test(value);
  }
  return (value) => /["\r\n]/.test(value) || holdsDelimiter(value, delimiter) || EDGE_SPACE.test(value);
}

const tests = new Map<string, (value: string) => boolean>();

function testFor(delimiter: string): (value: string) => boolean {
  let test = tests.get(delimiter);
  if (!test) tests.set(delimiter, (test = quoteTest(delimiter)));
  return test;
}

function field(cell: Cell | undefined, needsQuotes: (value: string) => boolean): string {
  if (typeof cell === 'string') {
    if (cell === '' || !needsQuotes(cell)) return cell;
    return `"${cell.includes('"') ? cell.replaceAll('"', '""') : cell}"`;
  }
  if (cell === null || cell === undefined) return '';
  // Numbers and booleans: no quote, CR, LF or edge space, unless the delimiter is a digit or letter.
  const text = String(cell);
  return needsQuotes(text) ? `"${text}"` : text;
}

/** The CSV text of `records`, each ended by CRLF. */
export function csvText(records: readonly (readonly Cell[])[], delimiter = ','): string {
  const needsQuotes = testFor(delimiter);
  let text = '';
  for (const record of records) {
    const last = record.length - 1;
    for (let i = 0; i < last; i++) text += field(record[i], needsQuotes) + delimiter;
    if (last >= 0) text += field(record[last], needsQuotes);
    text += '\r\n';
  }
  return text;
}
