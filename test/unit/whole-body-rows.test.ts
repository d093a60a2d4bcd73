import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/config/redactor.js';
import type { HttpRequest, HttpResponse } from '../../src/http/transport.js';
import { streamRows, WHOLE_BODY_BYTES, type PageTail } from '../../src/query/stream-rows.js';

const request: HttpRequest = { method: 'GET', url: new URL('http://api.test/x'), headers: {} };

async function collect(chunks: string[], contentLength: number | undefined, rowKeys: string[], valuePaths: string[] = []) {
  const body = Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { text: async () => chunks.join('') });
  const headers = { 'content-type': 'application/json', ...(contentLength === undefined ? {} : { 'content-length': String(contentLength) }) };
  const response: HttpResponse = { status: 200, headers, body, url: request.url };
  const gen = streamRows(response, request, { rowKeys, valuePaths, redactor: new Redactor(), timeoutMs: 1000 });
  const yields: unknown[][] = [];
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) yields.push(step.value.rows);
  return { yields, tail: step.value as PageTail };
}

describe('streamRows with a small body of known length (parsed whole, the fast path)', () => {
  const doc = '{"meta":{"cursor":"c-1"},"result":{"items":[{"id":1},{"id":2},{"id":3}]},"links":{"next":null}}';

  it('gives the same rows and values as streaming, in one chunk', async () => {
    const whole = await collect([doc.slice(0, 30), doc.slice(30)], Buffer.byteLength(doc), ['result', 'items'], ['$.meta.cursor', '$.links.next', '$.links.absent']);
    const streamed = await collect([doc.slice(0, 30), doc.slice(30)], undefined, ['result', 'items'], ['$.meta.cursor', '$.links.next', '$.links.absent']);
    expect(whole.yields).toEqual([[{ id: 1 }, { id: 2 }, { id: 3 }]]);
    expect(whole.yields.flat()).toEqual(streamed.yields.flat());
    expect(whole.tail).toEqual(streamed.tail);
    expect(Object.fromEntries(whole.tail.values)).toEqual({ '$.meta.cursor': 'c-1', '$.links.next': null });
  });

  it('takes the values of an object under the row path, like the stream selector, and none of a scalar', async () => {
    const objectRows = '{"data":{"a":{"id":1},"b":{"id":2}}}';
    expect((await collect([objectRows], objectRows.length, ['data'])).yields.flat()).toEqual([{ id: 1 }, { id: 2 }]);
    expect((await collect(['{"data":7}'], 10, ['data'])).tail.rowCount).toBe(0);
  });

  it('reports a body that is not JSON as E_RESPONSE with an excerpt', async () => {
    const html = '<html>Bad gateway</html>';
    await expect(collect([html], html.length, ['data'])).rejects.toMatchObject({ code: 'E_RESPONSE', message: expect.stringMatching(/not JSON.*<html>Bad gateway/) });
  });

  it('streams a body whose length is above the threshold: rows come after each network chunk', async () => {
    const row = `{"s":"${'x'.repeat(1000)}"}`;
    const count = Math.ceil(WHOLE_BODY_BYTES / row.length) + 10;
    const text = `{"data":[${Array.from({ length: count }, () => row).join(',')}]}`;
    const half = Math.floor(text.length / 2);
    const { yields, tail } = await collect([text.slice(0, half), text.slice(half)], text.length, ['data']);
    expect(yields.length).toBeGreaterThanOrEqual(2);
    expect(yields[0]!.length).toBeGreaterThan(0);
    expect(tail.rowCount).toBe(count);
  });
});
