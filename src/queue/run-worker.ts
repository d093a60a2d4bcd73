import { UnrecoverableError, WaitingError, Worker, type Job as BullJob, type Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/types.js';
import { isRestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-clients.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../ops/metrics.js';
import { runJob, type RunResult } from '../runner.js';
import { bullConnection } from '../redis/redis-connection.js';
import type { QueueSettings } from '../runtime/settings.js';
import { RunRecords, type RunRecord } from './run-records.js';
import { parseRunRequest, type RunRequest } from './run-request.js';
import { settlesWithin } from './shutdown.js';

/** What `job.updateProgress` receives while a run reads pages. */
export interface RunJobProgress {
  pages: number;
  rows: number;
}

export interface RunWorkerOptions {
  config: Config;
  settings: QueueSettings;
  clients: ApiClients;
  logger: Logger;
  /** Used for run records and lastSuccessAt; a long-lived connection (maxRetriesPerRequest: null). */
  redis: Redis;
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
 * A BullMQ worker that runs queued runs with runJob(). Bad data and permanent failures
 * (config, 4xx, invalid_grant) become UnrecoverableError so BullMQ spends no retries on them;
 * the runId is the BullMQ job id, so retries and stalled-run recovery reuse temp files.
 */
export class RunWorker {
  readonly worker: Worker<RunRequest, RunResult>;
  readonly #options: RunWorkerOptions;
  readonly #records: RunRecords;
  readonly #logger: Logger;
  #shuttingDown = false;
  #closing: Promise<void> | undefined;

  constructor(options: RunWorkerOptions) {
    this.#options = options;
    const { settings } = options;
    this.#logger = options.logger.child({ queue: settings.queue });
    this.#records = new RunRecords(options.redis, settings.prefix, settings.queue, settings.runHistory);
    // Three parameters: BullMQ passes the abort signal (lock lost, cancelJob) only then.
    const processor = (job: BullJob<RunRequest, RunResult>, token: string | undefined, signal: AbortSignal | undefined) => this.#process(job, token, signal);
    this.worker = new Worker<RunRequest, RunResult>(settings.queue, processor, {
      connection: bullConnection(settings.redis),
      prefix: settings.prefix,
      concurrency: options.concurrency ?? 1,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      removeOnComplete: { count: settings.keepCompleted.count, age: settings.keepCompleted.ageSeconds },
      removeOnFail: { count: settings.keepFailed.count, age: settings.keepFailed.ageSeconds },
      autorun: false,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    });
    this.worker.on('error', (error) => this.#logger.warn({ err: error }, 'queue connection problem (retrying)'));
    this.worker.on('failed', (job, error) => {
      if (job) this.#logger.warn({ runId: job.id, job: job.name, attempt: job.attemptsMade, error: error.message }, 'run failed');
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
        this.#shuttingDown = true;
        this.worker.cancelAllJobs(SHUTDOWN_REASON);
      }
      await closed;
    })();
    return this.#closing;
  }

  async #process(job: BullJob<RunRequest, RunResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<RunResult> {
    const { config } = this.#options;
    const runId = job.id ?? job.name;
    const attempt = job.attemptsMade + 1;
    const started = new Date();
    let request: RunRequest;
    try {
      request = parseRunRequest(job.data, job.name, config);
    } catch (error) {
      if (config.jobs[job.name]) await this.#record(job.name, runId, 'failed', started, 0, attempt, (error as Error).message, isRestqError(error) ? error.code : 'E_CONFIG');
      throw error;
    }
    const logger = this.#logger.child({ runId, job: request.job, attempt });
    // The first update comes one interval into the run: a run that ends sooner writes no
    // progress at all, its figures are in the return value (a Redis round trip per run saved;
    // `enqueue --wait` ends on the return value's figures). Nor does a scalar run: its one
    // report comes when its one request is done, a moment before it completes.
    const interval = this.#options.progressIntervalMs ?? 500;
    const live = config.jobs[request.job]?.kind !== 'scalar';
    let lastProgress = Date.now();
    let rows = 0;
    let sent: RunJobProgress | undefined;
    const sendProgress = (progress: RunJobProgress) => {
      sent = progress;
      return job.updateProgress(progress).catch(() => undefined);
    };
    try {
      // A Redis round trip per run saved when the job's templates do not use {{lastSuccessAt}}.
      const lastSuccessAt = this.#usesLastSuccessAt(request.job) ? await this.#records.lastSuccessAt(request.job) : '';
      const result = await runJob({
        config,
        job: request.job,
        params: request.params,
        clients: this.#options.clients,
        metrics: this.#options.metrics,
        logger,
        runId,
        lastSuccessAt,
        signal,
        stdout: this.#options.stdout as NodeJS.WriteStream | undefined,
        onProgress: (progress) => {
          rows = progress.rows;
          const now = Date.now();
          if (!live || now - lastProgress < interval) return;
          lastProgress = now;
          void sendProgress({ pages: progress.pages, rows: progress.rows });
        },
      });
      // A run that showed progress ends on its final figures, unless the last update said them.
      if (sent && (sent.pages !== result.pages || sent.rows !== result.rows)) await sendProgress({ pages: result.pages, rows: result.rows });
      await this.#record(request.job, runId, 'completed', new Date(result.startedAt), result.rows, attempt, null);
      logger.info({ rows: result.rows, pages: result.pages, durationMs: result.durationMs }, 'run completed');
      return result;
    } catch (error) {
      if (this.#shuttingDown && signal?.aborted) {
        // Not the run's fault: put it back for another worker without spending an attempt.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const message = config.redactor.redact(error instanceof Error ? error.message : String(error));
      const permanent = (isRestqError(error) && error.permanent) || error instanceof UnrecoverableError;
      const final = permanent || attempt >= (job.opts.attempts ?? 1);
      const code = isRestqError(error) ? error.code : 'E_UNKNOWN';
      await this.#record(request.job, runId, final ? 'failed' : 'retrying', started, rows, attempt, message, code);
      logger.debug({ error: message, permanent }, 'run attempt failed');
      // Re-thrown with the redacted message only: BullMQ stores it in Redis as failedReason.
      if (permanent) throw new UnrecoverableError(message);
      throw new Error(message);
    }
  }

  readonly #lastSuccessUse = new Map<string, boolean>();

  #usesLastSuccessAt(jobName: string): boolean {
    let uses = this.#lastSuccessUse.get(jobName);
    if (uses === undefined) {
      const job = this.#options.config.jobs[jobName];
      uses = job === undefined || JSON.stringify(job.kind === 'grid' ? job.grid : job.scalar).includes('lastSuccessAt');
      this.#lastSuccessUse.set(jobName, uses);
    }
    return uses;
  }

  async #record(job: string, runId: string, status: RunRecord['status'], started: Date, rows: number, attempt: number, error: string | null, errorCode: string | null = null): Promise<void> {
    const finished = new Date();
    await this.#records
      .add({ runId, job, status, startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime(), rows, attempt, error, errorCode })
      .catch((e: unknown) => this.#logger.warn({ err: e }, 'could not record the run for `restq status`'));
  }
}
