import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { demoProject, type Project } from '../helpers/queue-fixture.js';
import { startSecureRedis, type SecureRedis } from '../helpers/redis-topology.js';
import { runCli, spawnRestq, type CliResult, type RestqProcess } from '../helpers/run-cli.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

/**
 * `rediss://` and ACL credentials in REDIS_URL (issue 14, SPEC 4.1), against real redis-server
 * processes: one with an ACL user (the `default` user off), one speaking TLS only (`--port 0`)
 * with a throwaway CA and the same ACL user. A worker, `enqueue --wait` and `status` must work
 * through them; a wrong password and an untrusted certificate must be clear E_REDIS errors that
 * name the server and never the password.
 */
const TOKEN = 'at-redis-auth-tls-9d2e';
const USER = 'restq';
// Characters that must be URL-encoded in REDIS_URL: restq (and ioredis) decode them.
const PASSWORD = 's3cret-pw/with:@%';
const ENCODED = encodeURIComponent(PASSWORD);
const WRONG = 'not-the-pw-7731';

let api: SampleApi;
let ca: TestCa;
let acl: SecureRedis;
let tls: SecureRedis;
let project: Project;
const processes: RestqProcess[] = [];

beforeAll(async () => {
  [api, ca] = await Promise.all([startSampleApi({ staticTokens: [TOKEN] }), createTestCa()]);
  [acl, tls] = await Promise.all([
    startSecureRedis({ acl: { user: USER, password: PASSWORD } }),
    startSecureRedis({ acl: { user: USER, password: PASSWORD }, tls: { cert: ca.cert, key: ca.key, ca: ca.caCert } }),
  ]);
  project = demoProject(api.url, TOKEN, {
    count: 'connection: demo\nscalar: { path: /v1/orders/count, value: $.count }\noutput: [{ csv: "out/{runId}.csv" }]\n',
  });
}, 60_000);

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await api?.close();
  await acl?.cleanup();
  await tls?.cleanup();
  project?.cleanup();
});

/** A queue of its own per test, on the given server. */
function envFor(redisUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const id = randomUUID().slice(0, 8);
  return { REDIS_URL: redisUrl, RESTQ_QUEUE: `q-${id}`, RESTQ_PREFIX: `auth-tls-${id}`, RESTQ_SHUTDOWN_GRACE: '5s', ...extra };
}

const cli = (args: string[], env: Record<string, string>) => runCli(['--config', project.dir, ...args], { env: { LOG_LEVEL: 'info', ...env } });

/** Nothing restq printed holds the password, raw or URL-encoded. */
function expectNoPassword(...outputs: string[]): void {
  for (const text of outputs) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(ENCODED);
    expect(text).not.toContain(WRONG);
  }
}

/** A worker, `enqueue --wait` and `status --json` against `env`'s Redis: the run completes. */
async function runThroughRedis(env: Record<string, string>): Promise<{ worker: RestqProcess; enqueue: CliResult; status: CliResult }> {
  const worker = spawnRestq(['worker'], env, project.dir);
  processes.push(worker);
  await worker.waitForStderr(/worker ready/, 30_000);
  const enqueue = await cli(['enqueue', 'count', '--wait'], env);
  expect(enqueue.stderr).not.toMatch(/error/i);
  expect(enqueue.code).toBe(0);
  const runId = enqueue.stdout.trim();
  expect(readFileSync(path.join(project.dir, 'out', `${runId}.csv`), 'utf8').trim().split(/\r?\n/)).toHaveLength(2);
  const status = await cli(['status', '--json'], env);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({
    jobs: [{ name: 'count', lastRun: { runId, status: 'succeeded', rows: 1, error: null } }],
    queue: { waiting: 0, active: 0, completed: 1, failed: 0 },
  });
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  return { worker, enqueue, status };
}

describe('ACL credentials in REDIS_URL', () => {
  it('worker, enqueue --wait and status work as the ACL user; the password is in no output', async () => {
    const { worker, enqueue, status } = await runThroughRedis(envFor(`redis://${USER}:${ENCODED}@127.0.0.1:${acl.port}`));
    // The worker names the server it uses, with the password masked.
    expect(worker.stderr()).toContain(`redis://${USER}:***@127.0.0.1:${acl.port}`);
    expectNoPassword(worker.stdout(), worker.stderr(), enqueue.stdout, enqueue.stderr, status.stdout, status.stderr);
  }, 90_000);

  it('a wrong password is E_REDIS naming the server and the fix, exit 1, for every command; the password is not echoed', async () => {
    const env = envFor(`redis://${USER}:${WRONG}@127.0.0.1:${acl.port}`);
    const results = await Promise.all([cli(['status'], env), cli(['enqueue', 'count'], env), cli(['worker'], env), cli(['dashboard', '--port', '0'], env)]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error [E_REDIS]: Redis at redis://${USER}:***@127.0.0.1:${acl.port} refused the login (WRONGPASS`);
      expect(result.stderr).toContain('check the user and password in REDIS_URL');
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expectNoPassword(result.stdout, result.stderr);
    }
  }, 60_000);

  it('a password changed under a running worker: errors are logged without it, and the worker recovers when it is back', async () => {
    const env = envFor(`redis://${USER}:${ENCODED}@127.0.0.1:${acl.port}`);
    const admin = new Redis({ host: '127.0.0.1', port: acl.port, username: USER, password: PASSWORD });
    try {
      const worker = spawnRestq(['worker'], env, project.dir);
      processes.push(worker);
      await worker.waitForStderr(/worker ready/, 30_000);
      // Rotate the password and drop the worker's connections: they reconnect with the old one.
      await admin.call('ACL', 'SETUSER', USER, 'resetpass', `>${WRONG}`);
      await admin.call('CLIENT', 'KILL', 'USER', USER, 'SKIPME', 'yes');
      await worker.waitForStderr(/WRONGPASS/, 30_000);
      await admin.call('ACL', 'SETUSER', USER, 'resetpass', `>${PASSWORD}`);
      const enqueue = await cli(['enqueue', 'count', '--wait'], env);
      expect(enqueue.code).toBe(0);
      expect(worker.child.exitCode).toBeNull();
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expectNoPassword(worker.stdout(), worker.stderr(), enqueue.stdout, enqueue.stderr);
    } finally {
      admin.disconnect();
    }
  }, 90_000);

  it('no credentials where the server needs them: says to put the user and password in REDIS_URL', async () => {
    const result = await cli(['status'], envFor(`redis://127.0.0.1:${acl.port}`));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error [E_REDIS]: Redis at redis://127.0.0.1:${acl.port} needs a login (NOAUTH`);
    expect(result.stderr).toContain('redis://user:password@host:port');
  }, 30_000);
});

describe('rediss:// (TLS)', () => {
  it('with the CA in NODE_EXTRA_CA_CERTS a run completes through the TLS-only server', async () => {
    const caFile = path.join(tls.dir, 'client-ca.pem');
    writeFileSync(caFile, ca.caCert);
    const { worker, enqueue, status } = await runThroughRedis(envFor(`rediss://${USER}:${ENCODED}@127.0.0.1:${tls.port}`, { NODE_EXTRA_CA_CERTS: caFile }));
    expect(worker.stderr()).toContain(`rediss://${USER}:***@127.0.0.1:${tls.port}`);
    expectNoPassword(worker.stdout(), worker.stderr(), enqueue.stdout, enqueue.stderr, status.stdout, status.stderr);
  }, 90_000);

  it('a server certificate Node does not trust is E_REDIS saying to set NODE_EXTRA_CA_CERTS, exit 1', async () => {
    const env = envFor(`rediss://${USER}:${ENCODED}@127.0.0.1:${tls.port}`);
    const results = await Promise.all([cli(['status'], env), cli(['worker'], env)]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error [E_REDIS]: the TLS certificate of Redis at rediss://${USER}:***@127.0.0.1:${tls.port} is not trusted (self-signed certificate in certificate chain)`);
      expect(result.stderr).toContain('NODE_EXTRA_CA_CERTS=/path/to/ca.pem');
      expectNoPassword(result.stdout, result.stderr);
    }
  }, 60_000);

  it('redis:// (no TLS) against the TLS port says to use rediss://, exit 1', async () => {
    const env = envFor(`redis://${USER}:${ENCODED}@127.0.0.1:${tls.port}`);
    const result = await cli(['status'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Redis at redis://${USER}:***@127.0.0.1:${tls.port}`);
    expect(result.stderr).toContain(`rediss://`);
    expect(result.stderr).toMatch(/speaks TLS/);
    expectNoPassword(result.stdout, result.stderr);
  }, 60_000);
});
