import { CronExpressionParser } from 'cron-parser';
import type { Config, Job } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-clients.js';
import type { Logger } from '../logger.js';
import { runJob, type RunResult } from '../runner.js';
import { settlesWithin } from './shutdown.js';

/** setTimeout cannot wait longer than this (about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StandaloneSchedulerOptions {
  config: Config;
  clients: ApiClients;
  logger: Logger;
  /** Runs at once in this process. @default 1 */
  concurrency?: number;
  /** @default Date.now */
  now?: () => number;
  stdout?: NodeJS.WritableStream;
  /** Called after every run (tests, metrics). */
  onRunFinished?: (job: string, outcome: { result?: RunResult; error?: unknown }) => void;
}

interface Entry {
  job: Job;
  next: number;
  timer?: NodeJS.Timeout;
  /** A tick is queued or running: further ticks are skipped until it ends (no pile-up). */
  busy: boolean;
}

/**
 * Standalone mode (no REDIS_URL): the same cron schedules in one process, with cron-parser,
 * at most `concurrency` runs at once. Like BullMQ schedulers it never backfills missed ticks;
 * a tick that comes while the previous run of that job is still busy is skipped.
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

  constructor(options: StandaloneSchedulerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Arms a timer per scheduled job; returns each job's next run time. */
  start(): Array<{ job: string; pattern: string; timezone: string; next: number }> {
    for (const job of Object.values(this.#options.config.jobs)) {
      if (!job.schedule) continue;
      const entry: Entry = { job, next: this.#nextAfter(job, this.#now()), busy: false };
      this.#entries.set(job.name, entry);
      this.#arm(entry);
    }
    return [...this.#entries.values()].map((e) => ({ job: e.job.name, pattern: e.job.schedule!, timezone: e.job.timezone, next: e.next }));
  }

  get activeRuns(): number {
    return this.#running;
  }

  #nextAfter(job: Job, after: number): number {
    return CronExpressionParser.parse(job.schedule!, { tz: job.timezone, currentDate: new Date(after) }).next().getTime();
  }

  #arm(entry: Entry): void {
    if (this.#stopped) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, entry.next - this.#now()));
    entry.timer = setTimeout(() => {
      if (this.#now() < entry.next) return this.#arm(entry);
      const tick = entry.next;
      entry.next = this.#nextAfter(entry.job, Math.max(tick, this.#now()));
      this.#arm(entry);
      if (entry.busy) {
        this.#options.logger.warn({ job: entry.job.name, tick: new Date(tick).toISOString() }, 'previous run still busy: tick skipped');
        return;
      }
      entry.busy = true;
      void this.#run(entry.job).finally(() => {
        entry.busy = false;
      });
    }, wait);
  }

  async #run(job: Job): Promise<void> {
    const concurrency = this.#options.concurrency ?? 1;
    if (this.#running >= concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.#stopped) return;
    this.#running++;
    const controller = new AbortController();
    const done = (async () => {
      const { config, clients, logger, onRunFinished, stdout } = this.#options;
      try {
        const result = await runJob({
          config,
          job: job.name,
          clients,
          logger,
          lastSuccessAt: this.#lastSuccessAt.get(job.name) ?? '',
          signal: controller.signal,
          stdout: stdout as NodeJS.WriteStream | undefined,
        });
        this.#lastSuccessAt.set(job.name, result.startedAt);
        logger.info({ job: job.name, runId: result.runId, rows: result.rows, durationMs: result.durationMs }, 'run completed');
        onRunFinished?.(job.name, { result });
      } catch (error) {
        logger.error({ job: job.name, error: config.redactor.redact(error instanceof Error ? error.message : String(error)) }, 'run failed');
        onRunFinished?.(job.name, { error });
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
