import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/http-test-server.js';
import { CLI } from '../helpers/run-cli.js';

// The CLI loads a command's modules only when that command runs (src/cli.ts). Proven on the built
// binary with a module hook that records every module the process loads (record-loads.mjs).
const RECORDER = path.resolve('test/helpers/record-loads.mjs');
/** What a small `restq run` must never load: the queue, the web console, tracing, Redis, metrics. */
const HEAVY = ['bullmq', '@bull-board/api', '@bull-board/express', 'express', '@opentelemetry/api', 'bullmq-otel', 'ioredis', 'prom-client'];

interface Loaded {
  code: number | null;
  stdout: string;
  stderr: string;
  /** npm packages the process loaded. */
  packages: Set<string>;
  /** restq's own modules it loaded (paths under dist/). */
  modules: Set<string>;
  /** Node's own modules it loaded (`node:child_process`, `node:internal/fs/streams`). */
  builtins: Set<string>;
}

const work = mkdtempSync(path.join(tmpdir(), 'restq-loads-'));
let runs = 0;

function restqRecorded(args: string[], env: Record<string, string> = {}): Promise<Loaded> {
  const file = path.join(work, `loads-${++runs}.txt`);
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], RECORD_LOADS_FILE: file, ...env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RECORDER, CLI, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // The CLI is a bundle (scripts/bundle-cli.mjs): a loaded file stands for the modules its
      // source map lists, restq's own (src/x.ts, named here as dist/x.js) and the packages inlined.
      const lines = readFileSync(file, 'utf8').split('\n').flatMap((l) => (/\/dist\/(cli\.js|cli-chunks\/[^/]+\.js)$/.test(l) ? bundledSources(l) : [l]));
      const packages = new Set(lines.flatMap((l) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(l)?.[1] ?? []));
      const modules = new Set(lines.flatMap((l) => /\/(?:dist|src)\/(.+)\.[jt]s$/.exec(l)?.[1]?.concat('.js') ?? []));
      const builtins = new Set(lines.filter((l) => l.startsWith('node:')));
      resolve({ code, stdout, stderr, packages, modules, builtins });
    });
  });
}

/** The original modules of a bundle file, from its source map (`sources`, relative to the map). */
function bundledSources(loadedUrl: string): string[] {
  const file = loadedUrl.startsWith('file:') ? new URL(loadedUrl).pathname : loadedUrl;
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
  return map.sources.map((source) => path.resolve(path.dirname(file), source));
}

let api: TestServer;
let project: ConfigDir;
/** The same project without a schedule: nothing for cron-parser (and luxon) to check. */
let unscheduled: ConfigDir;

beforeAll(async () => {
  api = await startTestServer((req, res) => {
    if (req.url?.startsWith('/v1/orders')) return sendJson(res, 200, { data: [{ id: 1, status: 'open' }, { id: 2, status: 'paid' }] });
    sendJson(res, 404, { error: 'not found' });
  });
  project = tempConfigDir({
    'connections.yaml': 'connections:\n  api:\n    baseUrl: ${API_URL}\n    accessToken: static-token\n',
    'jobs/orders.yaml': 'connection: api\nschedule: "0 * * * *"\ngrid:\n  path: /v1/orders\n  rows: $.data[*]\n  columns: { id: $.id, status: $.status }\noutput:\n  - stdout: { format: ndjson }\n',
  });
  unscheduled = tempConfigDir({
    'connections.yaml': 'connections:\n  api:\n    baseUrl: http://127.0.0.1:1\n    accessToken: static-token\n',
    'jobs/orders.yaml': 'connection: api\ntimezone: Europe/Berlin\ngrid:\n  path: /v1/orders\n  rows: $.data[*]\n  columns: { id: $.id }\noutput:\n  - stdout: { format: ndjson }\n',
  });
});
afterAll(async () => {
  project.cleanup();
  unscheduled.cleanup();
  await api.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the CLI loads only what the command needs', () => {
  it('--help loads commander and none of restq\'s command modules', async () => {
    const help = await restqRecorded(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: restq');
    expect([...help.packages]).toEqual(['commander']);
    expect([...help.modules].filter((m) => m.startsWith('commands/'))).toEqual([]);
    // Node's modules come through require (scripts/bundle-cli.mjs): no ES module facade reading
    // every export of node:fs (which loads its streams), no child_process for commander.
    // (node:process is commander's: the recorder does see what the CLI loads.)
    expect(help.builtins).toContain('node:process');
    for (const unused of ['node:child_process', 'node:internal/fs/streams', 'node:crypto']) expect(help.builtins, unused).not.toContain(unused);
  });

  it('validate loads the config code only: no HTTP client, logger, queue or Redis', async () => {
    const validate = await restqRecorded(['--config', project.dir, 'validate'], { API_URL: api.url });
    expect(validate.code).toBe(0);
    expect(validate.stderr).toContain('ok: 1 connection, 1 job, 1 scheduled');
    expect(validate.modules).toContain('commands/validate.js');
    for (const heavy of [...HEAVY, 'undici', 'pino', 'csv-stringify', 'jsonpath-plus']) expect(validate.packages, heavy).not.toContain(heavy);
    // A schedule to check: cron-parser is loaded (so the assertion below can fail).
    expect(validate.packages).toContain('cron-parser');
    // node:crypto is for jwt_bearer keys (and the queue): a config without them does not load it.
    expect(validate.builtins).toContain('node:process');
    for (const unused of ['node:crypto', 'node:child_process', 'node:internal/fs/streams']) expect(validate.builtins, unused).not.toContain(unused);
  });

  it('validate without any schedule loads neither cron-parser, luxon nor jsonpath-plus', async () => {
    const validate = await restqRecorded(['--config', unscheduled.dir, 'validate']);
    expect(validate.stderr).toContain('ok: 1 connection, 1 job, 0 scheduled');
    expect(validate.code).toBe(0);
    expect(validate.packages).toContain('yaml');
    for (const lazy of ['cron-parser', 'luxon', 'jsonpath-plus']) expect(validate.packages, lazy).not.toContain(lazy);
  });

  it('run of a small job loads neither BullMQ, Bull Board, express, OpenTelemetry nor Redis', async () => {
    const run = await restqRecorded(['--config', project.dir, 'run', 'orders'], { API_URL: api.url });
    expect(run.stderr).toMatch(/orders \S+: 2 rows, 1 page/);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { id: 1, status: 'open' },
      { id: 2, status: 'paid' },
    ]);
    // The recorder saw the run's own code, so an empty list below means "not loaded", not "not seen".
    expect(run.packages).toContain('undici');
    expect(run.modules).toContain('runner.js');
    for (const heavy of HEAVY) expect(run.packages, heavy).not.toContain(heavy);
  });
});
