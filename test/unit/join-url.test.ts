import { describe, expect, it } from 'vitest';
import { joinUrl } from '../../src/query/build-request.js';

describe('joinUrl', () => {
  it("keeps the base's own path and query, and takes absolute URLs as they are", () => {
    expect(joinUrl('https://api.example.com/v2/', '/orders').href).toBe('https://api.example.com/v2/orders');
    expect(joinUrl('https://api.example.com/v2', 'orders?status=open&page=1').href).toBe('https://api.example.com/v2/orders?status=open&page=1');
    expect(joinUrl('https://api.example.com/v2?key=k', '/orders?page=2').href).toBe('https://api.example.com/v2/orders?key=k&page=2');
    expect(joinUrl('https://api.example.com/v2', 'https://cdn.example.com/next?cursor=x').href).toBe('https://cdn.example.com/next?cursor=x');
    expect(joinUrl('https://api.example.com', '/a b/%2F').pathname).toBe('/a%20b/%2F');
  });

  it('answers a repeated join with a URL of its own: a caller that adds query parameters changes no later request', () => {
    const first = joinUrl('https://api.example.com/v2', '/orders');
    first.searchParams.set('since', '2026-01-01');
    const second = joinUrl('https://api.example.com/v2', '/orders');
    expect(second).not.toBe(first);
    expect(second.href).toBe('https://api.example.com/v2/orders');
  });

  it('stays right past its memo bound (a forEach with a path per parent)', () => {
    for (let i = 0; i < 2_500; i++) expect(joinUrl('https://api.example.com/v2', `/orders/${i}/lines`).pathname).toBe(`/v2/orders/${i}/lines`);
    expect(joinUrl('https://api.example.com/v2', '/orders/7/lines').href).toBe('https://api.example.com/v2/orders/7/lines');
  });
});
