// big page: one huge JSON page to CSV. Peak RSS of a restq process running it, over the peak RSS of
// the same process running a tiny page: streaming keeps memory flat however large one page is.
import { rm } from 'node:fs/promises';
import { startChild, stopChild } from './lib/child.js';
import { rowsForBytes } from './lib/bench-row.js';
import { columnsYaml, writeProject } from './lib/config-dir.js';
import type { BenchReport } from './lib/report.js';

export interface BigPageOptions {
  /** JSON bytes of the big page. */
  bytes: number;
  /** Allowed RSS growth over the tiny page, in MB. */
  targetMb: number;
}

/** Young-generation semi-space cap of the second measurement (NODE_OPTIONS users can set). */
const SEMI_SPACE_MB = 4;

export const BIG_PAGE_FULL: BigPageOptions = { bytes: 1024 ** 3, targetMb: 60 };
export const BIG_PAGE_QUICK: BigPageOptions = { bytes: 4 * 1024 ** 2, targetMb: 60 };

interface RunReport {
  rows?: number;
  bytes?: number;
  ms?: number;
  maxRssBytes?: number;
  error?: string;
}

const job = (rows: number) =>
  ['connection: bench', 'grid:', '  path: /big', `  query: { rows: ${rows} }`, '  rows: $.data[*]', '  columns:', columnsYaml('    '), 'output:', '  - csv: out/{job}.csv', 'timeout: 1h'].join('\n');

export async function runBigPageBench(options: BigPageOptions): Promise<BenchReport> {
  const { child: server, first } = await startChild<{ url: string }>('rows-server', ['1', '1']);
  const bigRows = rowsForBytes(options.bytes);
  const dir = writeProject(`connections:\n  bench:\n    baseUrl: ${first.url}\n    accessToken: bench-token\n`, { tiny: job(10), big: job(bigRows) });
  // restq runs a job with V8's default heap settings, from the CLI or as a library alike.
  const runIn = async (name: string, execArgv: string[] = []): Promise<RunReport> => {
    const { child, first: report } = await startChild<RunReport>('run-job.mjs', [dir, name], { execArgv });
    await stopChild(child).catch(() => undefined);
    if (report.error) throw new Error(`big page bench, job ${name}: ${report.error}`);
    return report;
  };
  try {
    const tiny = await runIn('tiny');
    const big = await runIn('big');
    // V8 grows the young generation to 3 × 16 MB under a high allocation rate (garbage, not
    // retained rows); capping it shows how much of the growth that is.
    const capped = [`--max-semi-space-size=${SEMI_SPACE_MB}`];
    const tinyCapped = await runIn('tiny', capped);
    const bigCapped = await runIn('big', capped);
    const mb = (bytes = 0) => bytes / 1024 ** 2;
    const growth = mb(big.maxRssBytes) - mb(tiny.maxRssBytes);
    const growthCapped = mb(bigCapped.maxRssBytes) - mb(tinyCapped.maxRssBytes);
    const notes = [
      `big page: ${mb(big.bytes).toFixed(0)} MB of JSON, ${bigRows.toLocaleString('en-US')} rows, read in ${((big.ms ?? 0) / 1000).toFixed(1)} s (${((bigCapped.ms ?? 0) / 1000).toFixed(1)} s with the capped young generation); the baseline column is the same restq process on a 10-row page`,
      '`restq run` and an application importing runJob run the page alike: restq lowers the heap growing factor itself once a page passes 64 MB (src/heap-tuning.ts)',
    ];
    if (big.rows !== bigRows) notes.push(`row count ${big.rows} differs from ${bigRows}`);
    return {
      name: 'big page',
      setup: `one ${(options.bytes / 1024 ** 2).toLocaleString('en-US')} MB JSON page to CSV, peak RSS of a child process`,
      lines: [
        { metric: 'peak RSS', restq: mb(big.maxRssBytes), baseline: mb(tiny.maxRssBytes), unit: 'MB', better: 'lower' },
        { metric: 'RSS growth over tiny page', restq: growth, baseline: 0, unit: 'MB', better: 'lower', target: `≤ ${options.targetMb} MB`, met: growth <= options.targetMb },
        { metric: `peak RSS, --max-semi-space-size=${SEMI_SPACE_MB}`, restq: mb(bigCapped.maxRssBytes), baseline: mb(tinyCapped.maxRssBytes), unit: 'MB', better: 'lower' },
        { metric: `RSS growth, --max-semi-space-size=${SEMI_SPACE_MB}`, restq: growthCapped, baseline: 0, unit: 'MB', better: 'lower', target: `≤ ${options.targetMb} MB`, met: growthCapped <= options.targetMb },
      ],
      notes,
      checks: { rows: big.rows ?? 0, cappedRows: bigCapped.rows ?? 0, expectedRows: bigRows, growthMb: growth, growthCappedMb: growthCapped },
    };
  } finally {
    await stopChild(server);
    await rm(dir, { recursive: true, force: true });
  }
}
