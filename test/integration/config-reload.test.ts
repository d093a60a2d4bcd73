import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSampleApi, type SampleApi } from '../../src/demo/sample-api.js';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { demoProject, type TempProject } from '../helpers/temp-project.js';
import { until } from '../helpers/wait-for.js';
import { spawnRestq, type RestqProcess } from '../helpers/run-cli.js';

// Config reload (issue 14 item 4): running workers and `start` pick up changed config files
// (file watching, debounced) and SIGHUP, keep the last good config on a broken change, and
// re-sync schedules. Real Redis, real processes, the built CLI.

const url = inject('redisUrl');
const TOKEN = 'at-config-reload-3e7a';
let api: SampleApi;
let admin: Redis;
const processes: RestqProcess[] = [];

beforeAll(async () => {
  api = await startSampleApi({ staticTokens: [TOKEN] });
  admin = new Redis(url);
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await api.close();
  admin.disconnect();
});

function restq(args: string[], env: Record<string, string | undefined>, dir: string): RestqProcess {
  const p = spawnRestq(args, env, dir);
  processes.push(p);
  return p;
}

const project = (jobs: Record<string, string>) => demoProject(api.url, TOKEN, jobs);
const countJob = (file: string) => `connection: demo
scalar: { path: /v1/orders/count, value: $.count }
output: [{ csv: "out/${file}.csv" }]
`;
const tickJob = `connection: demo
schedule: "* * * * * *"
scalar: { path: /v1/orders/count, value: $.count }
output: [{ csv: { path: "out/tick.csv", append: true } }]
`;

function csvLines(file: string): number {
  try {
    return readFileSync(file, 'utf8').trim().split(/\r?\n/).length;
  } catch {
    return 0;
  }
}

async function enqueueWait(job: string, env: Record<string, string>, dir: string): Promise<RestqProcess> {
  const enqueue = restq(['enqueue', job, '--wait'], env, dir);
  await enqueue.exited;
  return enqueue;
}

/** The log line of a reload that added one job to the one the project started with. */
const ADDED_ONE = /config reloaded: 2 jobs \(\+1, -0, ~0\)/;

type Settings = ReturnType<typeof testSettings>;

/** A project with job "first" and fresh queue settings for one test; both removed after it (the Redis keys too). */
async function withProject(overrides: Record<string, string>, test: (proj: TempProject, settings: Settings) => Promise<void>): Promise<void> {
  const proj = project({ first: countJob('first') });
  const settings = testSettings(url, overrides);
  try {
    await test(proj, settings);
  } finally {
    await deletePrefix(admin, settings.prefix).catch(() => undefined);
    proj.cleanup();
  }
}

/** `restq ARGS` in `dir`, once `ready` is in its log. */
async function started(args: string[], env: Record<string, string | undefined>, dir: string, ready: RegExp): Promise<RestqProcess> {
  const p = restq(args, env, dir);
  await p.waitForStderr(ready, 60_000);
  return p;
}

/** Adds the every-second job "tick" to a running `start` and waits for two of its runs. */
async function addTickAndSeeItRun(start: RestqProcess, proj: TempProject): Promise<void> {
  proj.writeJob('tick', tickJob);
  await start.waitForStderr(ADDED_ONE, 60_000);
  const csv = path.join(proj.dir, 'out', 'tick.csv');
  await until(() => csvLines(csv) >= 3, 'two runs of the added scheduled job', 60_000, 100);
}

async function stopsCleanly(p: RestqProcess): Promise<void> {
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}

describe('config reload in running processes', () => {
  it('a worker picks up a job file added while it runs, and keeps the last good config on a broken change', () =>
    withProject({}, async (proj, settings) => {
      const worker = await started(['worker'], settings.env, proj.dir, /worker ready/);
      proj.writeJob('second', countJob('second'));
      await worker.waitForStderr(ADDED_ONE, 60_000);
      const second = await enqueueWait('second', settings.env, proj.dir);
      expect(second.stderr()).not.toContain('unknown job');
      expect(await second.exited).toBe(0);
      expect(csvLines(path.join(proj.dir, 'out', 'second.csv'))).toBe(2);

      // A broken change: logged with its file, and the last good config stays in use.
      proj.writeJob('broken', 'connection: demo\nscalar: [unclosed\n');
      await worker.waitForStderr(/config reload failed, keeping the last good config/, 60_000);
      expect(worker.stderr()).toContain('broken.yaml');
      expect(worker.stderr()).not.toContain(TOKEN);
      // `enqueue` loads the project too: it runs from a good copy, the worker from the broken one.
      const good = project({ first: countJob('first') });
      const first = await enqueueWait('first', settings.env, good.dir).finally(() => good.cleanup());
      expect(first.stderr()).toMatch(/^first .*1 row/);
      expect(await first.exited).toBe(0);
      expect(csvLines(path.join(proj.dir, 'out', 'first.csv'))).toBe(2);
      expect(worker.child.exitCode).toBeNull();
      await stopsCleanly(worker);
    }), 180_000);

  it('SIGHUP reloads the config (file watching off)', () =>
    withProject({ RESTQ_CONFIG_WATCH: 'off' }, async (proj, settings) => {
      const worker = await started(['worker'], settings.env, proj.dir, /worker ready/);
      proj.writeJob('hup', countJob('hup'));
      // Watching is off: nothing reloads until the signal.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(worker.stderr()).not.toContain('config reloaded');
      worker.child.kill('SIGHUP');
      await worker.waitForStderr(ADDED_ONE, 60_000);
      const hup = await enqueueWait('hup', settings.env, proj.dir);
      expect(await hup.exited).toBe(0);
      expect(csvLines(path.join(proj.dir, 'out', 'hup.csv'))).toBe(2);
      await stopsCleanly(worker);
    }), 180_000);

  it('standalone start runs a scheduled job added while it runs', () =>
    // Standalone: REDIS_URL is blanked, so the queue settings go unused.
    withProject({}, async (proj) => {
      const start = await started(['start'], { REDIS_URL: '' }, proj.dir, /no scheduled jobs/);
      await addTickAndSeeItRun(start, proj);
      // Removing it stops its timer.
      proj.removeJob('tick');
      await start.waitForStderr(/config reloaded: 1 jobs \(\+0, -1, ~0\)/, 60_000);
      await stopsCleanly(start);
    }), 180_000);

  it('distributed start re-syncs the schedulers for a scheduled job added while it runs', () =>
    withProject({}, async (proj, settings) => {
      const start = await started(['start'], settings.env, proj.dir, /worker ready/);
      await addTickAndSeeItRun(start, proj);
      await stopsCleanly(start);
    }), 180_000);

  describe('the console (restq dashboard)', () => {
    const consoleUrl = async (dashboard: RestqProcess): Promise<string> => {
      await dashboard.waitForStderr(/restq console on http:\/\/127\.0\.0\.1:\d+/, 60_000);
      return /restq console on (http:\/\/127\.0\.0\.1:\d+)/.exec(dashboard.stderr())![1]!;
    };
    const jobNames = async (base: string): Promise<string[]> => ((await (await fetch(`${base}/api/jobs`)).json()) as { name: string }[]).map((j) => j.name).sort();
    const runNow = (base: string, job: string) => fetch(`${base}/api/jobs/${job}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

    it('distributed: SIGHUP shows a job added to jobs/ and "Run now" queues it; a broken change keeps the last good config', () =>
      withProject({ RESTQ_CONFIG_WATCH: 'off' }, async (proj, settings) => {
        const dashboard = restq(['dashboard', '--port', '0', '--host', '127.0.0.1', '--min-workers', '0'], settings.env, proj.dir);
        const base = await consoleUrl(dashboard);
        expect(await jobNames(base)).toEqual(['first']);
        expect((await runNow(base, 'second')).status).toBe(404);

        proj.writeJob('second', countJob('second'));
        dashboard.child.kill('SIGHUP');
        await dashboard.waitForStderr(ADDED_ONE, 60_000);
        expect(await jobNames(base)).toEqual(['first', 'second']);
        // "Run now" checks the job against the reloaded config and queues it for the workers.
        const queued = await runNow(base, 'second');
        expect(queued.status).toBe(202);
        const { runId } = (await queued.json()) as { runId: string };
        const worker = restq(['worker'], settings.env, proj.dir);
        await until(async () => ((await (await fetch(`${base}/api/runs/${encodeURIComponent(runId)}`)).json()) as { state?: string }).state === 'finished', 'the queued run to finish', 60_000, 100);
        expect(csvLines(path.join(proj.dir, 'out', 'second.csv'))).toBe(2);
        worker.child.kill('SIGTERM');

        proj.writeJob('broken', 'connection: demo\nscalar: [unclosed\n');
        dashboard.child.kill('SIGHUP');
        await dashboard.waitForStderr(/config reload failed, keeping the last good config/, 60_000);
        expect(dashboard.stderr()).toContain('broken.yaml');
        expect(dashboard.stderr()).not.toContain(TOKEN);
        expect(await jobNames(base)).toEqual(['first', 'second']);
        expect(dashboard.child.exitCode).toBeNull();
        await stopsCleanly(dashboard);
        expect(await worker.exited).toBe(0);
      }), 180_000);

    it('standalone: a job file added while it runs appears (file watching) and "Run now" runs it in the console', () =>
      // Standalone: REDIS_URL is blanked, so the queue settings go unused.
      withProject({}, async (proj) => {
        const dashboard = restq(['dashboard', '--port', '0', '--host', '127.0.0.1'], { REDIS_URL: '' }, proj.dir);
        const base = await consoleUrl(dashboard);
        expect(await jobNames(base)).toEqual(['first']);
        proj.writeJob('added', countJob('added'));
        await dashboard.waitForStderr(ADDED_ONE, 60_000);
        expect(await jobNames(base)).toEqual(['added', 'first']);
        const ran = await runNow(base, 'added');
        expect(ran.status).toBe(202);
        await until(() => csvLines(path.join(proj.dir, 'out', 'added.csv')) === 2, 'the added job run from the console', 60_000, 100);
        await stopsCleanly(dashboard);
      }), 180_000);
  });
});
