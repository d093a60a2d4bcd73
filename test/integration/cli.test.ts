import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { sampleOrder } from '../../src/demo/sample-data.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { runCli } from '../helpers/run-cli.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

let api: SampleApi;
let project: TempProject;
let broken: TempProject;

beforeAll(async () => {
  api = await startSampleApi({ orders: 30, pageSize: 20 });
  project = tempProject({
    'connections.yaml': lines('connections:', '  demo:', '    baseUrl: ${API_URL}', '    accessToken: demo-static-token', '    retry: { attempts: 1 }'),
    'jobs/orders.yaml': lines('connection: demo', 'schedule: "0 * * * *"', 'grid:', '  path: /v1/orders', '  rows: $.data[*]', 'output:', '  - stdout: { format: ndjson }'),
    'jobs/count.yaml': lines('connection: demo', 'params: { status: open }', 'scalar:', '  path: /v1/orders/count', '  query: { status: "{{params.status}}" }', '  value: $.count', 'output:', '  - stdout:'),
    // Past the last page: an empty data array, a legitimate 0-row run.
    'jobs/empty.yaml': lines('connection: demo', 'grid:', '  path: /v1/orders', '  query: { page: "99" }', '  rows: $.data[*]', 'output:', '  - stdout:'),
    'jobs/missing.yaml': lines('connection: demo', 'grid:', '  path: /v1/nowhere', '  rows: $.data[*]'),
  });
  broken = tempProject({
    'connections.yaml': lines('connections:', '  demo:', '    baseUrl: http://127.0.0.1:9', '    securityProtocol: SSL3'),
    'jobs/a.yaml': lines('connection: demo', 'schedule: "every hour"', 'grid:', '  path: /x', '  rows: $.data[*]'),
    'jobs/b.yaml': lines('connection: nope', 'scalar:', '  path: /x', '  value: $.v', '  colum: n'),
  });
});
afterAll(async () => {
  project.cleanup();
  broken.cleanup();
  await api.close();
});

const env = () => ({ API_URL: api.url });
const countOf = (status: string) => Array.from({ length: 30 }, (_, i) => sampleOrder(i + 1)).filter((o) => o.status === status).length;

describe('restq run via the built binary', () => {
  it('stdout carries only data: every line of an ndjson job parses; the summary goes to stderr', async () => {
    const { code, stdout, stderr } = await runCli(['--config', project.dir, 'run', 'orders'], { env: env() });
    expect(code).toBe(0);
    const rows = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ id: 1, 'customer.name': sampleOrder(1).customer.name, 'amount.total': sampleOrder(1).amount.total });
    expect(stderr).toMatch(new RegExp(`^orders \\S+: ${rows.length} rows, 1 page, [\\d.]+ KB, [\\d.]+s → stdout ndjson\\n$`));
  });

  it('a scalar prints its bare value; --param overrides the job default', async () => {
    const open = await runCli(['--config', project.dir, 'run', 'count'], { env: env() });
    expect(open).toMatchObject({ code: 0, stdout: `${countOf('open')}\n` });
    const closed = await runCli(['run', 'count', '--param', 'status=closed', '--config', project.dir], { env: env() });
    expect(closed).toMatchObject({ code: 0, stdout: `${countOf('closed')}\n` });
    expect(countOf('open')).not.toBe(countOf('closed'));
  });

  it('finds the config through RESTQ_CONFIG_DIR, and else in the current directory', async () => {
    const viaEnv = await runCli(['run', 'count'], { env: { ...env(), RESTQ_CONFIG_DIR: project.dir } });
    expect(viaEnv).toMatchObject({ code: 0, stdout: `${countOf('open')}\n` });
    const viaCwd = await runCli(['run', 'count'], { env: env(), cwd: project.dir });
    expect(viaCwd).toMatchObject({ code: 0, stdout: `${countOf('open')}\n` });
    const flagWins = await runCli(['--config', broken.dir, 'validate'], { env: { RESTQ_CONFIG_DIR: project.dir }, cwd: project.dir });
    expect(flagWins.code).toBe(1);
  });

  it('a run with 0 rows succeeds and warns once on stderr', async () => {
    const { code, stdout, stderr } = await runCli(['--config', project.dir, 'run', 'empty'], { env: env() });
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr.match(/grid\.rows \$\.data\[\*\] matched no rows/g)).toHaveLength(1);
    expect(stderr).toMatch(/empty \S+: 0 rows, 1 page, .* → stdout ndjson\n$/);
  });

  it('a failed run exits 1 with the error on stderr and nothing on stdout', async () => {
    const { code, stdout, stderr } = await runCli(['--config', project.dir, 'run', 'missing'], { env: env() });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^error \\[E_HTTP\\]: GET ${api.url}/v1/nowhere answered 404: \\{"error":"not_found","path":"/v1/nowhere"\\}\\n$`));
  });

  it('--dry-run prints the resolved request without sending it', async () => {
    const before = api.stats.apiRequests;
    const { code, stdout } = await runCli(['--config', project.dir, 'run', 'count', '--dry-run', '--param', 'status=closed'], { env: env() });
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as { request: { method: string; url: string; headers: Record<string, string> } };
    expect(plan.request).toMatchObject({ method: 'GET', url: `${api.url}/v1/orders/count?status=closed`, headers: { authorization: 'Bearer [secret demo…(17)]' } });
    expect(api.stats.apiRequests).toBe(before);
  });
});

describe('restq validate', () => {
  it('prints a one-line summary and exits 0 when everything is valid', async () => {
    const { code, stdout, stderr } = await runCli(['validate', '--config', project.dir], { env: env() });
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toBe(`ok: 1 connection, 4 jobs, 1 scheduled (${project.dir})\n`);
  });

  it('reports every error at once as file:line:col message, and exits 1', async () => {
    const { code, stdout, stderr } = await runCli(['validate', '--config', broken.dir]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^connections\.yaml:4:5 connection "demo": securityProtocol SSL3 is not supported/),
      expect.stringMatching(/^jobs\/a\.yaml:2:11 job "a": invalid cron schedule "every hour"/),
      expect.stringMatching(/^jobs\/b\.yaml:1:13 job "b": connection "nope" is not defined in connections\.yaml; defined: demo$/),
      expect.stringMatching(/^jobs\/b\.yaml:5:3 unknown key "colum" in scalar: did you mean "column"\?$/),
      '4 configuration errors',
    ]);
  });

  it('a command on a broken config stops before doing anything (exit 1)', async () => {
    const { code, stderr } = await runCli(['run', 'a', '--config', broken.dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/4 configuration errors\n$/);
  });
});

// Independent processes: run side by side to keep the suite short.
describe.concurrent('exit codes', () => {
  it.each([
    [['frob'], 2, /error: unknown command 'frob'/],
    [['run', 'count', '--frob'], 2, /error: unknown option '--frob'/],
    [['run', 'count', '--param', 'novalue'], 2, /error: --param expects key=value, got "novalue"/],
    [['run', 'count', '--param'], 2, /error: option '--param <key=value>' argument missing/],
    [['run'], 2, /error: missing required argument 'job'/],
    [['run', 'nosuchjob'], 2, /error: unknown job "nosuchjob": defined jobs are count, empty, missing, orders/],
    [['--log-level', 'loud', 'validate'], 2, /error: option '--log-level <level>' argument 'loud' is invalid/],
    [['--help'], 0, /^$/],
  ])('restq %j exits %i', async (args, expected, stderr) => {
    const result = await runCli(['--config', project.dir, ...args], { env: env() });
    expect(result.code).toBe(expected);
    expect(result.stderr).toMatch(stderr);
  });
});

describe('restq schema', () => {
  it('writes the committed JSON Schema files', async () => {
    const out = tempProject({});
    try {
      const { code, stderr } = await runCli(['schema', '--out', out.dir]);
      expect(code).toBe(0);
      expect(stderr).toContain('connections.schema.json');
      for (const file of ['connections.schema.json', 'job.schema.json']) {
        const committed = readFileSync(path.resolve('schema', file), 'utf8');
        expect(readFileSync(out.file(file), 'utf8'), `schema/${file} is stale: run npm run schema`).toBe(committed);
      }
    } finally {
      out.cleanup();
    }
  });
});
