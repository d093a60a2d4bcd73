import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { runJob } from '../../src/runner.js';
import { startTestServer, type TestServer } from '../helpers/http-test-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureStream, memoryLogger, writeProject, type TempProject } from '../helpers/temp-project.js';

const run = promisify(execFile);
const CHILD = path.resolve('test/helpers/run-job-child.ts');
/** Rows of the big page: about 290 bytes each, so ~300 MB. */
const BIG_ROWS = Number(process.env['RESTQ_BIG_PAGE_ROWS'] ?? 1_050_000);
const NOTE = 'x'.repeat(200);

function row(i: number): string {
  return `{"id":${i},"name":"row ${i}","note":"${NOTE}","amount":{"total":${(i % 1000) / 10},"currency":"EUR"}}`;
}

/** Writes `rows` rows lazily, honouring back-pressure: the server never holds the page. */
async function writePage(res: ServerResponse, rows: number, next: string | null): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"meta":{"kind":"big"},"data":[');
  for (let i = 0; i < rows; ) {
    let chunk = '';
    for (const end = Math.min(rows, i + 500); i < end; i++) chunk += `${i === 0 ? '' : ','}${row(i + 1)}`;
    if (!res.write(chunk)) await once(res, 'drain');
  }
  // The next link comes after the rows: the streamed parser must still find it.
  res.end(`],"links":{"next":${JSON.stringify(next)}}}`);
}

let server: TestServer;
let project: TempProject;
beforeAll(async () => {
  server = await startTestServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const size = url.pathname === '/big' ? BIG_ROWS : 10;
    if (url.searchParams.get('page') === '2') return writePage(res, 1, null);
    await writePage(res, size, `${url.pathname}?page=2`);
  });
  const grid = (p: string) => ({ path: p, rows: '$.data[*]', columns: { id: '$.id', total: '$.amount.total' }, paginate: { nextUrl: '$.links.next' } });
  project = writeProject(
    { api: { baseUrl: server.url, accessToken: 'stream-token-1234', timeout: '60s' } },
    {
      tiny: { connection: 'api', grid: grid('/tiny'), output: [{ csv: 'out/tiny.csv' }] },
      big: { connection: 'api', grid: grid('/big'), output: [{ csv: 'out/big.csv' }] },
    },
  );
});
afterAll(async () => {
  await server.close();
  project.cleanup();
});

async function child(job: string): Promise<{ rows: number; pages: number; bytes: number; maxRssKb: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, CHILD_CONFIG_DIR: project.dir, CHILD_JOB: job },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: number; pages: number; bytes: number; maxRssKb: number };
}

describe('streaming a huge single page', () => {
  it('reaches the CSV with flat memory: peak RSS growth over a 10-row page stays far below the page size', async () => {
    const tiny = await child('tiny');
    const started = Date.now();
    const big = await child('big');
    const seconds = (Date.now() - started) / 1000;
    const growthMb = (big.maxRssKb - tiny.maxRssKb) / 1024;
    console.log(`big page: ${(big.bytes / 1e6).toFixed(0)} MB, ${big.rows} rows in ${seconds.toFixed(1)} s; peak RSS ${(big.maxRssKb / 1024).toFixed(0)} MB vs ${(tiny.maxRssKb / 1024).toFixed(0)} MB for 10 rows: +${growthMb.toFixed(1)} MB`);
    expect(tiny).toMatchObject({ rows: 11, pages: 2 });
    expect(big).toMatchObject({ rows: BIG_ROWS + 1, pages: 2 });
    expect(big.bytes).toBeGreaterThan(BIG_ROWS * 250);
    // A buffered page would grow by at least its ~300 MB size (the body alone, before any row
    // object). The 60 MB target itself is tracked by `npm run bench` (+51..72 MB for this page
    // here, quiet and with both cores busy; +105.6 MB once in a full CI run, where GC falls
    // behind): half the page size tells streaming from buffering with headroom for that.
    expect(growthMb).toBeLessThan(150);
    const csv = readFileSync(path.join(project.dir, 'out', 'big.csv'), 'utf8');
    expect(csv.startsWith('id,total\r\n1,0.1\r\n2,0.2\r\n3,0.3\r\n')).toBe(true);
    expect(csv.endsWith(`${BIG_ROWS},${(BIG_ROWS % 1000) / 10}\r\n1,0.1\r\n`)).toBe(true);
  }, 90_000);
});

describe('rows reach the sinks as they arrive', () => {
  it('stdout gets the first rows of a page while the rest is still on the wire, and page 1 before page 2 is asked for', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let page2Requested = false;
    const slow = await startTestServer(async (req, res) => {
      if (req.url?.includes('page=2')) {
        page2Requested = true;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"data":[{"id":"p2"}],"next":null}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"data":[${Array.from({ length: 1500 }, (_, i) => `{"id":${i}}`).join(',')}`);
      await released;
      res.end(',{"id":"last"}],"next":"/rows?page=2"}');
    });
    const p = writeProject(
      { api: { baseUrl: slow.url, accessToken: 'stream-token-1234' } },
      { rows: { connection: 'api', grid: { path: '/rows', rows: '$.data[*]', paginate: { nextUrl: '$.next' } }, output: [{ stdout: { format: 'ndjson' } }] } },
    );
    const { logger } = memoryLogger(p.config);
    const clients = new ApiClients({ config: p.config, logger });
    const out = captureStream();
    try {
      const running = runJob({ config: p.config, job: 'rows', clients, logger, stdout: out.stream });
      // The first 1000-row chunk is printed while the server still holds the end of page 1.
      await waitFor(() => out.text().split('\n').length > 1000, 10_000, 'rows of the unfinished page on stdout');
      expect(page2Requested).toBe(false);
      release();
      const result = await running;
      expect(result).toMatchObject({ rows: 1502, pages: 2 });
      expect(out.text().trim().split('\n').at(-1)).toBe('{"id":"p2"}');
    } finally {
      release();
      await clients.close();
      await slow.close();
      p.cleanup();
    }
  });
});
