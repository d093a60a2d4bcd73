import { describe, expect, it } from 'vitest';
import { parseLinkNext } from '../../src/query/paginate/link-header.js';
import { simpleKeyPath, streamPlan } from '../../src/query/stream-rows.js';
import { signBody } from '../../src/sinks/webhook-sink.js';

describe('parseLinkNext (RFC 8288)', () => {
  it.each([
    ['<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"', 'https://api.github.com/x?page=2'],
    ['<https://a/x?page=1>; rel="prev", </x?page=3>; rel=next', '/x?page=3'],
    ['<https://a/x?p=2>; title="a, b; c"; rel="prefetch next"', 'https://a/x?p=2'],
    ['<https://a/x?p=2>; rel="last"', undefined],
    ['', undefined],
  ])('%s', (header, next) => {
    expect(parseLinkNext(header)).toBe(next);
  });
});

describe('what can be streamed', () => {
  it('simple row paths with simple pagination paths stream; anything else reads the whole body', () => {
    expect(streamPlan('$[*]', [])).toEqual({ rowKeys: [] });
    expect(streamPlan('$.data[*]', ['$.links.next'])).toEqual({ rowKeys: ['data'] });
    expect(streamPlan("$['a'].b[*]", ["$['meta'].cursor"])).toEqual({ rowKeys: ['a', 'b'] });
    expect(streamPlan('$.data[?(@.ok)]', [])).toBeUndefined();
    expect(streamPlan('$..items[*]', [])).toBeUndefined();
    expect(streamPlan('$.data[*]', ['$..next'])).toBeUndefined();
    expect(streamPlan("$['a.b'][*]", [])).toBeUndefined();
    expect(simpleKeyPath('$.links.next')).toEqual(['links', 'next']);
    expect(simpleKeyPath('$.items[0].next')).toBeUndefined();
  });
});

describe('webhook signature', () => {
  it('is the hex HMAC-SHA256 of the exact body bytes', () => {
    // Known answer: HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog").
    expect(signBody('key', Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe('sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });
});
