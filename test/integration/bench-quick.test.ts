// The benchmarks in quick mode (tiny sizes), so the scripts cannot rot; `npm run bench` runs the full sizes.
import { describe, expect, inject, it } from 'vitest';
import { BIG_PAGE_QUICK, runBigPageBench } from '../../bench/big-page.js';
import { EXTRACT_QUICK, runExtractBench } from '../../bench/extract.js';
import { formatReport } from '../../bench/lib/report.js';

describe('benchmarks, quick mode', () => {
  it('extract: restq and the baseline write every row, the same CSV bytes, and the report has both figures', async () => {
    const report = await runExtractBench(EXTRACT_QUICK);
    expect(report.checks).toMatchObject({ restqRows: EXTRACT_QUICK.rows, baselineRows: EXTRACT_QUICK.rows });
    expect(report.checks!['restqBytes']).toBe(report.checks!['baselineBytes']);
    // No note says that row counts or CSV sizes differ (in process or as whole processes).
    expect(report.notes.filter((n) => /differ/.test(n))).toEqual([]);
    expect(report.checks!['wholeRatio']).toBeGreaterThan(0);
    const text = formatReport(report);
    expect(text).toMatch(/^## extract: 3,000 rows, 500 per page/);
    expect(text).toMatch(/whole process, rows\/s \(median\)\s+[\d,]+ rows\/s\s+[\d,]+ rows\/s\s+[\d.]+×\s+≥ 1\.0×/);
  });

  it('big page: a child process streams one page to CSV and reports its peak RSS over a tiny page', async () => {
    const report = await runBigPageBench(BIG_PAGE_QUICK);
    expect(report.checks!['rows']).toBe(report.checks!['expectedRows']);
    expect(report.checks!['expectedRows']).toBeGreaterThan(10_000);
    expect(report.checks!['cappedRows']).toBe(report.checks!['expectedRows']);
    expect(report.lines.map((l) => l.metric)).toEqual([
      'peak RSS',
      'RSS growth over tiny page',
      'peak RSS, --max-semi-space-size=4',
      'RSS growth, --max-semi-space-size=4',
    ]);
    expect(report.lines[0]!.restq).toBeGreaterThan(report.lines[0]!.baseline * 0.5);
    // Four child processes (V8 defaults and capped young generation; tiny and big page each).
  }, 120_000);
});

describe('benchmarks that need Redis, quick mode', () => {
  it('refresh: worker processes share one token, never reuse a rotated refresh token, and every run succeeds', async () => {
    const { REFRESH_QUICK, runRefreshBench } = await import('../../bench/refresh.js');
    const report = await runRefreshBench({ redisUrl: inject('redisUrl'), ...REFRESH_QUICK });
    expect(report.checks!['invalidGrants']).toBe(0);
    expect(report.checks!['failed']).toBe(0);
    expect(report.checks!['runs']).toBeGreaterThan(0);
    // Generous bound for a loaded CI machine; the full bench reports the real figure.
    expect(report.checks!['calls']).toBeLessThanOrEqual(Math.ceil(report.checks!['ideal']!) + 2);
    expect(formatReport(report)).toMatch(/refresh calls per expiry\s+[\d.]+\s+1\s+[\d.]+×\s+≤ 1\.02/);
  }, 150_000);

  it('queue: restq workers and bare BullMQ workers both complete every run', async () => {
    const { QUEUE_QUICK, runQueueBench } = await import('../../bench/queue.js');
    const report = await runQueueBench({ redisUrl: inject('redisUrl'), ...QUEUE_QUICK });
    expect(report.checks!['restq']).toBeGreaterThan(0);
    expect(report.checks!['bare']).toBeGreaterThan(0);
    expect(report.checks!['restqWorkerCpuMs']).toBeGreaterThan(0);
    expect(report.checks!['bareWorkerCpuMs']).toBeGreaterThan(0);
    expect(formatReport(report)).toMatch(/throughput \(median\)\s+[\d,.]+ runs\/s\s+[\d,.]+ runs\/s\s+[\d.]+×\s+≥ 0\.85×/);
  }, 90_000);
});

describe('parallel bench, quick mode', () => {
  it('parallel pages and forEach: every row, the same CSV bytes at both concurrencies, both figures reported', async () => {
    const { PARALLEL_QUICK, runParallelBench } = await import('../../bench/parallel.js');
    const report = await runParallelBench(PARALLEL_QUICK);
    const expected = PARALLEL_QUICK.pages * PARALLEL_QUICK.rowsPerPage;
    expect(report.checks).toMatchObject({ expected, pagesOne: expected, pagesMany: expected, eachOne: expected, eachMany: expected, sameBytes: 1 });
    expect(formatReport(report)).toMatch(/parallel pages, concurrency 4\s+[\d,]+ rows\/s\s+[\d,]+ rows\/s\s+[\d.]+×\s+≥ 3×/);
  });
});
