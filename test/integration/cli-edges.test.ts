import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { CLI, runCli, startCli } from '../helpers/run-cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';

const TOKEN = 'at-cli-edges-5e1d';
let fast: SampleApi;
let slow: SampleApi;
let project: TempProject;

beforeAll(async () => {
  fast = await startSampleApi({ staticTokens: [TOKEN], orders: 20_000, pageSize: 1000 });
  slow = await startSampleApi({ staticTokens: [TOKEN], orders: 3000, pageSize: 100, pageDelayMs: 300 });
  project = tempProject({
    'connections.yaml': `connections:\n  fast:\n    baseUrl: ${fast.url}\n    accessToken: ${TOKEN}\n  slow:\n    baseUrl: ${slow.url}\n    accessToken: ${TOKEN}\n    refresh: { endpoint: ${slow.url}/oauth/token, refreshToken: "\${REFRESH_TOKEN:-rt-unused}" }\n`,
    'jobs/rows.yaml': 'connection: fast\ngrid:\n  path: /v1/orders\n  query: { per_page: 1000 }\n  rows: $.data[*]\n  paginate: { page: { param: page, start: 1 } }\noutput:\n  - stdout: { format: ndjson }\n',
    'jobs/slow.yaml': 'connection: slow\ngrid:\n  path: /v1/orders\n  rows: $.data[*]\n  paginate: { page: { param: page, start: 1 } }\noutput:\n  - csv: out/slow.csv\n',
  });
});

afterAll(async () => {
  await fast.close();
  await slow.close();
  project.cleanup();
});

describe('restq run at the edges of a shell', () => {
  it('`restq run JOB | head -2`: the reader closes the pipe early (EPIPE) and restq exits 0 without a stack trace', async () => {
    const script = `node '${CLI}' --config '${project.dir}' run rows | head -2; echo "restq exited $\{PIPESTATUS[0]}" >&2`;
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    expect(stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 2]);
    expect(stderr).toContain('restq exited 0');
    expect(stderr).not.toMatch(/EPIPE|\n\s+at |Error:/);
    // It stopped early: far fewer than the 20 pages were asked for.
    expect(fast.stats.apiRequests).toBeLessThan(20);
  });

  it('Ctrl-C (SIGINT) during `restq run` stops it, exit 130, no temp file and no partial CSV left', async () => {
    const run = startCli(['--config', project.dir, 'run', 'slow'], { env: { LOG_LEVEL: 'info' } });
    const out = path.join(project.dir, 'out');
    await until(() => existsSync(out) && readdirSync(out).some((f) => f.includes('.tmp-')), 'the run to start writing its temp file', 20_000);
    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(code).toBe(130);
    expect(readdirSync(out)).toEqual([]);
    expect(run.stderr()).toContain('error [E_INTERRUPTED]: job "slow" interrupted by SIGINT');
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  it('a malformed RESTQ_SECRET_KEY stops restq before anything runs, with a fix and without echoing the value', async () => {
    const key = 'not-a-key-3f9a';
    const fresh = tempProject({ 'connections.yaml': readFileSync(project.file('connections.yaml'), 'utf8') });
    try {
      const result = await runCli(['--config', fresh.dir, 'token', 'slow'], { env: { RESTQ_SECRET_KEY: key } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('E_CONFIG');
      expect(result.stderr).toContain('RESTQ_SECRET_KEY must be 32 random bytes as 64 hex characters or base64');
      expect(result.stderr).toContain('openssl rand -hex 32');
      expect(result.stderr).not.toContain(key);
      expect(result.stdout).toBe('');
      expect(existsSync(fresh.file('.restq'))).toBe(false); // no token state written with a bad key
    } finally {
      fresh.cleanup();
    }
  });

  it('a well-formed RESTQ_SECRET_KEY is accepted (the check above is about the format)', async () => {
    const result = await runCli(['--config', project.dir, 'run', 'rows'], { env: { RESTQ_SECRET_KEY: 'ab'.repeat(32) } });
    expect(result.stderr).not.toContain('RESTQ_SECRET_KEY');
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(project.dir, 'jobs', 'rows.yaml'), 'utf8')).toContain('stdout');
  });
});
