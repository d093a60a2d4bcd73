// extract: N rows in pages to CSV. restq's runJob against a baseline with no framework (undici
// request + JSON.parse + csv-stringify), on the same loopback server, alternately, best of K.
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { ApiClients } from '../src/http/api-client-registry.js';
import { runJob } from '../src/runner.js';
import { baselineExtract } from './lib/baseline-extract.mjs';
import { benchDir, startChild, stopChild } from './lib/child.js';
import { columnsYaml, writeProject } from './lib/config-dir.js';
import { timed, type BenchReport } from './lib/report.js';

const run = promisify(execFile);
const cli = path.resolve(benchDir, '..', 'dist', 'cli.js');

/** Wall time of one whole process (node start-up, module loading, the extract, exit), in ms. */
async function timedProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; stdout: string }> {
  const start = performance.now();
  const { stdout } = await run(process.execPath, args, { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, maxBuffer: 16 * 1024 ** 2 });
  return { ms: performance.now() - start, stdout };
}

export interface ExtractOptions {
  rows: number;
  perPage: number;
  /** Timed rounds of each side; the best counts. */
  rounds: number;
}

export const EXTRACT_FULL: ExtractOptions = { rows: 1_000_000, perPage: 10_000, rounds: 3 };
export const EXTRACT_ONE_PAGE: ExtractOptions = { rows: 200_000, perPage: 200_000, rounds: 2 };
export const EXTRACT_QUICK: ExtractOptions = { rows: 3_000, perPage: 500, rounds: 1 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runExtractBench(options: ExtractOptions): Promise<BenchReport> {
  const { child, first } = await startChild<{ url: string }>('rows-server', [String(options.rows), String(options.perPage)]);
  const token = 'bench-token-not-secret';
  const outDir = writeProject(
    `connections:\n  bench:\n    baseUrl: ${first.url}\n    accessToken: ${token}\n`,
    {
      extract: [
        'connection: bench',
        'grid:',
        '  path: /rows',
        '  query: { page: 1 }',
        '  rows: $.data[*]',
        '  columns:',
        columnsYaml('    '),
        '  paginate: { nextUrl: $.links.next, maxPages: 100000 }',
        'output:',
        '  - csv: out/restq.csv',
        'timeout: 1h',
      ].join('\n'),
    },
  );
  const config = loadConfig({ dir: outDir, env: {} });
  const logger = pino({ level: 'warn' });
  const restqFile = path.join(outDir, 'out', 'restq.csv');
  const baselineFile = path.join(outDir, 'baseline.csv');
  let bestRestq = Infinity;
  let bestBaseline = Infinity;
  let restqRows = 0;
  let baselineRows = 0;
  try {
    // SPEC 7's goal: `restq run` as a whole process against the baseline as a whole process.
    const wholeRestq: number[] = [];
    const wholeBaseline: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const base = await timedProcess([path.join(benchDir, 'children', 'extract-baseline.mjs'), first.url, token, baselineFile]);
      if (Number(base.stdout.trim()) !== options.rows) throw new Error(`extract baseline process wrote ${base.stdout.trim()} rows, not ${options.rows}`);
      wholeBaseline.push(base.ms);
      wholeRestq.push((await timedProcess([cli, '--config', outDir, 'run', 'extract'])).ms);
    }
    const [wholeRestqSize, wholeBaselineSize] = await Promise.all([stat(restqFile), stat(baselineFile)]);
    // The hot path alone, in this process (no start-up): where the per-row time goes.
    for (let round = 0; round < options.rounds; round++) {
      const base = await timed(() => baselineExtract(first.url, token, baselineFile));
      baselineRows = base.value;
      bestBaseline = Math.min(bestBaseline, base.ms);
      const clients = new ApiClients({ config, logger });
      try {
        const run = await timed(() => runJob({ config, job: 'extract', clients, logger }));
        restqRows = run.value.rows;
        bestRestq = Math.min(bestRestq, run.ms);
      } finally {
        await clients.close();
      }
    }
    const [restqSize, baselineSize] = await Promise.all([stat(restqFile), stat(baselineFile)]);
    const notes: string[] = [];
    if (wholeRestqSize.size !== wholeBaselineSize.size) notes.push(`CSV sizes differ (whole process): restq ${wholeRestqSize.size} bytes, baseline ${wholeBaselineSize.size} bytes`);
    if (restqRows !== options.rows || baselineRows !== options.rows) notes.push(`row counts differ from ${options.rows}: restq ${restqRows}, baseline ${baselineRows}`);
    if (restqSize.size !== baselineSize.size) notes.push(`CSV sizes differ: restq ${restqSize.size} bytes, baseline ${baselineSize.size} bytes`);
    const restqRate = (restqRows / bestRestq) * 1000;
    const baselineRate = (baselineRows / bestBaseline) * 1000;
    const wholeRate = (ms: number[]) => (options.rows / median(ms)) * 1000;
    return {
      name: 'extract',
      setup: `${options.rows.toLocaleString('en-US')} rows, ${options.perPage.toLocaleString('en-US')} per page, to CSV, ${options.rounds} alternating round(s) per side`,
      lines: [
        {
          metric: 'whole process, rows/s (median)',
          restq: wholeRate(wholeRestq),
          baseline: wholeRate(wholeBaseline),
          unit: 'rows/s',
          better: 'higher',
          target: '≥ 1.0×',
          met: wholeRate(wholeRestq) / wholeRate(wholeBaseline) >= 1.0,
        },
        { metric: 'whole process, wall (median)', restq: median(wholeRestq) / 1000, baseline: median(wholeBaseline) / 1000, unit: 's', better: 'lower' },
        { metric: 'in process, rows/s (best)', restq: restqRate, baseline: baselineRate, unit: 'rows/s', better: 'higher' },
      ],
      notes: [
        ...notes,
        `whole process: \`node dist/cli.js run\` vs \`node bench/children/extract-baseline.mjs\`, start-up included; wall per round restq ${wholeRestq.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s, baseline ${wholeBaseline.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s`,
      ],
      checks: { wholeRatio: wholeRate(wholeRestq) / wholeRate(wholeBaseline), restqRows, baselineRows, restqBytes: restqSize.size, baselineBytes: baselineSize.size },
    };
  } finally {
    await stopChild(child);
    await rm(outDir, { recursive: true, force: true });
  }
}
