import { describe, expect, it } from 'vitest';
import { stringify } from 'csv-stringify/sync';
import { csvText } from '../../src/sinks/csv-text.js';
import type { Cell } from '../../src/query/row-projector.js';

// restq writes CSV by hand (src/sinks/csv-text.ts); its files must stay what csv-stringify wrote
// with restq's former options, so readers and diffs of older files see no change.
function reference(records: Cell[][], delimiter: string): string {
  return stringify(records, {
    delimiter,
    eof: true,
    record_delimiter: 'windows',
    quoted_match: /[\r\n]|^\s|\s$/,
    cast: { boolean: (value) => String(value) },
  });
}

/** A small deterministic generator (mulberry32), so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['a', 'Zürich', ' ', '\t', '\u00a0', '"', '""', ',', ';', '|', '\r', '\n', '\r\n', '1', '.', 'e', '-', '=', '😀', ''];

function cell(next: () => number): Cell {
  const kind = Math.floor(next() * 6);
  if (kind === 0) return null;
  if (kind === 1) return next() < 0.5;
  if (kind === 2) return [0, -1.5, 1e21, 42, Number.NaN, 3.14][Math.floor(next() * 6)]!;
  let text = '';
  const length = Math.floor(next() * 5);
  for (let i = 0; i < length; i++) text += PIECES[Math.floor(next() * PIECES.length)];
  return text;
}

describe('csvText', () => {
  for (const delimiter of [',', ';', '\t', '|', 'e', '.', '::', 'aa', ']', '^', '-', '\\']) {
    it(`writes what csv-stringify writes, delimiter ${JSON.stringify(delimiter)}`, () => {
      const next = random(delimiter.charCodeAt(0) * 7919 + delimiter.length);
      const records: Cell[][] = [];
      for (let r = 0; r < 400; r++) records.push(Array.from({ length: 1 + Math.floor(next() * 5) }, () => cell(next)));
      records.push([], [''], [null], ['', ''], [' lead'], ['trail '], ['x\u2028y']);
      const expected = reference(records, delimiter);
      // Row by row first: a mismatch then names the record.
      for (const record of records) expect(csvText([record], delimiter), JSON.stringify(record)).toBe(reference([record], delimiter));
      expect(csvText(records, delimiter)).toBe(expected);
    });
  }

  it('quotes and doubles quotes as RFC 4180 says', () => {
    expect(csvText([['id', 'say "hi"', 'a,b', 'line\nbreak', ' padded', 7, true, null]])).toBe(
      'id,"say ""hi""","a,b","line\nbreak"," padded",7,true,\r\n',
    );
  });
});
