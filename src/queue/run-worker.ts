import { setMaxListeners } from 'node:events';
import { UnrecoverableError, WaitingError, Worker, type Job as BullJob, type ConnectionOptions, type Telemetry } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection.js';
import type { Config } from '../config/types.js';
import { runIdOfJob } from '../run-id.js';
import { isRestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-client-registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { runJob, type RunResult } from '../runner.js';
import { bullConnection, releaseBullConnection } from '../redis/redis-connection.js';
import { redisErrorForLog } from '../redis/describe-redis.js';
import type { QueueSettings } from '../runtime/settings.js';
import { parseRunRequest, type RunRequest } from './run-request.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import type { HistoryRecord, RunTrigger, StateStore } from '../state/state-store.js';
import { isMisfire } from '../schedule/next-tick.js';
import { settlesWithin } from './shutdown.js';

/** What `job.updateProgress` receives while a run reads pages. */
export interface RunJobProgress {
  pages: number;
  rows: number;
  /** Pages the API announced (`paginate.total`), when it did. */
  totalPages?: number;
}

export interface RunWorkerOptions {
  config: Config;
  settings: QueueSettings;
  clients: ApiClients;
  logger: Logger;
  /** Used for job state (history, cursors, lastSuccessAt); a long-lived connection (maxRetriesPerRequest: null). */
  redis: RedisClient;
  /** Job state. @default a RedisStateStore on `redis` under the queue's prefix */
  state?: StateStore | undefined;
  /** @default Date.now */
  now?: () => number;
  /** Runs processed at once by this process. @default 1 */
  concurrency?: number;
  /** Minimum time between two progress updates of one run. @default 500 */
  progressIntervalMs?: number;
  /** Counts runs, rows and durations. @default no metrics */
  metrics?: Metrics | undefined;
  /** OpenTelemetry for BullMQ (see ops/telemetry.ts). @default none */
  telemetry?: Telemetry | undefined;
  /** Only for tests that need a quiet stdout. @default process.stdout */
  stdout?: NodeJS.WritableStream;
}

const SHUTDOWN_REASON = 'restq worker shutting down: grace period over';
/**
 * A successful run's history record (one that moves no cursor) reaches Redis at most this long after the run
 * ends, written with the others of that moment in one script call: under load a worker then sends
 * one history write per ~10 ms instead of one per run.
 */
const RECORD_BATCH_MS = 10;

/**
 * A BullMQ worker that runs queued runs with runJob(). Bad data and permanent failures
 * (config, 4xx, invalid_grant) become UnrecoverableError so BullMQ spends no retries on them;
 * the runId is the BullMQ job id, so retries and stalled-run recovery reuse temp files.
 */
export class RunWorker {
  readonly worker: Worker<RunRequest, RunResult>;
  readonly #options: RunWorkerOptions;
  readonly #state: StateStore;
  readonly #ownState: boolean;
  readonly #logger: Logger;
  /**
   * Aborted once the shutdown grace period is over: the runs in flight stop and go back to the
   * queue. One signal for the worker, not BullMQ's AbortController per run (which it makes for a
   * processor that takes a third parameter, and fires only on cancelJob/cancelAllJobs, which
   * restq used for this alone).
   */
  readonly #shutdown = new AbortController();
  #closing: Promise<void> | undefined;
  readonly #connection: ConnectionOptions;
  #config: Config;
  #clients: ApiClients;
  /** Runs in flight per ApiClients, so replaced clients are closed only once their runs end. */
  readonly #inUse = new Map<ApiClients, { runs: number; idle: Array<() => void> }>();

  constructor(options: RunWorkerOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#clients = options.clients;
    const { settings } = options;
    this.#logger = options.logger.child({ queue: settings.queue });
    // The worker's own store writes the records of runs that move no cursor in batches, a moment
    // after each run (a Redis round trip per run saved); close() writes what is left.
    this.#ownState = options.state === undefined;
    this.#state =
      options.state ??
      new RedisStateStore({
        redis: options.redis,
        prefix: settings.prefix,
        queue: settings.queue,
        historyLimit: settings.history,
        deferMs: RECORD_BATCH_MS,
        onDeferredError: (error, records) => this.#logger.warn({ err: error, records }, 'could not record runs in the job history yet (tried again)'),
      });
    // Runs listen on it through their deadline slots (run-deadline.ts): at most one listener per
    // slot, and a slot holds a run in flight or goes within a second of its last one.
    setMaxListeners(Math.max(10, (options.concurrency ?? 1) + 10), this.#shutdown.signal);
    const processor = (job: BullJob<RunRequest, RunResult>, token: string | undefined) => this.#process(job, token);
    this.#connection = bullConnection(settings.redis);
    this.worker = new Worker<RunRequest, RunResult>(settings.queue, processor, {
      connection: this.#connection,
      prefix: settings.prefix,
      concurrency: options.concurrency ?? 1,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      removeOnComplete: { count: settings.keepCompleted.count, age: settings.keepCompleted.ageSeconds },
      removeOnFail: { count: settings.keepFailed.count, age: settings.keepFailed.ageSeconds },
      autorun: false,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    });
    this.worker.on('error', (error) => this.#logger.warn({ err: redisErrorForLog(error) }, 'queue connection problem (retrying)'));
    this.worker.on('failed', (job, error) => {
      if (job) this.#logger.warn({ runId: runIdOfJob(job.id ?? job.name), job: job.name, attempt: job.attemptsMade, error: error.message }, 'run failed');
    });
  }

  /** Starts fetching runs; resolves when the worker is connected. */
  async start(): Promise<void> {
    void this.worker.run().catch((error: unknown) => this.#logger.error({ err: error }, 'worker stopped'));
    await this.worker.waitUntilReady();
  }

  /**
   * Stops fetching, lets active runs finish within `graceMs`, then aborts what still runs and
   * hands those runs back to the queue (another worker takes them, no attempt spent).
   */
  async close(graceMs = this.#options.settings.shutdownGraceMs): Promise<void> {
    this.#closing ??= (async () => {
      const closed = this.worker.close();
      if (!(await settlesWithin(closed, graceMs))) {
        this.#logger.warn({ graceMs }, 'shutdown grace period over: aborting active runs and handing them back to the queue');
        this.#shutdown.abort(SHUTDOWN_REASON);
      }
      await closed;
      if (this.#ownState) await this.#state.close().catch((error: unknown) => this.#logger.error({ err: error }, 'run records could not be written to the job history'));
      await releaseBullConnection(this.#connection);
    })();
    return this.#closing;
  }

  /** The config in use: runs that start from now on use it. */
  get config(): Config {
    return this.#config;
  }

  /**
   * Puts a reloaded config in use: runs that start from now on use `config` and `clients`;
   * runs in flight finish on the old ones. Resolves once no run uses the old clients any more
   * (the caller closes them then).
   */
  setConfig(config: Config, clients: ApiClients): Promise<void> {
    const old = this.#clients;
    this.#config = config;
    this.#clients = clients;
    this.#lastSuccessUse.clear();
    if (old === clients) return Promise.resolve();
    const use = this.#inUse.get(old);
    if (!use || use.runs === 0) return Promise.resolve();
    return new Promise((resolve) => use.idle.push(resolve));
  }

  async #process(job: BullJob<RunRequest, RunResult>, token: string | undefined): Promise<RunResult> {
    const clients = this.#clients;
    let use = this.#inUse.get(clients);
    if (!use) this.#inUse.set(clients, (use = { runs: 0, idle: [] }));
    use.runs++;
    try {
      return await this.#processWith(this.#config, clients, job, token);
    } finally {
      use.runs--;
      if (use.runs === 0) {
        this.#inUse.delete(clients);
        for (const resolve of use.idle.splice(0)) resolve();
      }
    }
  }

  async #processWith(config: Config, clients: ApiClients, job: BullJob<RunRequest, RunResult>, token: string | undefined): Promise<RunResult> {
    const signal = this.#shutdown.signal;
    const runId = runIdOfJob(job.id ?? job.name);
    const attempt = job.attemptsMade + 1;
    const started = new Date();
    let request: RunRequest;
    try {
      request = parseRunRequest(job.data, job.name, config);
    } catch (error) {
      if (config.jobs[job.name]) await this.#skipOrFail(job.name, runId, 'enqueue', 'failed', { code: 'E_JOB_DATA', message: (error as Error).message }, started);
      throw error;
    }
    // A scheduler's run carries its tick in its id (repeat:<job>:<millis>); a catch-up run in its data.
    const schedulerTick = job.repeatJobKey ? Number(/:(\d+)$/.exec(runId)?.[1] ?? Number.NaN) : Number.NaN;
    const tick = request.tick ?? (Number.isFinite(schedulerTick) ? schedulerTick : undefined);
    const trigger: RunTrigger = request.trigger ?? (tick !== undefined ? 'schedule' : 'enqueue');
    const logger = this.#logger.child({ runId, job: request.job, connection: config.jobs[request.job]?.connection, attempt });
    if (trigger === 'schedule' && attempt === 1) {
      const skipped = await this.#skipTick(config, request.job, runId, tick, started, logger);
      if (skipped) return skipped;
    }
    // The first update comes one interval into the run: a run that ends sooner writes no
    // progress at all, its figures are in the return value (a Redis round trip per run saved;
    // `enqueue --wait` ends on the return value's figures). Nor does a scalar run: its one
    // report comes when its one request is done, a moment before it completes.
    const interval = this.#options.progressIntervalMs ?? 500;
    const live = config.jobs[request.job]?.kind !== 'scalar';
    let lastProgress = Date.now();
    let sent: RunJobProgress | undefined;
    const sendProgress = (progress: RunJobProgress) => {
      sent = progress;
      return job.updateProgress(progress).catch(() => undefined);
    };
    let permanentFailure = false;
    try {
      // A Redis round trip per run saved when the job's templates do not use {{lastSuccessAt}}.
      const lastSuccessAt = this.#usesLastSuccessAt(request.job) ? await this.#state.lastSuccessAt(request.job) : '';
      const result = await runJob({
        config,
        job: request.job,
        params: request.params,
        clients,
        metrics: this.#options.metrics,
        logger,
        loggerBindsRun: true,
        runId,
        lastSuccessAt,
        signal,
        state: this.#state,
        trigger,
        window: request.window,
        // The run's creation (tick or enqueue) time, the same for every retry: the cursor's fence.
        fence: tick ?? job.timestamp,
        // A failed attempt is recorded when it ends the run: permanent, or the last attempt.
        recordFailure: (error) => {
          if (signal.aborted) return false;
          permanentFailure = (isRestqError(error) && error.permanent) || error instanceof UnrecoverableError;
          return permanentFailure || attempt >= (job.opts.attempts ?? 1);
        },
        stdout: this.#options.stdout as NodeJS.WriteStream | undefined,
        onProgress: (progress) => {
          const now = Date.now();
          if (!live || now - lastProgress < interval) return;
          lastProgress = now;
          void sendProgress({ pages: progress.pages, rows: progress.rows, ...(progress.totalPages === undefined ? {} : { totalPages: progress.totalPages }) });
        },
      });
      // A run that showed progress ends on its final figures, unless the last update said them.
      if (sent && (sent.pages !== result.pages || sent.rows !== result.rows)) await sendProgress({ pages: result.pages, rows: result.rows });
      logger.info({ rows: result.rows, pages: result.pages, durationMs: result.durationMs }, 'run completed');
      return result;
    } catch (error) {
      if (signal.aborted) {
        // Not the run's fault: put it back for another worker without spending an attempt.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const message = config.redactor.redact(error instanceof Error ? error.message : String(error));
      const permanent = permanentFailure || (isRestqError(error) && error.permanent) || error instanceof UnrecoverableError;
      logger.debug({ error: message, permanent }, 'run attempt failed');
      // Re-thrown with the redacted message only: BullMQ stores it in Redis as failedReason.
      if (permanent) throw new UnrecoverableError(message);
      throw new Error(message);
    }
  }

  /**
   * A scheduled tick that must not run: the job is paused, or the tick is found late by more
   * than one interval under `misfire: skip`. Records a `skipped` run and returns its result.
   */
  async #skipTick(config: Config, jobName: string, runId: string, tick: number | undefined, started: Date, logger: Logger): Promise<RunResult | undefined> {
    const job = config.jobs[jobName]!;
    const pause = await this.#state.getPause(jobName);
    let error: HistoryRecord['error'] = null;
    if (pause.paused) error = { code: 'E_PAUSED', message: `job is paused since ${pause.since}: tick skipped (restq resume ${jobName})` };
    else if (job.misfire === 'skip' && tick !== undefined && job.schedule && isMisfire(job.schedule, job.timezone, tick, (this.#options.now ?? Date.now)())) {
      error = { code: 'E_MISFIRE', message: `tick of ${new Date(tick).toISOString()} found late by more than one interval (misfire: skip): not run` };
    }
    if (!error) return undefined;
    await this.#skipOrFail(jobName, runId, 'schedule', 'skipped', error, started);
    logger.warn({ code: error.code }, error.message);
    const at = started.toISOString();
    return { runId, job: jobName, rows: 0, pages: 0, bytes: 0, requests: 0, durationMs: 0, startedAt: at, finishedAt: at, outputs: [], warnings: [error.message], skipped: 0 };
  }

  async #skipOrFail(job: string, runId: string, trigger: RunTrigger, status: 'skipped' | 'failed', error: HistoryRecord['error'], started: Date): Promise<void> {
    const finished = new Date();
    const record = {
      runId,
      job,
      trigger,
      status,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      rows: 0,
      pages: 0,
      bytes: 0,
      window: null,
      cursorBefore: null,
      error,
    };
    await this.#state.finishRun(record).catch((e: unknown) => this.#logger.warn({ err: e }, 'could not record the run in the job history'));
  }

  readonly #lastSuccessUse = new Map<string, boolean>();

  #usesLastSuccessAt(jobName: string): boolean {
    let uses = this.#lastSuccessUse.get(jobName);
    if (uses === undefined) {
      const job = this.#config.jobs[jobName];
      uses = job === undefined || JSON.stringify(job.kind === 'grid' ? job.grid : job.scalar).includes('lastSuccessAt');
      this.#lastSuccessUse.set(jobName, uses);
    }
    return uses;
  }
}
