import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionsYaml, tempProject, type TempProject } from '../helpers/temp-project.js';
import { json, startServer, type TestServer } from '../helpers/http-test-server.js';
import { runInProcess } from '../helpers/run-in-process.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

let server: TestServer;
let body: unknown;
beforeAll(async () => {
  server = await startServer({ '/count': (_req, res) => json(res, body) });
});
afterAll(() => server.close());

let project: TempProject | undefined;
afterEach(() => project?.cleanup());

function setup(value: string, output = ['  - stdout:', '  - csv: out/count.csv']): TempProject {
  project = tempProject({
    'connections.yaml': connectionsYaml(server.url),
    'jobs/count.yaml': lines('connection: api', 'scalar:', '  path: /count', `  value: ${value}`, '  column: open_orders', 'output:', ...output),
  });
  return project;
}

describe('scalar queries', () => {
  it.each([
    ['a number', { meta: { count: 42 } }, '$.meta.count', '42\n', 'open_orders\r\n42\r\n'],
    ['a string', { status: 'green, "ok"' }, '$.status', 'green, "ok"\n', 'open_orders\r\n"green, ""ok"""\r\n'],
    ['null', { count: null }, '$.count', '\n', 'open_orders\r\n\r\n'],
    ['zero', { count: 0 }, '$.count', '0\n', 'open_orders\r\n0\r\n'],
    ['false', { ok: false }, '$.ok', 'false\n', 'open_orders\r\nfalse\r\n'],
    ['an object (as JSON text)', { totals: { a: 1 } }, '$.totals', '{"a":1}\n', 'open_orders\r\n"{""a"":1}"\r\n'],
    ['the first of several matches', { items: [{ n: 7 }, { n: 8 }] }, '$.items[*].n', '7\n', 'open_orders\r\n7\r\n'],
  ])('%s: stdout prints the bare value, CSV one row under the column name', async (_name, response, value, stdout, csv) => {
    body = response;
    const p = setup(value);
    const run = await runInProcess(p.dir, 'count');
    expect(run.error).toBeUndefined();
    expect(run.stdout).toBe(stdout);
    expect(readFileSync(p.file('out/count.csv'), 'utf8')).toBe(csv);
    expect(run.result).toMatchObject({ rows: 1, pages: 1, outputs: ['stdout value', expect.stringMatching(/^csv .*count\.csv$/)] });
  });

  it('prints the bare value whatever the stdout format', async () => {
    body = { count: 5 };
    const p = setup('$.count', ['  - stdout: { format: json }']);
    expect((await runInProcess(p.dir, 'count')).stdout).toBe('5\n');
  });

  it('fails when the path matches nothing, naming the path and the top-level keys but no values', async () => {
    body = { total_count: 'secret-ish value 123', meta: { page: 1 } };
    const p = setup('$.count');
    const run = await runInProcess(p.dir, 'count');
    expect(run.error).toMatchObject({ code: 'E_JSONPATH' });
    const message = (run.error as Error).message;
    expect(message).toBe(`job "count": scalar.value $.count matched nothing in the response of GET ${server.url}/count (top-level keys: total_count, meta)`);
    expect(message).not.toContain('secret-ish');
    expect(run.stdout).toBe('');
  });

  it('describes a response that is not an object', async () => {
    body = [1, 2, 3];
    const p = setup('$.count');
    const run = await runInProcess(p.dir, 'count');
    expect((run.error as Error).message).toMatch(/matched nothing .* \(an array of 3\)$/);
  });
});
