// parallel: latency-bound APIs. Parallel pages (page paginator, concurrency 4 vs 1) and forEach
// (children in flight 4 vs 1) against a loopback API that answers every request after a fixed
// delay; both sides are restq's runJob in the same run, so the ratio is the gain of concurrency.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { ApiClients } from '../src/http/api-client-registry.js';
import { runJob } from '../src/runner.js';
import { benchRow } from './lib/bench-row.js';
import { writeProject } from './lib/config-dir.js';
import { timed, type BenchReport } from './lib/report.js';

export interface ParallelOptions {
  /** Pages of the page-paginated endpoint, and parents of the forEach job. */
  pages: number;
  rowsPerPage: number;
  /** The API answers each request after this long. */
  delayMs: number;
  concurrency: number;
  /** Timed rounds of each side, alternately; the best counts (the machine may be shared). */
  rounds: number;
}

export const PARALLEL_FULL: ParallelOptions = { pages: 200, rowsPerPage: 100, delayMs: 20, concurrency: 4, rounds: 3 };
export const PARALLEL_QUICK: ParallelOptions = { pages: 12, rowsPerPage: 10, delayMs: 20, concurrency: 4, rounds: 1 };

/** /items?page=N (N ≤ pages: rowsPerPage rows, then empty), /parents (all parents at once), /parents/ID/items. */
async function startApi(options: ParallelOptions): Promise<{ url: string; close: () => Promise<void> }> {
  // Every body is built once, up front: the API shares restq's thread here, and its own
  // JSON.stringify per request would be counted against restq (a real API spends it elsewhere).
  const bodies = Array.from({ length: options.pages }, (_, i) => JSON.stringify({ data: Array.from({ length: options.rowsPerPage }, (_, r) => benchRow(i * options.rowsPerPage + r + 1)) }));
  const empty = JSON.stringify({ data: [] });
  const page = (n: number) => (n >= 1 && n <= options.pages ? bodies[n - 1]! : empty);
  const parents = JSON.stringify({ data: Array.from({ length: options.pages }, (_, i) => ({ id: i + 1, name: `parent ${i + 1}` })) });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body: string;
    const child = /^\/parents\/(\d+)\/items$/.exec(url.pathname);
    if (url.pathname === '/items') body = page(Number(url.searchParams.get('page')));
    else if (url.pathname === '/parents') body = parents;
    else if (child) body = page(Number(child[1]));
    else body = JSON.stringify({ error: 'not found' });
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, options.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function jobsYaml(concurrency: number): Record<string, string> {
  const columns = ['  columns:', '    id: $.id', '    name: $.name', '    total: $.amount.total'];
  return {
    [`pages-${concurrency}`]: [
      'connection: bench',
      'grid:',
      '  path: /items',
      '  rows: $.data[*]',
      ...columns,
      `  paginate: { page: { param: page, start: 1 }, concurrency: ${concurrency}, maxPages: 100000 }`,
      'output:',
      `  - csv: out/pages-${concurrency}.csv`,
      'timeout: 1h',
    ].join('\n'),
    [`foreach-${concurrency}`]: [
      'connection: bench',
      'grid:',
      `  forEach: { path: /parents, rows: "$.data[*]", as: parent, concurrency: ${concurrency} }`,
      '  path: /parents/{{parent.id}}/items',
      '  rows: $.data[*]',
      ...columns,
      '    parent: "{{parent.id}}"',
      'output:',
      `  - csv: out/foreach-${concurrency}.csv`,
      'timeout: 1h',
    ].join('\n'),
  };
}

const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

export async function runParallelBench(options: ParallelOptions): Promise<BenchReport> {
  const api = await startApi(options);
  const dir = writeProject(`connections:\n  bench:\n    baseUrl: ${api.url}\n    accessToken: bench-token-not-secret\n`, { ...jobsYaml(1), ...jobsYaml(options.concurrency) });
  const config = loadConfig({ dir, env: {} });
  const logger = pino({ level: 'warn' });
  const clients = new ApiClients({ config, logger });
  const measure = async (job: string) => {
    const { value, ms } = await timed(() => runJob({ config, job, clients, logger }));
    return { rows: value.rows, requests: value.requests, ms, rate: (value.rows / ms) * 1000, sha: await sha(path.join(dir, 'out', `${job}.csv`)) };
  };
  try {
    // Warm-up: sockets and JIT, so neither side pays for them.
    await measure(`pages-${options.concurrency}`);
    type Measured = Awaited<ReturnType<typeof measure>>;
    const best = (a: Measured | undefined, b: Measured) => (a && a.ms <= b.ms ? a : b);
    let pagesOne: Measured | undefined;
    let pagesMany: Measured | undefined;
    let eachOne: Measured | undefined;
    let eachMany: Measured | undefined;
    for (let round = 0; round < options.rounds; round++) {
      pagesOne = best(pagesOne, await measure('pages-1'));
      pagesMany = best(pagesMany, await measure(`pages-${options.concurrency}`));
      eachOne = best(eachOne, await measure('foreach-1'));
      eachMany = best(eachMany, await measure(`foreach-${options.concurrency}`));
    }
    if (!pagesOne || !pagesMany || !eachOne || !eachMany) throw new Error('parallel bench: rounds must be at least 1');
    const expected = options.pages * options.rowsPerPage;
    const notes: string[] = [];
    if (pagesOne.rows !== expected || pagesMany.rows !== expected || eachOne.rows !== expected || eachMany.rows !== expected) {
      notes.push(`row counts differ from ${expected}: pages ${pagesOne.rows}/${pagesMany.rows}, forEach ${eachOne.rows}/${eachMany.rows}`);
    }
    if (pagesOne.sha !== pagesMany.sha) notes.push('parallel pages: the CSV differs between concurrency 1 and the parallel run');
    if (eachOne.sha !== eachMany.sha) notes.push('forEach: the CSV differs between concurrency 1 and the parallel run');
    const c = options.concurrency;
    const pagesRatio = pagesMany.rate / pagesOne.rate;
    const eachRatio = eachMany.rate / eachOne.rate;
    notes.push(`speculative paging fetched ${pagesMany.requests} requests for ${options.pages + 1} pages (pages past the end dropped); CSVs byte-identical across concurrency: ${pagesOne.sha === pagesMany.sha && eachOne.sha === eachMany.sha}`);
    return {
      name: 'parallel',
      setup: `${options.pages} pages × ${options.rowsPerPage} rows and forEach over ${options.pages} parents, API answers after ${options.delayMs} ms; restq at concurrency ${c} vs restq at 1 (baseline), same run, best of ${options.rounds}`,
      lines: [
        { metric: `parallel pages, concurrency ${c}`, restq: pagesMany.rate, baseline: pagesOne.rate, unit: 'rows/s', better: 'higher', target: '≥ 3×', met: pagesRatio >= 3 },
        { metric: `forEach, concurrency ${c}`, restq: eachMany.rate, baseline: eachOne.rate, unit: 'rows/s', better: 'higher', target: '≥ 3×', met: eachRatio >= 3 },
        { metric: 'parallel pages wall time', restq: pagesMany.ms / 1000, baseline: pagesOne.ms / 1000, unit: 's', better: 'lower' },
        { metric: 'forEach wall time', restq: eachMany.ms / 1000, baseline: eachOne.ms / 1000, unit: 's', better: 'lower' },
      ],
      notes,
      checks: { expected, pagesOne: pagesOne.rows, pagesMany: pagesMany.rows, eachOne: eachOne.rows, eachMany: eachMany.rows, sameBytes: pagesOne.sha === pagesMany.sha && eachOne.sha === eachMany.sha ? 1 : 0 },
    };
  } finally {
    await clients.close();
    await api.close();
  }
}
