// queryFirst walks plain key paths itself (no jsonpath-plus parse per call): it must match
// exactly what jsonpath-plus matches, found or not, for every shape of document.
import { JSONPath } from 'jsonpath-plus';
import { describe, expect, it } from 'vitest';
import { queryFirst } from '../../src/query/jsonpath.js';

const docs: unknown[] = [
  { count: 42 },
  { count: null },
  { count: 0, other: 'x' },
  {},
  [],
  [1, 2, 3],
  null,
  7,
  'text',
  { links: { next: '/p2' } },
  { links: { next: null } },
  { links: null },
  { links: 'not an object' },
  { 'a b': [{ c: 1 }] },
  { data: [10, 20], meta: { total: 2 } },
  { constructor: 'own', toString: 1 },
  { nested: { constructor: { x: 1 } } },
];

const paths = ['$', '$.count', '$.links.next', "$['a b'][0].c", "$['a b'][1]", '$.data[1]', '$.data.length', '$.meta.total', '$.constructor', '$.toString', '$.nested.constructor.x', '$.missing.deeper', '$[0]', '$[5]'];

describe('queryFirst on plain key paths', () => {
  it.each(paths)('%s finds what jsonpath-plus finds, in every document', (path) => {
    for (const json of docs) {
      const expected = (JSONPath({ path, json: json as object, wrap: true, eval: 'safe' }) as unknown[] | undefined) ?? [];
      expect({ path, json, got: queryFirst(path, json) }).toEqual({ path, json, got: expected.length ? { found: true, value: expected[0] } : { found: false, value: undefined } });
    }
  });

  it('still hands other expressions to jsonpath-plus', () => {
    expect(queryFirst('$.data[*]', { data: [4, 5] })).toEqual({ found: true, value: 4 });
    expect(queryFirst('$..total', { meta: { total: 2 } })).toEqual({ found: true, value: 2 });
    expect(queryFirst('$.data[?(@ > 4)]', { data: [4, 5] })).toEqual({ found: true, value: 5 });
  });
});
