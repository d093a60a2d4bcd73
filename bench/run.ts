// npm run bench [-- --quick] [-- --only cold-start,extract,big-page,queue,refresh,parallel]: the benchmarks of SPEC section 7.
import { cpus } from 'node:os';
import { BIG_PAGE_FULL, BIG_PAGE_QUICK, runBigPageBench } from './big-page.js';
import { COLD_START_FULL, COLD_START_QUICK, runColdStartBench } from './cold-start.js';
import { EXTRACT_FULL, EXTRACT_ONE_PAGE, EXTRACT_QUICK, runExtractBench } from './extract.js';
import { benchRedis } from './lib/redis.js';
import { formatReport, type BenchReport } from './lib/report.js';
import { PARALLEL_FULL, PARALLEL_QUICK, runParallelBench } from './parallel.js';
import { QUEUE_FULL, QUEUE_QUICK, runQueueBench } from './queue.js';
import { REFRESH_FULL, REFRESH_QUICK, runRefreshBench } from './refresh.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : undefined;
const redis = await benchRedis();

const benches: Record<string, () => Promise<BenchReport>> = {
  'cold-start': () => runColdStartBench(quick ? COLD_START_QUICK : COLD_START_FULL),
  extract: () => runExtractBench(quick ? EXTRACT_QUICK : EXTRACT_FULL),
  'big-page': () => runBigPageBench(quick ? BIG_PAGE_QUICK : BIG_PAGE_FULL),
  queue: () => runQueueBench({ redisUrl: redis.url, ...(quick ? QUEUE_QUICK : QUEUE_FULL) }),
  parallel: () => runParallelBench(quick ? PARALLEL_QUICK : PARALLEL_FULL),
  refresh: () => runRefreshBench({ redisUrl: redis.url, ...(quick ? REFRESH_QUICK : REFRESH_FULL) }),
};
/** Only with --only: the per-page hot path alone, for profiling (`node --cpu-prof --import tsx bench/run.ts --only extract-profile`). */
const optIn: Record<string, () => Promise<BenchReport>> = {
  'extract-one-page': () => runExtractBench(EXTRACT_ONE_PAGE),
  'extract-profile': () => runExtractBench({ rows: 300_000, perPage: 10_000, rounds: 1 }),
};

console.log(`restq benchmarks${quick ? ' (quick mode)' : ''}: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}`);
let failed = false;
try {
  for (const [name, bench] of Object.entries(only ? { ...benches, ...optIn } : benches)) {
    if (only && !only.has(name)) continue;
    try {
      console.log(`\n${formatReport(await bench())}`);
    } catch (error) {
      failed = true;
      console.log(`\n## ${name}: FAILED: ${(error as Error).stack ?? String(error)}`);
    }
  }
} finally {
  await redis.stop();
}
process.exitCode = failed ? 1 : 0;
