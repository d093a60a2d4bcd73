import { describe, expect, it } from 'vitest';
import { templateContext } from '../../src/query/template.js';

describe('templateContext: the one builder of what {{…}} resolves against', () => {
  it('merges run-time params over the job defaults, typed like the defaults, and dates the run in UTC', () => {
    const ctx = templateContext({
      defaults: { status: 'open', limit: 10, full: false },
      params: { limit: '25', full: 'true', extra: 'x' },
      startedAt: new Date('2026-12-04T23:30:00.000Z'),
      runId: 'r-1',
    });
    expect(ctx).toEqual({
      params: { status: 'open', limit: 25, full: true, extra: 'x' },
      now: '2026-12-04T23:30:00.000Z',
      date: '2026-12-04',
      runId: 'r-1',
      lastSuccessAt: '',
    });
    expect(templateContext({ defaults: {}, startedAt: new Date(0), runId: 'r', lastSuccessAt: '2026-01-01T00:00:00Z' }).lastSuccessAt).toBe('2026-01-01T00:00:00Z');
  });
});
