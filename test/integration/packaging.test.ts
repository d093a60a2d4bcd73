/* eslint-disable no-control-regex -- this test reads what a terminal receives */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';

const exec = promisify(execFile);
const repo = path.resolve('.');

/**
 * The package as users get it: `npm pack`, then `npm install <tarball> --omit=dev` in a fresh
 * project (dependencies from the registry or npm's cache, never from this checkout's
 * node_modules), then the installed `restq` on a pseudo-terminal. A dev-only dependency loaded
 * by src/ (pino-pretty was one) breaks exactly here.
 */
describe('the packed and installed restq (production dependencies only)', () => {
  let work: string;
  let project: string;
  let api: SampleApi;
  let restq: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'restq-pack-'));
    api = await startSampleApi({ orders: 300, pageSize: 100, pageDelayMs: 150 });
    // dist/ is built by `npm test` before vitest runs; --ignore-scripts keeps pack from building again.
    const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo, maxBuffer: 32 * 1024 * 1024 });
    const tarball = path.join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    project = path.join(work, 'project');
    mkdirSync(path.join(project, 'jobs'), { recursive: true });
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'restq-user', version: '1.0.0', private: true }));
    await exec('npm', ['install', tarball, '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: project, maxBuffer: 32 * 1024 * 1024 });
    restq = path.join(project, 'node_modules', '.bin', 'restq');
    writeFileSync(path.join(project, 'connections.yaml'), `connections:\n  demo:\n    baseUrl: ${api.url}\n    accessToken: demo-static-token\n`);
    writeFileSync(path.join(project, 'jobs', 'orders.yaml'), 'connection: demo\ngrid:\n  path: /v1/orders\n  query: { per_page: 100 }\n  rows: $.data[*]\n  paginate: { nextUrl: $.links.next }\noutput:\n  - csv: out/orders.csv\n');
  }, 600_000);

  afterAll(async () => {
    await api?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has no dev dependency installed', () => {
    const installed = path.join(project, 'node_modules');
    // Dev dependencies that no production dependency pulls in: none of them may be installed.
    for (const name of ['pino-pretty', 'typescript', 'vitest', 'playwright-core', 'eslint', 'tsx']) expect(existsSync(path.join(installed, name)), name).toBe(false);
    expect(existsSync(path.join(installed, 'restq', 'dist', 'cli.js'))).toBe(true);
  });

  it('validates, and runs a job on a terminal: pretty log lines, a live progress line, a summary, no crash', async () => {
    const validate = await exec(restq, ['validate'], { cwd: project, env: { ...process.env, REDIS_URL: '' } });
    expect(validate.stderr).toMatch(/^ok: 1 connection, 1 job/m);

    const { stdout: shown } = await exec('script', ['-qec', `'${restq}' run orders`, '/dev/null'], {
      cwd: project,
      env: { ...process.env, REDIS_URL: '', LOG_LEVEL: 'debug', NO_COLOR: '', TERM: 'xterm-256color' },
      timeout: 60_000,
    });
    expect(shown).not.toMatch(/unable to determine transport target|Error:|error \[/);
    // Pretty, coloured log lines (not JSON) with the request log of debug level.
    expect(shown).not.toContain('"level":');
    expect(shown).toMatch(/\x1b\[36mDEBUG\x1b\[0m run started/);
    expect(shown).toMatch(/DEBUG\x1b\[0m GET 200 .*url=\x1b\[0mhttp:\/\/127\.0\.0\.1:\d+\/v1\/orders\?per_page=100/);
    // The live line, drawn on its own row, ending on the final figures, then the summary.
    expect(shown).toMatch(/\r\x1b\[2Kpages 3 · rows 300 · [\d,]+ rows\/s · [\d.]+ KB · [\d.]+s/);
    expect(shown).toMatch(/\r\x1b\[2Korders \S+: 300 rows, 3 pages, [\d.]+ KB, [\d.]+s → csv /);
    expect(readFileSync(path.join(project, 'out', 'orders.csv'), 'utf8')).toMatch(/^id,status,/);
  }, 120_000);
});
