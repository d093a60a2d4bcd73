import type { Writable } from 'node:stream';
import type { Config, Job, ParamValue } from './config/types.js';
import { findJob } from './config/lookup.js';
import { RestqError } from './errors/restq-error.js';
import { SkippedResponse } from './errors/skipped-response.js';
import type { ApiClients } from './http/api-clients.js';
import type { Logger } from './logger.js';
import type { Metrics } from './ops/metrics.js';
import { setRunFields, withRunContext } from './ops/run-context.js';
import { fetchGridPages } from './query/grid.js';
import type { QueryStats } from './query/pages.js';
import { RowProjector, type Cell } from './query/row-projector.js';
import { fetchScalar } from './query/scalar.js';
import { templateContext } from './query/template.js';
import { newRunId } from './run-id.js';
import { createSink } from './sinks/registry.js';
import type { Sink } from './sinks/sink.js';

export interface RunProgress {
  pages: number;
  rows: number;
  bytes: number;
  elapsedMs: number;
  /** Bytes the API announced (Content-Length) for a run of one page: lets the progress line show an ETA. */
  totalBytes?: number | undefined;
}

export interface RunOptions {
  config: Config;
  job: string;
  clients: ApiClients;
  logger: Logger;
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
}

/** A deadline for the whole run that says which timeout fired. */
function runSignal(job: Job, outer: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new RestqError('E_TIMEOUT', `run timeout of ${job.timeout} ms exceeded (job "${job.name}" timeout:)`, { permanent: true })),
    job.timeout,
  );
  timer.unref();
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  if (outer?.aborted) onAbort();
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * One run of one job: request(s), rows, every sink. The same function serves `restq run`,
 * the standalone scheduler and BullMQ workers. Sinks are committed only when every page was
 * read; any failure aborts them all (no partial files) and rethrows.
 */
export function runJob(options: RunOptions): Promise<RunResult> {
  return withRunContext(() => runInContext(options));
}

async function runInContext(options: RunOptions): Promise<RunResult> {
  const { config } = options;
  const job = findJob(config, options.job);
  const clock = options.clock ?? (() => new Date());
  const started = clock();
  const runId = options.runId ?? newRunId(started);
  setRunFields({ job: job.name, runId, connection: job.connection });
  // Bind only what the caller's logger does not carry yet (a worker binds runId and job): pino
  // would write a key bound twice twice.
  const bound = options.logger.bindings();
  const fields = Object.fromEntries(Object.entries({ job: job.name, runId, connection: job.connection }).filter(([key]) => !(key in bound)));
  const logger = options.logger.child(fields);
  const api = options.clients.get(job.connection);
  const requestsBefore = api.requests;
  const ctx = templateContext({ defaults: job.params, params: options.params, startedAt: started, runId, lastSuccessAt: options.lastSuccessAt });
  const { signal, dispose } = runSignal(job, options.signal);
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
  const report = () => {
    progress.elapsedMs = clock().getTime() - started.getTime();
    options.onProgress?.({ ...progress });
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
  try {
    const deps = { api, redactor: config.redactor, logger, signal, stats };
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
        const projector = new RowProjector({ [job.scalar.column]: '$' });
        progress.rows = 1;
        progress.bytes = fetched.bytes;
        await deliver([projector.project(fetched.value)]);
      }
      report();
    } else {
      const projector = new RowProjector(job.grid.columns);
      columns = projector.columns ?? [];
      let inPage = false;
      for await (const page of fetchGridPages(job, ctx, deps)) {
        const rowCtx = page.ctx ?? ctx;
        const rows = page.rows.map((row) => projector.project(row, rowCtx));
        columns = projector.columns ?? [];
        // A page arrives in chunks (huge pages are streamed): it counts from its first chunk, so the
        // counter never shows "pages 0" beside rows of page 1.
        if (!inPage) progress.pages++;
        inPage = !page.pageDone;
        if (!job.grid.paginate && !job.grid.forEach && page.contentLength !== undefined) progress.totalBytes = page.contentLength;
        progress.rows += rows.length;
        progress.bytes += page.bytes;
        if (rows.length > 0) await deliver(rows);
        report();
      }
      warnings.push(...projector.warnings());
      if (stats.skippedResponses > 0) warnings.push(`${stats.skippedResponses} response${stats.skippedResponses === 1 ? '' : 's'} dropped by a skip rule (or skipOn after a child's first page): those request sequences ended there`);
      if (progress.rows === 0) warnings.push(`grid.rows ${job.grid.rows} matched no rows`);
    }
    signal.throwIfAborted();
    for (const sink of sinks) await sink.prepare?.(columns);
    for (const sink of sinks) if (!sink.prepare) await sink.commit(columns);
    for (const sink of sinks) if (sink.prepare) await sink.commit(columns);
  } catch (error) {
    await Promise.allSettled(sinks.map((s) => s.abort()));
    const reason = signal.aborted && signal.reason instanceof RestqError ? signal.reason : error;
    metrics?.runFailed(job.name, reason instanceof RestqError ? reason.code : 'E_UNKNOWN', clock().getTime() - started.getTime());
    throw reason;
  } finally {
    dispose();
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
    requests: api.requests - requestsBefore,
    durationMs: finished.getTime() - started.getTime(),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    outputs: sinks.map((s) => s.description),
    warnings,
    skipped: stats.skippedParents,
  };
}
