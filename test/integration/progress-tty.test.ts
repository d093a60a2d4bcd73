/* eslint-disable no-control-regex -- this test is about the escape sequences a terminal receives */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { CLI } from '../helpers/run-cli.js';
import { sampleApiProject, type TempProject } from '../helpers/temp-project.js';

const run = promisify(execFile);
/** An SGR colour sequence (ESC [ … m); cursor control such as ESC [2K is not colour. */
const COLOUR = /\x1b\[[0-9;]*m/;

/** Runs `restq` with a pseudo-terminal as stdin/stdout/stderr (util-linux `script`), returning what the terminal showed. */
async function inTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = ['node', CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env, TERM: 'xterm-256color' }, timeout: 20_000 });
  return stdout;
}

describe('restq run on a terminal (util-linux script gives it a pseudo-terminal)', () => {
  let api: SampleApi;
  let dir: string;
  let project: TempProject;

  beforeAll(async () => {
    api = await startSampleApi({ orders: 300, pageSize: 100, pageDelayMs: 250 });
    project = sampleApiProject(api.url, {
      'jobs/paged.yaml': 'connection: demo\ngrid:\n  path: /v1/orders\n  query: { per_page: 100 }\n  rows: $.data[*]\n  paginate: { nextUrl: $.links.next }\noutput:\n  - csv: out/paged.csv\n',
      // The sample API announces its page count in meta.pages.
      'jobs/counted.yaml': 'connection: demo\ngrid:\n  path: /v1/orders\n  query: { per_page: 100 }\n  rows: $.data[*]\n  paginate: { page: { param: page }, total: $.meta.pages }\noutput:\n  - csv: out/counted.csv\n',
    });
    dir = project.dir;
  });

  afterAll(async () => {
    await api.close();
    project.cleanup();
  });

  it('shows a live progress line that it erases before the summary, and colours logs unless NO_COLOR is set', async () => {
    const env = { NO_COLOR: '', LOG_LEVEL: 'debug' };
    const shown = await inTerminal(['--config', dir, 'run', 'orders'], env);
    expect(shown).toMatch(/\r\x1b\[2Kpages 1 · rows 300 · [\d,]+ rows\/s · [\d.]+ KB( of [\d.]+ KB)? · [\d.]+s/);
    // Rows are never shown beside "pages 0": a page counts from its first rows.
    expect(shown).not.toMatch(/pages 0 · rows [1-9]/);
    expect(shown).toMatch(/\r\x1b\[2Korders \S+: 300 rows, 1 page,/);
    expect(shown).toMatch(COLOUR);
    expect(shown).not.toMatch(/"level":/);

    const plain = await inTerminal(['--config', dir, 'run', 'orders'], { ...env, NO_COLOR: '1' });
    expect(plain).toMatch(/pages 1 · rows 300/);
    expect(plain).toContain('run started');
    expect(plain).not.toMatch(COLOUR);
  });

  it('keeps log lines and the progress line apart, ends on the final figures, and logs every request at debug', async () => {
    const shown = await inTerminal(['--config', dir, 'run', 'paged'], { NO_COLOR: '1', LOG_LEVEL: 'debug' });
    // What the terminal shows on each row: the text after the row's last erase.
    const rows = shown.split('\n').map((row) => row.split('\r\x1b[2K').at(-1)!.replace(/\r$/, ''));
    const requestLines = rows.filter((row) => / DEBUG +GET 200 /.test(row));
    expect(requestLines).toHaveLength(3);
    for (const [i, line] of requestLines.entries()) {
      expect(line).toMatch(new RegExp(`url=${api.url.replace(/[.]/g, '\\.')}/v1/orders\\?per_page=100${i === 0 ? '' : `&page=${i + 1}`} attempt=1 status=200 bytes=\\d+ ms=\\d+`));
    }
    // No row carries a log line glued onto the progress line (or the other way round).
    for (const row of rows) expect(row).not.toMatch(/rows\/s.*(DEBUG|INFO|WARN)|(DEBUG|INFO|WARN).*rows\/s/);
    // The progress line was drawn again after log lines, and its last drawing is the final count.
    const drawn = [...shown.matchAll(/\r\x1b\[2K(pages \d+ · rows \d+)/g)].map((m) => m[1]);
    expect(drawn.length).toBeGreaterThanOrEqual(3);
    expect(drawn.at(-1)).toBe('pages 3 · rows 300');
    expect(shown).toMatch(/\r\x1b\[2Kpaged \S+: 300 rows, 3 pages,/);
  });

  it('shows the page total and an ETA when the API announces its page count (paginate.total)', async () => {
    const before = api.orderRequests.length;
    const shown = await inTerminal(['--config', dir, 'run', 'counted'], { NO_COLOR: '1', LOG_LEVEL: 'info' });
    const drawn = [...shown.matchAll(/\r\x1b\[2K(pages [^\r\n]*)/g)].map((m) => m[1]!);
    // The total is known once the first page was read to its end.
    for (const line of drawn) expect(line).toMatch(/^pages (1|[1-3]\/3) · rows \d+ · [\d,]+ rows\/s · [\d.]+ KB · [\d.]+s( · ETA \d+s)?$/);
    expect(drawn.filter((line) => line.startsWith('pages 2/3 '))).not.toHaveLength(0);
    // Pages take 250 ms each: past half a second, with pages still to read, the line says how long.
    expect(drawn.some((line) => / · ETA \d+s$/.test(line))).toBe(true);
    expect(drawn.at(-1)).toMatch(/^pages 3\/3 · rows 300 /);
    expect(shown).toMatch(/\r\x1b\[2Kcounted \S+: 300 rows, 3 pages,/);
    // The announced count ends the paging: no request for an empty fourth page.
    expect(api.orderRequests.slice(before)).toHaveLength(3);
  });

  it('writes one key per field in every JSON log line', async () => {
    const { stderr } = await run('node', [CLI, '--config', dir, 'run', 'paged'], { env: { ...process.env, LOG_LEVEL: 'debug' } });
    const lines = stderr.trim().split('\n').filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const keys = [...line.matchAll(/[{,]"([^"]+)":/g)].map((m) => m[1]);
      // Only top-level keys matter here, and these lines carry no nested objects with a repeated name.
      const top = Object.keys(JSON.parse(line) as object);
      expect(keys.filter((k) => top.includes(k!)), line).toHaveLength(new Set(keys.filter((k) => top.includes(k!))).size);
    }
    expect(lines.some((line) => line.includes('"connection":"demo"'))).toBe(true);
  });

  it('prints nothing but the summary (and JSON log lines) when stderr is not a terminal', async () => {
    const { stdout, stderr } = await run('node', [CLI, '--config', dir, 'run', 'orders'], { env: { ...process.env, LOG_LEVEL: 'info' } });
    expect(stdout).toBe('');
    expect(stderr).not.toContain('\x1b[');
    expect(stderr).not.toContain('pages ');
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^orders \S+: 300 rows, 1 page, [\d.]+ KB, [\d.]+s → csv /)]);
  });
});
