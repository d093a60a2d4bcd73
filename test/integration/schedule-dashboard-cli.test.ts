import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deletePrefix, testSettings } from '../helpers/queue-fixture.js';
import { runCli, spawnRestq, type RestqProcess } from '../helpers/run-cli.js';
import { createProject, type TempProject } from '../helpers/temp-project.js';

const url = inject('redisUrl');
const job = (schedule?: string, timezone?: string) =>
  `connection: demo\n${schedule ? `schedule: "${schedule}"\n` : ''}${timezone ? `timezone: ${timezone}\n` : ''}scalar: { path: /count, value: $.count }\n`;
let admin: Redis;
let project: TempProject;
const processes: RestqProcess[] = [];

beforeAll(() => {
  admin = new Redis(url);
  project = createProject('connections:\n  demo:\n    baseUrl: http://127.0.0.1:9\n    accessToken: t\n', {
    hourly: job('0 * * * *', 'Europe/Berlin'),
    nightly: job('30 2 * * *'),
    adhoc: job(),
  });
});

afterAll(() => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  admin.disconnect();
  project.cleanup();
});

describe('restq schedule', () => {
  it('upserts one scheduler per scheduled job, prints their next runs, and removes the scheduler of a job that lost its schedule', { timeout: 90_000 }, async () => {
    const settings = testSettings(url);
    const queue = new Queue(settings.queue, { connection: { url }, prefix: settings.prefix });
    try {
      const first = await runCli(['--config', project.dir, 'schedule'], { env: settings.env });
      expect(first.code).toBe(0);
      expect(first.stdout).toBe('');
      expect(first.stderr).toMatch(/scheduled hourly: "0 \* \* \* \*" \(Europe\/Berlin\), next run \d{4}-\d\d-\d\dT\d\d:00:00\.000Z/);
      expect(first.stderr).toMatch(/scheduled nightly: "30 2 \* \* \*" \(UTC\), next run \d{4}-\d\d-\d\dT02:30:00\.000Z/);
      expect(first.stderr).not.toContain('adhoc');
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.pattern, s.tz]).sort()).toEqual([
        ['hourly', '0 * * * *', 'Europe/Berlin'],
        ['nightly', '30 2 * * *', 'UTC'],
      ]);
      project.writeJob('nightly', job());
      const second = await runCli(['--config', project.dir, 'schedule'], { env: settings.env });
      expect(second.code).toBe(0);
      expect(second.stderr).toContain('removed scheduler nightly (job deleted or no longer scheduled)');
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual(['hourly']);
    } finally {
      project.writeJob('nightly', job('30 2 * * *'));
      await queue.close();
      await deletePrefix(admin, settings.prefix);
    }
  });

  it('needs REDIS_URL: exit 2 with a message', async () => {
    const result = await runCli(['--config', project.dir, 'schedule']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('REDIS_URL');
  });
});

describe('restq dashboard options', () => {
  it('--port, --host and --min-workers: /healthz counts live workers against --min-workers', { timeout: 90_000 }, async () => {
    const settings = testSettings(url);
    for (const [minWorkers, status] of [
      ['0', 200],
      ['1', 503],
    ] as const) {
      const dashboard = spawnRestq(['dashboard', '--port', '0', '--host', '127.0.0.1', '--min-workers', minWorkers], settings.env, project.dir);
      processes.push(dashboard);
      await dashboard.waitForStderr(/restq console on http:\/\/127\.0\.0\.1:\d+/);
      const base = /restq console on (http:\/\/127\.0\.0\.1:\d+)/.exec(dashboard.stderr())![1]!;
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(status);
      expect(await health.json()).toMatchObject({ redis: 'ok', workers: 0, minWorkers: Number(minWorkers) });
      dashboard.child.kill('SIGTERM');
      expect(await dashboard.exited).toBe(0);
    }
    await deletePrefix(admin, settings.prefix);
  });

  it('refuses a non-loopback --host without RESTQ_DASHBOARD_USER/PASSWORD, and bad option values (exit 2)', { timeout: 90_000 }, async () => {
    const settings = testSettings(url);
    const open = await runCli(['--config', project.dir, 'dashboard', '--port', '0', '--host', '0.0.0.0'], { env: settings.env });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('refusing to serve the dashboard on 0.0.0.0 without authentication');
    const port = await runCli(['--config', project.dir, 'dashboard', '--port', 'eighty'], { env: settings.env });
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port expects a port number, got "eighty"');
    const workers = await runCli(['--config', project.dir, 'dashboard', '--min-workers', '-1'], { env: settings.env });
    expect(workers.code).toBe(2);
    expect(workers.stderr).toContain('--min-workers expects a whole number');
  });
});
