/** The row every bench serves: ~200 bytes of JSON with a nested object and a quoted comma. */
export function benchRow(i: number): Record<string, unknown> {
  return {
    id: i,
    name: `Customer ${i}`,
    email: `customer${i}@example.com`,
    status: i % 3 === 0 ? 'open' : 'closed',
    amount: { total: Math.round(i * 137.31) / 100, currency: 'EUR' },
    created_at: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    note: i % 7 === 0 ? 'said "hello", left' : 'ok',
  };
}

/** Rows of about `bytes` bytes of JSON in all. */
export function rowsForBytes(bytes: number): number {
  return Math.max(1, Math.round(bytes / (JSON.stringify(benchRow(500_000)).length + 1)));
}
