import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionsYaml, tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { json, startServer, type TestServer } from '../helpers/json-server.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * The bad-input corpus for the command line: what a new user types or sets, and the exit code
 * and message restq must answer with. Never a stack trace or a bare internal error.
 */
let server: TestServer;
let project: ConfigDir;
beforeAll(async () => {
  server = await startServer({ '/items': (_req, res) => json(res, { items: [{ id: 1 }], meta: {} }) });
  project = tempConfigDir({
    'connections.yaml': connectionsYaml(server.url),
    'jobs/wrongpath.yaml': 'connection: api\ngrid:\n  path: /items\n  rows: $.data[*]\noutput:\n  - csv: out/x.csv\n',
    'out/x.csv': 'id\r\n7\r\n',
  });
});
afterAll(async () => {
  await server.close();
  project.cleanup();
});

const CASES: [string, string[], Record<string, string>, number, RegExp][] = [
  ['REDIS_SENTINEL_MASTER without REDIS_SENTINELS', ['status'], { REDIS_SENTINEL_MASTER: 'mymaster' }, 1, /REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS/],
  ['REDIS_SENTINELS without a master name', ['status'], { REDIS_SENTINELS: '127.0.0.1:26379' }, 1, /REDIS_SENTINELS needs REDIS_SENTINEL_MASTER/],
  ['both REDIS_SENTINELS and REDIS_CLUSTER', ['status'], { REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_CLUSTER: '127.0.0.1:7000' }, 1, /choose one Redis topology/],
  ['REDIS_CLUSTER with a bad node', ['status'], { REDIS_CLUSTER: '127.0.0.1:notaport' }, 1, /REDIS_CLUSTER: "127\.0\.0\.1:notaport" is not host:port/],
  ['REDIS_URL with another scheme', ['status'], { REDIS_URL: 'http://127.0.0.1:6379' }, 1, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
];

describe('bad command-line input corpus', () => {
  it.each(CASES)('%s', async (_name, args, env, code, message) => {
    const result = await runCli(['--config', project.dir, ...args], { env });
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at |TypeError|ReferenceError|E_INTERNAL/);
    expect(result.stdout).toBe('');
  }, 60_000);

  it('a rows path whose parent key is missing: exit 1 naming the path and the keys, the previous CSV kept', async () => {
    const result = await runCli(['--config', project.dir, 'run', 'wrongpath']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('grid.rows $.data[*] found no "data"');
    expect(result.stderr).toContain('top-level keys: items, meta');
    expect(readFileSync(project.file('out/x.csv'), 'utf8')).toBe('id\r\n7\r\n');
    expect(existsSync(project.file('out/x.csv.tmp'))).toBe(false);
  }, 60_000);
});

export const CLI_CORPUS_SIZE = CASES.length + 1;
