// The benchmarks in quick mode (tiny sizes), so the scripts cannot rot; `npm run bench` runs the full sizes.
import { describe, expect, it } from 'vitest';
import { BIG_PAGE_QUICK, runBigPageBench } from '../../bench/big-page.js';
import { EXTRACT_QUICK, runExtractBench } from '../../bench/extract.js';
import { formatReport } from '../../bench/lib/report.js';

describe('benchmarks, quick mode', () => {
  it('extract: restq and the baseline write every row, the same CSV bytes, and the report has both figures', async () => {
    const report = await runExtractBench(EXTRACT_QUICK);
    expect(report.checks).toMatchObject({ restqRows: EXTRACT_QUICK.rows, baselineRows: EXTRACT_QUICK.rows });
    expect(report.checks!['restqBytes']).toBe(report.checks!['baselineBytes']);
    expect(report.notes).toEqual([]);
    const text = formatReport(report);
    expect(text).toMatch(/^## extract: 3,000 rows, 500 per page/);
    expect(text).toMatch(/throughput\s+[\d,]+ rows\/s\s+[\d,]+ rows\/s\s+[\d.]+×\s+≥ 0\.9×/);
  });

  it('big page: a child process streams one page to CSV and reports its peak RSS over a tiny page', async () => {
    const report = await runBigPageBench(BIG_PAGE_QUICK);
    expect(report.checks!['rows']).toBe(report.checks!['expectedRows']);
    expect(report.checks!['expectedRows']).toBeGreaterThan(10_000);
    expect(report.lines.map((l) => l.metric)).toEqual(['peak RSS', 'RSS growth over tiny page']);
    expect(report.lines[0]!.restq).toBeGreaterThan(report.lines[0]!.baseline * 0.5);
  });
});
