import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/commands/progress-line.js';

describe('formatProgress (the live line of restq run on a terminal)', () => {
  it('without a total: pages, rows, rate, bytes, elapsed and no ETA', () => {
    expect(formatProgress({ pages: 3, rows: 300, bytes: 24_680, elapsedMs: 1_500, pagesDone: 2 })).toBe('pages 3 · rows 300 · 200 rows/s · 24.1 KB · 1.5s');
  });

  it('with the page count the API announced: pages N/TOTAL and an ETA from the pages read to their end', () => {
    // 2 of 10 pages done in 4 s: 8 to go at 2 s each.
    expect(formatProgress({ pages: 3, rows: 200, bytes: 16_000, elapsedMs: 4_000, totalPages: 10, pagesDone: 2 })).toBe('pages 3/10 · rows 200 · 50 rows/s · 15.6 KB · 4.0s · ETA 16s');
    expect(formatProgress({ pages: 120, rows: 12_000, bytes: 0, elapsedMs: 60_000, totalPages: 1_000, pagesDone: 119 })).toBe('pages 120/1,000 · rows 12,000 · 200 rows/s · 60.0s · ETA 7m24s');
  });

  it('no ETA before half a second, before the first page ended, or once every page was read', () => {
    expect(formatProgress({ pages: 1, rows: 10, bytes: 0, elapsedMs: 400, totalPages: 10, pagesDone: 1 })).toBe('pages 1/10 · rows 10 · 25 rows/s · 0.4s');
    expect(formatProgress({ pages: 1, rows: 10, bytes: 0, elapsedMs: 2_000, totalPages: 10, pagesDone: 0 })).toBe('pages 1/10 · rows 10 · 5 rows/s · 2.0s');
    expect(formatProgress({ pages: 10, rows: 1_000, bytes: 0, elapsedMs: 2_000, totalPages: 10, pagesDone: 10 })).toBe('pages 10/10 · rows 1,000 · 500 rows/s · 2.0s');
  });

  it('a total the run went past (the API counted wrong) is not shown', () => {
    expect(formatProgress({ pages: 4, rows: 40, bytes: 0, elapsedMs: 2_000, totalPages: 3, pagesDone: 3 })).toBe('pages 4 · rows 40 · 20 rows/s · 2.0s');
  });

  it('a one-page run with a Content-Length: bytes of the total and an ETA', () => {
    expect(formatProgress({ pages: 1, rows: 500, bytes: 256 * 1024, elapsedMs: 1_000, totalBytes: 1024 * 1024 })).toBe('pages 1 · rows 500 · 500 rows/s · 256.0 KB of 1.0 MB · 1.0s · ETA 3s');
  });
});
