import { describe, expect, it } from 'vitest';
import { BATCH_BYTES, JsonRowSplitter } from '../../src/query/json-row-splitter.js';

const cursor = { expr: '$.meta.cursor', keys: ['meta', 'cursor'] };
const next = { expr: '$.links.next', keys: ['links', 'next'] };

/** Feeds `text` in pieces of `size` bytes; returns the rows and the splitter. */
function split(text: string | Buffer, rowKeys: string[], size = 1, wanted = [cursor, next]) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const splitter = new JsonRowSplitter(rowKeys, wanted);
  const rows: unknown[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    splitter.write(bytes.subarray(i, i + size));
    rows.push(...splitter.take());
  }
  splitter.end();
  return { rows, splitter };
}

describe('JsonRowSplitter', () => {
  it('gives the same rows as JSON.parse for strings with quotes, backslashes, brackets and multi-byte characters split anywhere', () => {
    const items = [{ s: 'a"b\\', t: '],}{[,' }, 'x\\"y', 12.5e-3, null, [1, [2, { a: '😀é' }]], { '\\': '\\\\' }, true, 0];
    const doc = JSON.stringify({ meta: { cursor: 'c\\"1' }, data: items, links: { next: '/p?a="b"' } }, null, 2);
    for (const size of [1, 2, 3, 7, 1000]) {
      const { rows, splitter } = split(doc, ['data'], size);
      expect(rows).toEqual(items);
      expect(splitter.rowCount).toBe(items.length);
      expect(Object.fromEntries(splitter.values)).toEqual({ '$.meta.cursor': 'c\\"1', '$.links.next': '/p?a="b"' });
    }
  });

  it('gives every row of a chunk holding several batches (BATCH_BYTES each), and of items split between chunks', () => {
    const rows = Array.from({ length: Math.ceil((3 * BATCH_BYTES) / 1000) }, (_, i) => ({ i, s: 'x'.repeat(1000) }));
    const text = JSON.stringify({ data: rows });
    expect(split(text, ['data'], text.length).rows).toEqual(rows);
    expect(split(text, ['data'], 777).rows).toEqual(rows);
  });

  it('takes the values of an object at the row path as rows, and none of a scalar or a missing path', () => {
    expect(split('{"data":{"a":{"id":1},"b":[2]}}', ['data'], 3).rows).toEqual([{ id: 1 }, [2]]);
    expect(split('{"data":7,"meta":{"cursor":null}}', ['data']).rows).toEqual([]);
    const { rows, splitter } = split('{"other":[1,2],"meta":{"cursor":false}}', ['data']);
    expect(rows).toEqual([]);
    expect(splitter.values.get('$.meta.cursor')).toBe(false);
    expect(splitter.values.has('$.links.next')).toBe(false);
  });

  it('finds a wanted value nested in another wanted value, and rows at the root', () => {
    const { splitter } = split('{"meta":{"cursor":"c","n":1}}', ['data'], 4, [{ expr: '$.meta', keys: ['meta'] }, cursor]);
    expect(Object.fromEntries(splitter.values)).toEqual({ '$.meta': { cursor: 'c', n: 1 }, '$.meta.cursor': 'c' });
    expect(split('\uFEFF[1,"a",{"b":2}]', [], 1).rows).toEqual([1, 'a', { b: 2 }]);
    expect(split('[ ]', []).rows).toEqual([]);
  });

  it.each([
    ['<html>Bad gateway</html>'],
    ['{"data":[1,]}'],
    ['{"data":[,1]}'],
    ['{"data":[1,,2]}'],
    ['{"data":[1 2]}'],
    ['{"data":[{"a":1}{"a":2}]}'],
    ['{"data":[{"a":1},{"a":]}'],
    ['{"data":[1,2}'],
    ['{"data":[1,2]'],
    ['{"data":[1,2]} x'],
    ['{"meta":{"cursor":tru},"data":[]}'],
    ['{"meta" {"cursor":1},"data":[]}'],
    ['{"links":[1,2,],"data":[]}'],
    [''],
  ])('rejects %j, which is not JSON', (text) => {
    expect(() => split(text, ['data'], 2)).toThrow(SyntaxError);
  });
});
