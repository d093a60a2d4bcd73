import type { Writable } from 'node:stream';
import type { Config, ParamValue } from './config/types.js';
import { findJob } from './config/lookup.js';
import { RestqError, toRestqError } from './errors/restq-error.js';
import { SkippedResponse } from './errors/skipped-response.js';
import type { ApiClients } from './http/api-client-registry.js';
import type { Logger } from './log/logger.js';
import type { Metrics } from './ops/metrics.js';
import { runContext } from './log/run-context.js';
import { fetchGridPages } from './query/grid.js';
import type { QueryStats } from './query/pages.js';
import { RowProjector, toCell, type Cell } from './query/row-projector.js';
import { fetchScalar } from './query/scalar.js';
import { templateContext, type TemplateContext } from './expr/template.js';
import { runDeadline } from './run-deadline.js';
import { newRunId } from './run-id.js';
import { createSink } from './sinks/registry.js';
import type { Sink } from './sinks/sink.js';
import { CursorTracker, explicitWindow, renderWindow, runWindow, sliceWindow, type WindowBounds } from './state/incremental.js';
import type { CursorAdvance, HistoryRecord, RunTrigger, RunWindow, StateStore } from './state/state-store.js';

export interface RunProgress {
  pages: number;
  rows: number;
  bytes: number;
  elapsedMs: number;
  /** Bytes the API announced (Content-Length) for a run of one page: lets the progress line show an ETA. */
  totalBytes?: number | undefined;
  /** Pages the API announced (`paginate.total`) for a run of one request sequence: "pages 3/10" and an ETA. */
  totalPages?: number | undefined;
  /** Pages read to their end (`pages` counts a page from its first rows). */
  pagesDone?: number | undefined;
}

export interface RunOptions {
  config: Config;
  job: string;
  clients: ApiClients;
  logger: Logger;
  /** `logger` already carries the run's job, runId and connection (a worker binds them with the attempt). */
  loggerBindsRun?: boolean;
  /** Enqueue-time or `--param` values; override the job's `params`. */
  params?: Readonly<Record<string, ParamValue>>;
  /** Stable across retries of a queued run. @default a fresh time-ordered id */
  runId?: string;
  /** ISO time of the job's last successful run, for {{lastSuccessAt}}. @default "" */
  lastSuccessAt?: string;
  /** @default () => new Date() */
  clock?: () => Date;
  /** @default process.stdout */
  stdout?: Writable;
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  /** Counts runs, duration and rows written. @default no metrics */
  metrics?: Metrics | undefined;
  /**
   * Job state (cursor, history, lastSuccessAt, live progress). With it, the run reads its
   * incremental window from the stored cursor, appends its history record and moves the cursor
   * atomically once every sink committed. @default none: nothing recorded, incremental jobs start at `start`
   */
  state?: StateStore | undefined;
  /** What started the run, for its history record. @default "cli" */
  trigger?: RunTrigger | undefined;
  /**
   * Fencing token of the run (epoch ms of its tick or enqueue time, the same for every retry):
   * a run older than the last cursor change cannot move the cursor. @default the run's start time
   */
  fence?: number | undefined;
  /** A backfill window: replaces the cursor-based window and never moves the cursor. */
  window?: RunWindow | undefined;
  /**
   * Whether a failure of this attempt ends the run and is recorded in the history (a queued run
   * that will be retried is recorded once, when it ends). @default always
   */
  recordFailure?: ((error: unknown) => boolean) | undefined;
}

export interface RunResult {
  runId: string;
  job: string;
  rows: number;
  pages: number;
  bytes: number;
  requests: number;
  durationMs: number;
  startedAt: string;
  finishedAt: string;
  outputs: string[];
  warnings: string[];
  /** forEach parents skipped (skipOn status or a skip rule). */
  skipped: number;
  /** Incremental jobs: the run's window (null otherwise). */
  window?: RunWindow | null;
  /** Incremental jobs: the stored cursor before and after the run. */
  cursorBefore?: string | null;
  cursorAfter?: string | null;
}

/**
 * One run of one job: request(s), rows, every sink. The same function serves `restq run`,
 * the standalone scheduler and BullMQ workers. Sinks are committed only when every page was
 * read; any failure aborts them all (no partial files) and rethrows.
 */
export async function runJob(options: RunOptions): Promise<RunResult> {
  const { config } = options;
  const job = findJob(config, options.job);
  const clock = options.clock ?? (() => new Date());
  const started = clock();
  const startedAt = started.toISOString();
  const runId = options.runId ?? newRunId(started);
  const run = runContext({ job: job.name, runId, connection: job.connection });
  // Bind only what the caller's logger does not carry yet (a worker binds runId and job): pino
  // would write a key bound twice twice.
  let logger = options.logger;
  if (!options.loggerBindsRun) {
    const bound = logger.bindings();
    logger = logger.child(Object.fromEntries(Object.entries({ job: job.name, runId, connection: job.connection }).filter(([key]) => !(key in bound))));
  }
  const api = options.clients.get(job.connection);
  const ctx = templateContext({ defaults: job.params, params: options.params, startedAt: started, runId, lastSuccessAt: options.lastSuccessAt });
  const state = options.state;
  const trigger = options.trigger ?? 'cli';
  const incremental = job.kind === 'grid' ? job.incremental : undefined;
  const backfill = options.window !== undefined;
  let cursorBefore: string | null = null;
  let bounds: WindowBounds | undefined;
  if (incremental) {
    if (backfill) bounds = explicitWindow(options.window!);
    else {
      const stored = state ? await state.getCursor(job.name) : { job: job.name, cursor: null, updatedAt: null, runId: null };
      cursorBefore = stored.cursor;
      bounds = runWindow(incremental, stored, started);
    }
    if (state && backfill) cursorBefore = (await state.getCursor(job.name)).cursor;
  }
  const window = bounds ? renderWindow(bounds) : null;
  const tracker = incremental && bounds ? new CursorTracker(incremental, bounds) : undefined;
  const { signal, aborted, release } = runDeadline(job, options.signal);
  const sinkContext = {
    job,
    runId,
    startedAt: started,
    configDir: config.dir,
    stdout: options.stdout ?? process.stdout,
    logger,
    redactor: config.redactor,
    signal,
  };
  const sinks: Sink[] = job.outputs.map((spec) => createSink(spec, sinkContext));
  const progress: RunProgress = { pages: 0, rows: 0, bytes: 0, elapsedMs: 0 };
  // Live progress for the console: only for runs that last (a quick run costs no extra write).
  let liveAt = LIVE_EVERY_MS;
  let liveWrite: Promise<void> | undefined;
  const report = () => {
    progress.elapsedMs = clock().getTime() - started.getTime();
    options.onProgress?.({ ...progress });
    if (state && progress.elapsedMs >= liveAt && !liveWrite) {
      liveAt = progress.elapsedMs + LIVE_EVERY_MS;
      const { pages, rows, bytes } = progress;
      liveWrite = state
        .setLive({ runId, job: job.name, trigger, state: 'active', startedAt, updatedAt: clock().toISOString(), pages, rows, bytes, window })
        .catch((error: unknown) => logger.debug({ err: error }, 'could not write live progress'))
        .finally(() => (liveWrite = undefined));
    }
  };
  const record = (status: HistoryRecord['status'], error: HistoryRecord['error']): Omit<HistoryRecord, 'cursorAfter'> => {
    const finished = clock();
    return {
      runId,
      job: job.name,
      trigger,
      status,
      startedAt,
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      rows: progress.rows,
      pages: progress.pages,
      bytes: progress.bytes,
      window,
      cursorBefore,
      error,
    };
  };
  const warnings: string[] = [];
  const stats: QueryStats = { skippedParents: 0, skippedResponses: 0 };
  let columns: readonly string[] = [];
  const deliver = async (rows: Cell[][]) => {
    for (const sink of sinks) await sink.write(rows, columns);
  };

  logger.debug({ outputs: sinks.map((s) => s.description) }, 'run started');
  const metrics = options.metrics;
  metrics?.runStarted(job.name);
  const work = async () => {
    // With grid.forEach the cursor is read on the parent rows (SPEC 9): only parents in the window
    // are followed, and their children's rows are all kept.
    const parentCursor = tracker && job.kind === 'grid' && job.grid.forEach ? tracker : undefined;
    const deps = { api, redactor: config.redactor, logger, signal, stats, run, acceptParent: parentCursor ? (row: unknown) => parentCursor.accept(row) : undefined };
    if (job.kind === 'scalar') {
      const fetched = await fetchScalar(job, ctx, deps).catch((error: unknown) => {
        // A `responses:` rule with action skip drops the answer: no value, said in the summary.
        if (!(error instanceof SkippedResponse)) throw error;
        warnings.push(`the response was dropped by a skip rule: ${error.message}`);
        return undefined;
      });
      columns = [job.scalar.column];
      progress.pages = 1;
      if (fetched) {
        progress.rows = 1;
        progress.bytes = fetched.bytes;
        await deliver([[toCell(fetched.value)]]);
      }
      report();
    } else {
      const projector = new RowProjector(job.grid.columns);
      columns = projector.columns ?? [];
      // An incremental window may be split into slices: one request sequence per slice, in order.
      const slices = bounds ? sliceWindow(bounds, incremental?.slice) : [undefined];
      let inPage = false;
      for (const slice of slices) {
        const sliceCtx: TemplateContext = slice ? { ...ctx, window: { start: slice.start.text, end: slice.end?.text ?? '' }, cursor: slice.start.text } : ctx;
        for await (const page of fetchGridPages(job, sliceCtx, deps)) {
          const rowCtx = page.ctx ?? sliceCtx;
          const raw = tracker && !parentCursor ? page.rows.filter((row) => tracker.accept(row)) : page.rows;
          const rows = raw.map((row) => projector.project(row, rowCtx));
          columns = projector.columns ?? [];
          // A page arrives in chunks (huge pages are streamed): it counts from its first chunk, so the
          // counter never shows "pages 0" beside rows of page 1.
          if (!inPage) progress.pages++;
          inPage = !page.pageDone;
          if (page.pageDone) progress.pagesDone = (progress.pagesDone ?? 0) + 1;
          const single = !job.grid.forEach && slices.length === 1;
          if (single && !job.grid.paginate && page.contentLength !== undefined) progress.totalBytes = page.contentLength;
          if (single && page.totalPages !== undefined) progress.totalPages = page.totalPages;
          progress.rows += rows.length;
          progress.bytes += page.bytes;
          if (rows.length > 0) await deliver(rows);
          report();
        }
      }
      warnings.push(...projector.warnings());
      if (tracker) warnings.push(...tracker.warnings());
      if (stats.skippedResponses > 0) warnings.push(`${stats.skippedResponses} response${stats.skippedResponses === 1 ? '' : 's'} dropped by a skip rule (or skipOn after a child's first page): those request sequences ended there`);
      if (progress.rows === 0) warnings.push(`grid.rows ${job.grid.rows} matched no rows`);
    }
    signal.throwIfAborted();
    for (const sink of sinks) await sink.prepare?.(columns);
    for (const sink of sinks) if (!sink.prepare) await sink.commit(columns);
    for (const sink of sinks) if (sink.prepare) await sink.commit(columns);
  };
  try {
    // The deadline wins over whatever the run is waiting on (a stuck file, a silent socket).
    await Promise.race([work(), aborted]);
  } catch (error) {
    await Promise.race([Promise.allSettled(sinks.map((s) => s.abort())), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    const reason = toRestqError(signal.aborted && signal.reason instanceof RestqError ? signal.reason : error, `job "${job.name}" run ${runId}`);
    metrics?.runFailed(job.name, reason instanceof RestqError ? reason.code : 'E_UNKNOWN', clock().getTime() - started.getTime());
    await liveWrite;
    if (state && (options.recordFailure?.(reason) ?? true)) {
      const code = reason instanceof RestqError ? reason.code : 'E_UNKNOWN';
      const message = config.redactor.redact(reason instanceof Error ? reason.message : String(reason));
      await state.finishRun(record('failed', { code, message })).catch((e: unknown) => logger.warn({ err: e }, 'could not record the failed run in the job history'));
    }
    throw reason;
  } finally {
    release();
  }
  await liveWrite;
  // Every sink committed: record the run and move the cursor in one atomic step. A run with no
  // rows, and a backfill, leave the cursor alone.
  let cursorAfter = cursorBefore;
  if (state) {
    const advance: CursorAdvance | undefined = !backfill && progress.rows > 0 ? tracker?.advance(options.fence ?? started.getTime()) : undefined;
    try {
      const outcome = await state.finishRun(record('succeeded', null), { advance, lastSuccessAt: backfill ? undefined : startedAt });
      cursorAfter = outcome.record.cursorAfter;
      if (advance && !outcome.moved) logger.info({ offered: advance.value, reason: outcome.reason }, outcome.reason === 'stale' ? 'cursor not moved: a newer run or a manual change came first' : 'cursor not moved: no value beyond the stored cursor');
    } catch (error) {
      // The outputs are committed, but the cursor could not move: failing lets the run be
      // retried (at-least-once) instead of silently re-reading the window on the next tick.
      if (advance) throw error;
      logger.warn({ err: error }, 'could not record the run in the job history');
    }
  }
  const finished = clock();
  for (const warning of warnings) logger.warn(warning);
  if (metrics) {
    for (const spec of job.outputs) metrics.rowsWritten(job.name, spec.type, progress.rows);
    metrics.runSucceeded(job.name, finished.getTime() - started.getTime());
  }
  return {
    runId,
    job: job.name,
    rows: progress.rows,
    pages: progress.pages,
    bytes: progress.bytes,
    requests: run.requests,
    durationMs: finished.getTime() - started.getTime(),
    startedAt,
    finishedAt: finished.toISOString(),
    outputs: sinks.map((s) => s.description),
    warnings,
    skipped: stats.skippedParents,
    ...(incremental ? { window, cursorBefore, cursorAfter } : {}),
  };
}

/** Live progress of a long run is written at most this often. */
const LIVE_EVERY_MS = 1000;
