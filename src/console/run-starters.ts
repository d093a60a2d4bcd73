import type { Config, ParamValue } from '../config/types.js';
import { isRestqError } from '../errors/restq-error.js';
import type { ApiClients } from '../http/api-client-registry.js';
import type { Logger } from '../log/logger.js';
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
 * Standalone mode: "Run now" runs the job in the console's own process (like `restq run`), with
 * live progress in memory and in `.restq/`, and appends its history record when it ends.
 */
export class InProcessRuns implements RunStarter {
  readonly #active = new Map<string, { live: LiveRun; done: Promise<void> }>();
  #options: { config: Config; clients: ApiClients; state: StateStore; logger: Logger };

  constructor(options: { config: Config; clients: ApiClients; state: StateStore; logger: Logger }) {
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
    const { config, clients, state, logger } = this.#options;
    const started = new Date();
    const runId = newRunId(started);
    const cursorBefore = (await state.getCursor(job)).cursor;
    const live: LiveRun = { runId, job, trigger: 'console', state: 'active', startedAt: started.toISOString(), updatedAt: started.toISOString(), pages: 0, rows: 0, bytes: 0, window: null };
    let lastWrite = 0;
    const write = () => state.setLive({ ...live, updatedAt: new Date().toISOString() }).catch((error: unknown) => logger.warn({ err: error }, 'console: could not write live progress'));
    await write();
    const done = (async () => {
      let status: 'succeeded' | 'failed' = 'succeeded';
      let error: { code: string; message: string } | null = null;
      try {
        const result = await runJob({
          config,
          job,
          params,
          clients,
          logger,
          runId,
          lastSuccessAt: await state.lastSuccessAt(job),
          onProgress: (p) => {
            Object.assign(live, { pages: p.pages, rows: p.rows, bytes: p.bytes });
            if (Date.now() - lastWrite >= LIVE_WRITE_MS) {
              lastWrite = Date.now();
              void write();
            }
          },
        });
        Object.assign(live, { pages: result.pages, rows: result.rows, bytes: result.bytes });
      } catch (failure) {
        status = 'failed';
        error = { code: isRestqError(failure) ? failure.code : 'E_UNKNOWN', message: config.redactor.redact(failure instanceof Error ? failure.message : String(failure)) };
      }
      const finished = new Date();
      // The history record first: a page that sees "finished" must find the run in the history.
      await state
        .finishRun(
          {
            runId,
            job,
            trigger: 'console',
            status,
            startedAt: live.startedAt,
            finishedAt: finished.toISOString(),
            durationMs: finished.getTime() - started.getTime(),
            rows: live.rows,
            pages: live.pages,
            bytes: live.bytes,
            window: null,
            cursorBefore,
            error,
          },
          status === 'succeeded' ? { lastSuccessAt: live.startedAt } : {},
        )
        .catch((e: unknown) => logger.warn({ err: e }, 'console: could not record the run'));
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

/** Distributed mode: "Run now" queues the run for the workers (trigger as for `restq enqueue`). */
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
    return enqueueRun(this.#runQueue, this.#config, job, params);
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
