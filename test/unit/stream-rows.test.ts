import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/config/redactor.js';
import type { HttpRequest, HttpResponse } from '../../src/http/transport.js';
import { streamRows, type PageTail } from '../../src/query/stream-rows.js';

function responseOf(chunks: (string | Buffer)[]): HttpResponse {
  const body = Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { text: async () => Buffer.concat(chunks.map((c) => Buffer.from(c))).toString() });
  return { status: 200, headers: { 'content-type': 'application/json' }, body, url: new URL('http://api.test/x') };
}

const request: HttpRequest = { method: 'GET', url: new URL('http://api.test/x'), headers: {} };

async function collect(chunks: (string | Buffer)[], rowKeys: string[], valuePaths: string[] = []) {
  const gen = streamRows(responseOf(chunks), request, { rowKeys, valuePaths, redactor: new Redactor(), timeoutMs: 1000 });
  const yields: unknown[][] = [];
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) yields.push(step.value.rows);
  return { yields, tail: step.value as PageTail };
}

describe('streamRows', () => {
  it('finds rows and pagination values split anywhere across chunks, before or after the rows', async () => {
    const doc = '{"meta":{"cursor":"c-1"},"result":{"items":[{"id":1,"s":"é✓"},{"id":2},{"id":3}]},"links":{"next":"/p2"}}';
    // One byte per chunk: every token and multi-byte character is split.
    const bytes = Buffer.from(doc);
    const { yields, tail } = await collect([...bytes].map((_, i) => bytes.subarray(i, i + 1)), ['result', 'items'], ['$.meta.cursor', '$.links.next']);
    expect(yields.flat()).toEqual([{ id: 1, s: 'é✓' }, { id: 2 }, { id: 3 }]);
    expect(Object.fromEntries(tail.values)).toEqual({ '$.meta.cursor': 'c-1', '$.links.next': '/p2' });
    expect(tail.rowCount).toBe(3);
  });

  it('yields rows while the body is still arriving (after each network chunk)', async () => {
    const { yields } = await collect(['[{"a":1},{"a":2},', '{"a":3}', ']'], []);
    expect(yields).toEqual([[{ a: 1 }, { a: 2 }], [{ a: 3 }], []]);
  });

  it('reports an absent value as absent (so pagination stops) and an HTML body as E_RESPONSE with an excerpt', async () => {
    const { tail } = await collect(['{"data":[]}'], ['data'], ['$.links.next']);
    expect(tail.values.has('$.links.next')).toBe(false);
    await expect(collect(['<html><body>Gateway error</body></html>'], ['data'])).rejects.toMatchObject({ code: 'E_RESPONSE', message: expect.stringMatching(/not JSON .*: <html><body>Gateway error<\/body><\/html>$/) });
    await expect(collect(['{"data":[{"a":1}'], ['data'])).rejects.toMatchObject({ code: 'E_RESPONSE' });
  });
});
