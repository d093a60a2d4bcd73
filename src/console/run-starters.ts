import type { Config, ParamValue } from '../config/types.js';
import { isRestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-client-registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { enqueueRun } from '../queue/enqueue-run.js';
import type { RunQueue } from '../queue/run-queue.js';
import { newRunId } from '../run-id.js';
import { runJob } from '../runner.js';
import type { LiveRun, StateStore } from '../state/state-store.js';

/** Starts a run of a job for the console's "Run now" and tells how an active run is doing. */
export interface RunStarter {
  start(job: string, params: Record<string, ParamValue>): Promise<string>;
  /** A run this starter knows about (active in this process, or in the queue), else undefined. */
  live(runId: string): Promise<LiveRun | undefined>;
  close(): Promise<void>;
}

/** How often an in-process run writes its live record to the state store. */
const LIVE_WRITE_MS = 500;

/**
 * Standalone mode: "Run now" runs the job in the console's own process exactly as `restq run`
 * does (runJob with the state store, trigger `console`): an incremental job reads its window
 * from the stored cursor and moves it, and runJob appends the history record. This class only
 * keeps the live figures in memory and writes the live record (`.restq/runs/`) for other readers.
 */
export class InProcessRuns implements RunStarter {
  readonly #active = new Map<string, { live: LiveRun; done: Promise<void> }>();
  #options: InProcessRunsOptions;

  constructor(options: InProcessRunsOptions) {
    this.#options = options;
  }

  /**
   * Runs started from now on use `config` and `clients` (a config reload); runs already going
   * finish on the old ones. Resolves when those runs have ended, so the caller can close the old clients.
   */
  setConfig(config: Config, clients: ApiClients): Promise<void> {
    this.#options = { ...this.#options, config, clients };
    return Promise.allSettled([...this.#active.values()].map((a) => a.done)).then(() => undefined);
  }

  async start(job: string, params: Record<string, ParamValue>): Promise<string> {
    const { config, clients, state, logger, metrics } = this.#options;
    const started = new Date();
    const runId = newRunId(started);
    const live: LiveRun = { runId, job, trigger: 'console', state: 'active', startedAt: started.toISOString(), updatedAt: started.toISOString(), pages: 0, rows: 0, bytes: 0, window: null };
    let lastWrite = 0;
    // One write at a time, in order: an "active" write still under way must not land after "finished".
    let writing: Promise<void> = Promise.resolve();
    const write = () => {
      const record: LiveRun = { ...live, updatedAt: new Date().toISOString() };
      writing = writing.then(() => state.setLive(record)).catch((error: unknown) => logger.warn({ err: error }, 'console: could not write live progress'));
      return writing;
    };
    await write();
    const lastSuccessAt = await state.lastSuccessAt(job);
    const done = (async () => {
      try {
        const result = await runJob({
          config,
          job,
          params,
          clients,
          logger,
          runId,
          lastSuccessAt,
          metrics,
          state,
          trigger: 'console',
          onProgress: (p) => {
            Object.assign(live, { pages: p.pages, rows: p.rows, bytes: p.bytes });
            if (Date.now() - lastWrite >= LIVE_WRITE_MS) {
              lastWrite = Date.now();
              void write();
            }
          },
        });
        Object.assign(live, { pages: result.pages, rows: result.rows, bytes: result.bytes, window: result.window ?? null });
      } catch (failure) {
        // runJob recorded the failed run in the history; the console's log says it too.
        const code = isRestqError(failure) ? failure.code : 'E_UNKNOWN';
        logger.warn({ runId, job, code, error: config.redactor.redact(failure instanceof Error ? failure.message : String(failure)) }, 'console: run failed');
      }
      // runJob wrote the history record before this: a page that sees "finished" finds the run there.
      live.state = 'finished';
      await write();
      this.#active.delete(runId);
    })();
    this.#active.set(runId, { live, done });
    return runId;
  }

  async live(runId: string): Promise<LiveRun | undefined> {
    const active = this.#active.get(runId);
    return active ? { ...active.live } : undefined;
  }

  /** Waits for runs still going (they write their outcome). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#active.values()].map((a) => a.done));
  }
}

export interface InProcessRunsOptions {
  config: Config;
  clients: ApiClients;
  state: StateStore;
  logger: Logger;
  /** Counts the console's runs on its `/metrics`. @default none */
  metrics?: Metrics | undefined;
}

/** Distributed mode: "Run now" queues the run for the workers, with trigger `console` in its data. */
export class QueuedRuns implements RunStarter {
  readonly #runQueue: RunQueue;
  #config: Config;

  constructor(runQueue: RunQueue, config: Config) {
    this.#runQueue = runQueue;
    this.#config = config;
  }

  /** Runs queued from now on are checked against `config` (a config reload). */
  setConfig(config: Config): void {
    this.#config = config;
  }

  start(job: string, params: Record<string, ParamValue>): Promise<string> {
    return enqueueRun(this.#runQueue, this.#config, job, params, 'console');
  }

  /** A queued run's figures from BullMQ (the worker reports pages and rows as job progress). */
  async live(runId: string): Promise<LiveRun | undefined> {
    const job = await this.#runQueue.queue.getJob(runId);
    if (!job) return undefined;
    const state = await job.getState();
    const progress = (typeof job.progress === 'object' && job.progress !== null ? job.progress : {}) as { pages?: number; rows?: number };
    const startedAt = new Date(job.processedOn ?? job.timestamp).toISOString();
    return {
      runId,
      job: job.name,
      trigger: 'console',
      state: state === 'completed' || state === 'failed' ? 'finished' : 'active',
      startedAt,
      updatedAt: new Date().toISOString(),
      pages: progress.pages ?? 0,
      rows: progress.rows ?? 0,
      bytes: 0,
      window: null,
    };
  }

  async close(): Promise<void> {
    await this.#runQueue.close();
  }
}
