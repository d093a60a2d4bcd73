import type { Config, Job } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-client-registry.js';
import type { Logger } from '../log/logger.js';
import { runJob, type RunOptions, type RunResult } from '../runner.js';
import { newRunId } from '../run-id.js';
import { isMisfire, nextTick } from '../schedule/next-tick.js';
import type { HistoryRecord, StateStore } from '../state/state-store.js';
import { settlesWithin } from './shutdown.js';

/** setTimeout cannot wait longer than this (about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StandaloneSchedulerOptions {
  config: Config;
  clients: ApiClients;
  logger: Logger;
  /** Job state: history, cursors, pause flags, lastSuccessAt (`.restq/` in standalone mode). @default none (nothing persisted, no catch-up) */
  state?: StateStore | undefined;
  /** Runs at once in this process. @default 1 */
  concurrency?: number;
  /** @default Date.now */
  now?: () => number;
  stdout?: NodeJS.WritableStream;
  /** Runs one job; tests replace it. @default runJob */
  run?: (options: RunOptions) => Promise<RunResult>;
  /** Called after every run (tests, metrics). */
  onRunFinished?: (job: string, outcome: { result?: RunResult; error?: unknown; tick: number }) => void;
  /** Called for every tick that did not run (paused, misfire: skip). */
  onTickSkipped?: (job: string, tick: number, code: 'E_PAUSED' | 'E_MISFIRE') => void;
}

interface Entry {
  job: Job;
  next: number;
  timer?: NodeJS.Timeout;
  /** A tick is queued or running: further ticks are skipped until it ends (no pile-up). */
  busy: boolean;
}

export interface ScheduledEntry {
  job: string;
  pattern: string;
  timezone: string;
  next: number;
  /** The missed tick a catch-up run (misfire: once) or skipped record (skip) stands for. */
  missed?: number;
}

/**
 * Standalone mode (no REDIS_URL): the same cron schedules in one process, with cron-parser,
 * at most `concurrency` runs at once. Misfire policy as in distributed mode (SPEC 8): ticks
 * missed while the process was down give one catch-up run at start (`once`) or one `skipped`
 * record (`skip`) when found late by more than one interval — never one run per missed tick.
 * A tick that comes while the previous run of that job is still busy is skipped; a paused
 * job's ticks are recorded as skipped.
 */
export class StandaloneScheduler {
  readonly #options: StandaloneSchedulerOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #waiting: Array<() => void> = [];
  readonly #active = new Map<Promise<void>, AbortController>();
  readonly #lastSuccessAt = new Map<string, string>();
  #running = 0;
  #stopped = false;
  #config: Config;
  #clients: ApiClients;

  constructor(options: StandaloneSchedulerOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#clients = options.clients;
    this.#now = options.now ?? Date.now;
  }

  /** Arms a timer per scheduled job and starts catch-up runs; returns each job's next run time. */
  async start(): Promise<ScheduledEntry[]> {
    const out: ScheduledEntry[] = [];
    for (const job of Object.values(this.#config.jobs)) {
      if (!job.schedule) continue;
      const now = this.#now();
      const entry: Entry = { job, next: nextTick(job.schedule, job.timezone, now), busy: false };
      this.#entries.set(job.name, entry);
      const missed = await this.#missedTick(job, now);
      out.push({ job: job.name, pattern: job.schedule, timezone: job.timezone, next: entry.next, ...(missed === undefined ? {} : { missed }) });
      if (missed !== undefined) this.#fire(entry, missed);
      this.#arm(entry);
    }
    return out;
  }

  /**
   * Puts a reloaded config in use: timers of removed or unscheduled jobs stop, new scheduled
   * jobs get one, jobs whose schedule or timezone changed are re-armed (no catch-up run for a
   * reload). Runs that start from now on use `config` and `clients`; `retired` resolves once
   * the runs in flight (on the old clients) have ended.
   */
  setConfig(config: Config, clients: ApiClients): { entries: ScheduledEntry[]; retired: Promise<void> } {
    this.#config = config;
    this.#clients = clients;
    const retired = Promise.allSettled([...this.#active.keys()]).then(() => undefined);
    const out: ScheduledEntry[] = [];
    for (const [name, entry] of this.#entries) {
      const job = config.jobs[name];
      if (job?.schedule) continue;
      clearTimeout(entry.timer);
      this.#entries.delete(name);
    }
    for (const job of Object.values(config.jobs)) {
      if (!job.schedule) continue;
      let entry = this.#entries.get(job.name);
      if (entry && entry.job.schedule === job.schedule && entry.job.timezone === job.timezone) {
        entry.job = job;
      } else {
        if (entry) clearTimeout(entry.timer);
        entry = { job, next: nextTick(job.schedule, job.timezone, this.#now()), busy: false };
        this.#entries.set(job.name, entry);
        this.#arm(entry);
      }
      out.push({ job: job.name, pattern: job.schedule, timezone: job.timezone, next: entry.next });
    }
    return { entries: out, retired };
  }

  get activeRuns(): number {
    return this.#running;
  }

  /**
   * The oldest tick missed while no process ran: the first tick after the job's last scheduled
   * run (recorded in its history) when it is already past. Undefined on a first start.
   */
  async #missedTick(job: Job, now: number): Promise<number | undefined> {
    const state = this.#options.state;
    if (!state) return undefined;
    const history = await state.history(job.name).catch((error: unknown) => {
      this.#options.logger.warn({ job: job.name, err: error }, 'cannot read the job history: no catch-up run');
      return [] as HistoryRecord[];
    });
    const last = history.find((r) => r.trigger === 'schedule');
    if (!last) return undefined;
    const tick = nextTick(job.schedule!, job.timezone, Date.parse(last.startedAt));
    return tick <= now ? tick : undefined;
  }

  #arm(entry: Entry): void {
    if (this.#stopped) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, entry.next - this.#now()));
    entry.timer = setTimeout(() => {
      if (this.#now() < entry.next) return this.#arm(entry);
      const tick = entry.next;
      entry.next = nextTick(entry.job.schedule!, entry.job.timezone, Math.max(tick, this.#now()));
      this.#arm(entry);
      this.#fire(entry, tick);
    }, wait);
  }

  #fire(entry: Entry, tick: number): void {
    if (entry.busy) {
      this.#options.logger.warn({ job: entry.job.name, tick: new Date(tick).toISOString() }, 'previous run still busy: tick skipped');
      return;
    }
    entry.busy = true;
    void this.#tick(entry.job, tick)
      .catch((error: unknown) => this.#options.logger.error({ job: entry.job.name, err: error }, 'tick failed'))
      .finally(() => {
        entry.busy = false;
      });
  }

  /** One tick: skipped (paused, misfire: skip) or run. */
  async #tick(job: Job, tick: number): Promise<void> {
    const { state, logger } = this.#options;
    const now = this.#now();
    let skip: { code: 'E_PAUSED' | 'E_MISFIRE'; message: string } | undefined;
    const pause = state ? await state.getPause(job.name) : { paused: false, since: null };
    if (pause.paused) skip = { code: 'E_PAUSED', message: `job is paused since ${pause.since}: tick skipped (restq resume ${job.name})` };
    else if (job.misfire === 'skip' && isMisfire(job.schedule!, job.timezone, tick, now)) {
      skip = { code: 'E_MISFIRE', message: `tick of ${new Date(tick).toISOString()} found late by more than one interval (misfire: skip): not run` };
    }
    if (skip) {
      logger.warn({ job: job.name, tick: new Date(tick).toISOString(), code: skip.code }, skip.message);
      const at = new Date(now).toISOString();
      await state
        ?.finishRun({ runId: newRunId(new Date(now)), job: job.name, trigger: 'schedule', status: 'skipped', startedAt: at, finishedAt: at, durationMs: 0, rows: 0, pages: 0, bytes: 0, window: null, cursorBefore: null, error: skip })
        .catch((error: unknown) => logger.warn({ err: error }, 'could not record the skipped tick'));
      this.#options.onTickSkipped?.(job.name, tick, skip.code);
      return;
    }
    await this.#run(job, tick);
  }

  async #run(job: Job, tick: number): Promise<void> {
    const concurrency = this.#options.concurrency ?? 1;
    if (this.#running >= concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.#stopped) return;
    this.#running++;
    const controller = new AbortController();
    const done = (async () => {
      const { logger, onRunFinished, stdout, state } = this.#options;
      const config = this.#config;
      const clients = this.#clients;
      try {
        const lastSuccessAt = state ? await state.lastSuccessAt(job.name) : (this.#lastSuccessAt.get(job.name) ?? '');
        const result = await (this.#options.run ?? runJob)({
          config,
          job: job.name,
          clients,
          logger,
          lastSuccessAt,
          state,
          trigger: 'schedule',
          fence: tick,
          signal: controller.signal,
          stdout: stdout as NodeJS.WriteStream | undefined,
        });
        this.#lastSuccessAt.set(job.name, result.startedAt);
        logger.info({ job: job.name, runId: result.runId, rows: result.rows, durationMs: result.durationMs }, 'run completed');
        onRunFinished?.(job.name, { result, tick });
      } catch (error) {
        logger.error({ job: job.name, error: config.redactor.redact(error instanceof Error ? error.message : String(error)) }, 'run failed');
        onRunFinished?.(job.name, { error, tick });
      } finally {
        this.#running--;
        this.#waiting.shift()?.();
      }
    })();
    this.#active.set(done, controller);
    try {
      await done;
    } finally {
      this.#active.delete(done);
    }
  }

  /** Stops the timers, lets active runs finish within `graceMs`, then aborts them. */
  async close(graceMs: number): Promise<void> {
    this.#stopped = true;
    for (const entry of this.#entries.values()) clearTimeout(entry.timer);
    for (const resolve of this.#waiting.splice(0)) resolve();
    const all = Promise.allSettled([...this.#active.keys()]);
    if (!(await settlesWithin(all, graceMs))) {
      for (const controller of this.#active.values()) {
        controller.abort(new RestqError('E_TIMEOUT', `restq shutting down: run aborted after the ${graceMs} ms grace period`, { permanent: true }));
      }
      await all;
    }
  }
}
