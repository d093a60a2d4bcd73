import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionsYaml, tempProject, type TempProject } from '../helpers/temp-project.js';
import { json, startServer, type TestServer } from '../helpers/http-test-server.js';
import { runInProcess } from '../helpers/run-in-process.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

/** Every value a CSV writer tends to get wrong. */
const AWKWARD: Record<string, unknown> = {
  comma: 'a, b',
  quote: 'say "hi"',
  newline: 'line 1\nline 2',
  crlf: 'line 1\r\nline 2',
  unicode: 'Zoë Ångström, 山田 太郎',
  emoji: 'rocket 🚀 ✓',
  nul: null,
  empty: '',
  padded: '  padded  ',
  formula: '=SUM(A1:A2)',
  plus: '+49 30 1234',
  at: '@handle',
  tab: 'a\tb',
  semicolon: 'x;y',
  yes: true,
  no: false,
  zero: 0,
  decimal: -12.5,
};
const AWKWARD_TEXT: Record<string, string> = Object.fromEntries(
  Object.entries(AWKWARD).map(([k, v]) => [k, v === null ? '' : String(v)]),
);

let server: TestServer;
let body: unknown = { data: [] };

beforeAll(async () => {
  server = await startServer({
    '/rows': (_req, res) => json(res, body),
    '/bom': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(`\uFEFF${JSON.stringify({ data: [{ id: 'ü' }] })}`);
    },
    '/partial': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[{"id":1},{"id":2},');
      // Leave the body unfinished and drop the connection, as a crashing server would.
      setImmediate(() => res.socket?.destroy());
    },
  });
});
afterAll(() => server.close());

let project: TempProject | undefined;
afterEach(() => project?.cleanup());

function setup(job: string[], extraFiles: Record<string, string> = {}): TempProject {
  project = tempProject({
    'connections.yaml': connectionsYaml(server.url, ['accessToken: test-token-1']),
    'jobs/extract.yaml': lines('connection: api', ...job),
    ...extraFiles,
  });
  return project;
}

// Any bare CR or LF ends a record here, as in many readers: a line break inside a value must be quoted.
const readCsv = (file: string, delimiter = ',') =>
  parse(readFileSync(file), { delimiter, bom: true, relax_column_count: false, record_delimiter: ['\r\n', '\n', '\r'] }) as string[][];

describe('grid rows to CSV', () => {
  it('selects nested rows with columns: JSONPaths relative to each row, missing keys give empty cells', async () => {
    body = {
      result: {
        items: [
          { id: 1, customer: { name: 'Anna', address: { city: 'Berlin' } }, lines: [{ sku: 'A-1' }] },
          { id: 2, customer: { name: 'Bob' }, lines: [] },
        ],
      },
    };
    const p = setup([
      'grid:',
      '  path: /rows',
      '  rows: $.result.items[*]',
      '  columns:',
      '    order_id: $.id',
      '    name: $.customer.name',
      '    city: $.customer.address.city',
      '    first_sku: $.lines[0].sku',
      '    customer: $.customer',
      'output:',
      '  - csv: out/x.csv',
    ]);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeUndefined();
    expect(readCsv(p.file('out/x.csv'))).toEqual([
      ['order_id', 'name', 'city', 'first_sku', 'customer'],
      ['1', 'Anna', 'Berlin', 'A-1', '{"name":"Anna","address":{"city":"Berlin"}}'],
      ['2', 'Bob', '', '', '{"name":"Bob"}'],
    ]);
    expect(run.result).toMatchObject({ rows: 2, pages: 1, outputs: [expect.stringMatching(/^csv .*out\/x\.csv$/)] });
    expect(run.result!.bytes).toBe(Buffer.byteLength(JSON.stringify(body)));
  });

  it('flattens rows without columns: dotted names, arrays and objects as JSON, header from the first row, new keys warned once', async () => {
    body = {
      data: [
        { id: 1, customer: { name: 'Anna', address: { city: 'Berlin' } }, tags: ['a', 'b'], meta: {} },
        { id: 2, customer: { name: 'Bob' }, tags: [], meta: {}, extra: 'late', other: 1 },
        { id: 3, extra: 'again', customer: null },
      ],
    };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: out/flat.csv']);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeUndefined();
    expect(readCsv(p.file('out/flat.csv'))).toEqual([
      ['id', 'customer.name', 'customer.address.city', 'tags', 'meta'],
      ['1', 'Anna', 'Berlin', '["a","b"]', '{}'],
      ['2', 'Bob', '', '[]', '{}'],
      ['3', '', '', '', ''],
    ]);
    expect(run.result!.warnings).toEqual([expect.stringMatching(/^rows had keys the first row lacked, left out of the output: extra, other; list them under grid\.columns/)]);
  });

  it('treats rows: $.data (the array itself) like $.data[*]', async () => {
    body = { data: [{ id: 1 }, { id: 2 }] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data', 'output:', '  - csv: out/x.csv']);
    await runInProcess(p.dir, 'extract');
    expect(readCsv(p.file('out/x.csv'))).toEqual([['id'], ['1'], ['2']]);
  });

  it('reads a JSON body that starts with a UTF-8 BOM', async () => {
    const p = setup(['grid:', '  path: /bom', '  rows: $.data[*]', 'output:', '  - csv: out/x.csv']);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeUndefined();
    expect(readCsv(p.file('out/x.csv'))).toEqual([['id'], ['ü']]);
  });

  it('quotes every awkward value so that parsing the file gives the values back', async () => {
    body = { data: [AWKWARD, { ...AWKWARD, comma: 'second, row' }] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: out/awkward.csv']);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeUndefined();
    const raw = readFileSync(p.file('out/awkward.csv'), 'utf8');
    expect(raw.endsWith('\r\n')).toBe(true);
    expect(raw).toContain('"line 1\nline 2"');
    expect(raw).toContain('"  padded  "');
    const [header, ...rows] = readCsv(p.file('out/awkward.csv'));
    expect(header).toEqual(Object.keys(AWKWARD));
    expect(rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])))).toEqual([AWKWARD_TEXT, { ...AWKWARD_TEXT, comma: 'second, row' }]);
  });

  it('honours delimiter and bom', async () => {
    body = { data: [AWKWARD] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: { path: out/semi.csv, delimiter: ";", bom: true }']);
    await runInProcess(p.dir, 'extract');
    const bytes = readFileSync(p.file('out/semi.csv'));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8')).toContain('\uFEFFcomma;quote;');
    expect(bytes.toString('utf8')).toContain(';"x;y";');
    const [header, row] = readCsv(p.file('out/semi.csv'), ';');
    expect(Object.fromEntries(header!.map((h, i) => [h, row![i]]))).toEqual(AWKWARD_TEXT);
  });

  it('writes no header with header: false', async () => {
    body = { data: [{ a: 1, b: 2 }] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: { path: out/x.csv, header: false }']);
    await runInProcess(p.dir, 'extract');
    expect(readFileSync(p.file('out/x.csv'), 'utf8')).toBe('1,2\r\n');
  });

  it('writes a header-only file for 0 rows with columns, replacing the previous file, and warns', async () => {
    body = { data: [] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', '  columns: { id: $.id, name: $.name }', 'output:', '  - csv: out/x.csv'], {
      'out/x.csv': 'id,name\r\n1,old\r\n',
    });
    const run = await runInProcess(p.dir, 'extract');
    expect(run.result).toMatchObject({ rows: 0, pages: 1 });
    expect(run.result!.warnings).toEqual(['grid.rows $.data[*] matched no rows']);
    expect(readFileSync(p.file('out/x.csv'), 'utf8')).toBe('id,name\r\n');
  });

  it('writes an empty file for 0 rows without columns (there is no first row to take a header from)', async () => {
    body = { data: [], other: [1] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: out/x.csv'], { 'out/x.csv': 'id\r\n1\r\n' });
    const run = await runInProcess(p.dir, 'extract');
    expect(run.result).toMatchObject({ rows: 0 });
    expect(readFileSync(p.file('out/x.csv'), 'utf8')).toBe('');
  });

  it('append: true writes the header once and adds each run\'s rows', async () => {
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: { path: out/log.csv, append: true, bom: true }']);
    body = { data: [{ id: 1, v: 'a' }] };
    await runInProcess(p.dir, 'extract');
    body = { data: [{ id: 2, v: 'b, c' }, { id: 3, v: 'd' }] };
    await runInProcess(p.dir, 'extract');
    body = { data: [] };
    await runInProcess(p.dir, 'extract');
    const text = readFileSync(p.file('out/log.csv'), 'utf8');
    expect(text).toBe('\uFEFFid,v\r\n1,a\r\n2,"b, c"\r\n3,d\r\n');
    expect(readdirSync(p.file('out'))).toEqual(['log.csv']);
  });

  it('append: a failed run leaves the file exactly as the last good run wrote it', async () => {
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: { path: out/log.csv, append: true }']);
    body = { data: [{ id: 1 }] };
    await runInProcess(p.dir, 'extract');
    p.write('jobs/extract.yaml', lines('connection: api', 'grid:', '  path: /partial', '  rows: $.data[*]', 'output:', '  - csv: { path: out/log.csv, append: true }'));
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeDefined();
    expect(readFileSync(p.file('out/log.csv'), 'utf8')).toBe('id\r\n1\r\n');
    expect(readdirSync(p.file('out'))).toEqual(['log.csv']);
  });

  it('append: concurrent runs into one file lose no rows and write one header', async () => {
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: { path: out/log.csv, append: true }']);
    body = { data: Array.from({ length: 200 }, (_, i) => ({ id: i, v: 'x'.repeat(50) })) };
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => runInProcess(p.dir, 'extract', { runId: `run-${i}` })));
    expect(runs.map((r) => r.error)).toEqual(Array(8).fill(undefined));
    const records = readCsv(p.file('out/log.csv'));
    expect(records[0]).toEqual(['id', 'v']);
    // Without the lock, a run that copied the file before another renamed over it drops that run's rows.
    expect(records.length).toBe(1 + 8 * 200);
    expect(readdirSync(p.file('out'))).toEqual(['log.csv']);
  });

  it('fills {job} {date} {time} {runId} in output paths from the run start (UTC)', async () => {
    body = { data: [{ id: 1 }] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - csv: "out/{job}/{date}/{time}-{runId}.csv"']);
    const start = new Date('2026-03-04T05:06:07.890Z');
    const run = await runInProcess(p.dir, 'extract', { clock: () => start, runId: 'run-42' });
    expect(run.error).toBeUndefined();
    expect(existsSync(p.file('out/extract/2026-03-04/050607-run-42.csv'))).toBe(true);
  });
});

describe('atomic CSV', () => {
  it('a run that fails mid-body keeps the previous file and leaves no temp file', async () => {
    const p = setup(['grid:', '  path: /partial', '  rows: $.data[*]', 'output:', '  - csv: out/x.csv']);
    mkdirSync(p.file('out'), { recursive: true });
    writeFileSync(p.file('out/x.csv'), 'id\r\nprevious good run\r\n');
    const run = await runInProcess(p.dir, 'extract', { runId: 'failing-run' });
    expect(run.error).toMatchObject({ code: 'E_NETWORK' });
    expect((run.error as Error).message).toMatch(new RegExp(`^GET ${server.url}/partial failed: `));
    expect(readFileSync(p.file('out/x.csv'), 'utf8')).toBe('id\r\nprevious good run\r\n');
    expect(readdirSync(p.file('out'))).toEqual(['x.csv']);
  });

  it('a failing run with no previous file leaves no file at all', async () => {
    const p = setup(['grid:', '  path: /partial', '  rows: $.data[*]', 'output:', '  - csv: out/x.csv']);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeDefined();
    expect(existsSync(p.file('out')) ? readdirSync(p.file('out')) : []).toEqual([]);
  });
});

describe('grid rows to stdout', () => {
  const rowsBody = { data: [{ id: 1, name: 'a, "b"', nested: { x: null } }, { id: 2, name: 'line\nbreak', nested: { x: true } }] };

  it.each([
    ['ndjson', '{"id":1,"name":"a, \\"b\\"","nested.x":null}\n{"id":2,"name":"line\\nbreak","nested.x":true}\n'],
    ['json', '[\n{"id":1,"name":"a, \\"b\\"","nested.x":null},\n{"id":2,"name":"line\\nbreak","nested.x":true}\n]\n'],
    ['csv', 'id,name,nested.x\r\n1,"a, ""b""",\r\n2,"line\nbreak",true\r\n'],
  ])('format %s', async (format, expected) => {
    body = rowsBody;
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', `  - stdout: { format: ${format} }`]);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.error).toBeUndefined();
    expect(run.stdout).toBe(expected);
    expect(run.result!.outputs).toEqual([`stdout ${format}`]);
  });

  it('prints [] for json and nothing for ndjson when there are no rows', async () => {
    body = { data: [] };
    const p = setup(['grid:', '  path: /rows', '  rows: $.data[*]', 'output:', '  - stdout: { format: json }', '  - stdout: { format: ndjson }']);
    const run = await runInProcess(p.dir, 'extract');
    expect(run.stdout).toBe('[]\n');
  });
});
