import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import type { RunRequest } from '../../src/queue/run-request.js';
import { StandaloneScheduler } from '../../src/queue/standalone-scheduler.js';
import type { RunOptions, RunResult } from '../../src/runner.js';
import { isMisfire, nextTick } from '../../src/schedule/next-tick.js';
import { FileStateStore } from '../../src/state/file-state-store.js';
import { captureLogger, createProject, deletePrefix, testSettings, until, type Project } from '../helpers/queue-fixture.js';
import { spawnRestq } from '../helpers/restq-process.js';

const projects: Project[] = [];
afterAll(() => {
  for (const p of projects) p.cleanup();
});

function project(jobs: Record<string, string>) {
  const proj = createProject('connections:\n  demo:\n    baseUrl: http://127.0.0.1:9\n    accessToken: t\n', jobs);
  projects.push(proj);
  const config = loadConfig({ dir: proj.dir, env: {} });
  const { logger } = captureLogger('error');
  return { proj, config, logger, clients: new ApiClients({ config, logger }) };
}

const scalar = (schedule: string, extra = '') => `connection: demo\nschedule: "${schedule}"\ntimezone: Europe/Berlin\nscalar: { path: /x, value: $.v }\n${extra}`;

/** A stand-in for runJob that records when each run was asked for (the scheduler is under test, not the request). */
function recordingRunner(ticks: number[], runs: string[]) {
  return async (options: RunOptions): Promise<RunResult> => {
    ticks.push(options.fence!);
    runs.push(new Date().toISOString());
    const at = new Date().toISOString();
    return { runId: 'r', job: options.job, rows: 0, pages: 0, bytes: 0, requests: 0, durationMs: 0, startedAt: at, finishedAt: at, outputs: [], warnings: [], skipped: 0 };
  };
}

describe('DST in Europe/Berlin (standalone scheduler, simulated clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('02:30 on the fall-back day (it occurs twice) runs once; on the spring-forward day (it does not exist) it runs at 03:30 instead of being lost', async () => {
    const { config, logger, clients } = project({ nightly: scalar('30 2 * * *') });
    for (const [from, expected] of [
      // 2027-10-31: 03:00 CEST → 02:00 CET. 02:30 CEST = 00:30Z and 02:30 CET = 01:30Z: one run, at the first.
      ['2027-10-30T12:00:00Z', ['2027-10-31T00:30:00.000Z', '2027-11-01T01:30:00.000Z']],
      // 2027-03-28: 02:00 CET → 03:00 CEST. 02:30 does not exist: the run happens at 03:30 CEST (01:30Z).
      ['2027-03-27T12:00:00Z', ['2027-03-28T01:30:00.000Z', '2027-03-29T00:30:00.000Z']],
    ] as const) {
      vi.useFakeTimers({ now: new Date(from), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const ticks: number[] = [];
      const runs: string[] = [];
      const scheduler = new StandaloneScheduler({ config, clients, logger, run: recordingRunner(ticks, runs) });
      await scheduler.start();
      await vi.advanceTimersByTimeAsync(2 * 86_400_000);
      await scheduler.close(0);
      expect(ticks.map((t) => new Date(t).toISOString())).toEqual(expected);
      // Each run started at its tick.
      expect(runs).toEqual([...expected]);
      vi.useRealTimers();
    }
  });

  it('nextTick and isMisfire agree with the wall clock across DST', () => {
    expect(new Date(nextTick('0 * * * *', 'Europe/Berlin', Date.parse('2027-10-31T00:30:00Z'))).toISOString()).toBe('2027-10-31T01:00:00.000Z');
    // An hourly tick found 70 minutes late is a misfire; one found 50 minutes late is not.
    const tick = Date.parse('2027-03-28T00:00:00Z');
    expect(isMisfire('0 * * * *', 'Europe/Berlin', tick, tick + 70 * 60_000)).toBe(true);
    expect(isMisfire('0 * * * *', 'Europe/Berlin', tick, tick + 50 * 60_000)).toBe(false);
  });
});

describe('standalone misfire after downtime', () => {
  async function afterDowntime(misfire: 'once' | 'skip') {
    const { proj, config, logger, clients } = project({ hourly: scalar('0 * * * *', `misfire: ${misfire}\n`) });
    const state = new FileStateStore({ dir: path.join(proj.dir, '.restq') });
    // The last scheduled run was 5 hours ago; the process was down since: 4 ticks missed.
    const last = new Date(Date.now() - 5 * 3_600_000);
    await state.finishRun({ runId: 'old', job: 'hourly', trigger: 'schedule', status: 'succeeded', startedAt: last.toISOString(), finishedAt: last.toISOString(), durationMs: 0, rows: 1, pages: 1, bytes: 1, window: null, cursorBefore: null, error: null });
    const ticks: number[] = [];
    const skipped: string[] = [];
    const scheduler = new StandaloneScheduler({ config, clients, logger, state, run: recordingRunner(ticks, []), onTickSkipped: (_job, _tick, code) => skipped.push(code) });
    const entries = await scheduler.start();
    const missed = nextTick('0 * * * *', 'Europe/Berlin', last.getTime());
    expect(entries[0]!.missed).toBe(missed);
    await until(() => ticks.length + skipped.length > 0, 'the catch-up to be handled');
    await scheduler.close(1_000);
    return { ticks, skipped, state, missed };
  }

  it('once: exactly one catch-up run for all the missed ticks', async () => {
    const { ticks, skipped, missed } = await afterDowntime('once');
    expect(ticks).toEqual([missed]);
    expect(skipped).toEqual([]);
  });

  it('skip: one skipped record with E_MISFIRE, no run', async () => {
    const { ticks, skipped, state } = await afterDowntime('skip');
    expect(ticks).toEqual([]);
    expect(skipped).toEqual(['E_MISFIRE']);
    const [record] = await state.history('hourly');
    expect(record).toMatchObject({ trigger: 'schedule', status: 'skipped', error: { code: 'E_MISFIRE' } });
    expect(await state.history('hourly')).toHaveLength(2);
  });
});

describe('a DST-zone schedule synced by 3 processes at once', () => {
  const url = inject('redisUrl');
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url);
  });
  afterAll(() => admin.disconnect());

  it('leaves one scheduler and one pending run at the next wall-clock tick', async () => {
    const { proj } = project({ nightly: scalar('30 2 * * *') });
    const settings = testSettings(url);
    const queue = new Queue<RunRequest>(settings.queue, { connection: { url }, prefix: settings.prefix });
    try {
      const syncs = [0, 1, 2].map(() => spawnRestq(['schedule'], settings.env, proj.dir));
      expect(await Promise.all(syncs.map((s) => s.exited))).toEqual([0, 0, 0]);
      const schedulers = await queue.getJobSchedulers(0, -1, true);
      expect(schedulers.map((s) => s.id ?? s.key)).toEqual(['nightly']);
      const delayed = await queue.getDelayed();
      expect(delayed).toHaveLength(1);
      const next = nextTick('30 2 * * *', 'Europe/Berlin', Date.now());
      expect(delayed[0]!.id).toBe(`repeat:nightly:${next}`);
      expect(schedulers[0]!.next).toBe(next);
    } finally {
      await queue.close();
      await deletePrefix(admin, settings.prefix);
    }
  }, 120_000);
});
