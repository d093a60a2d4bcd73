/** The fields every log line about a run carries, wherever it is logged from. */
export interface RunFields {
  job?: string;
  runId?: string;
  connection?: string;
}

/**
 * The run a request belongs to, carried on the request itself (`HttpRequest.run`): code shared by
 * every run of a connection (its retry and rate-limit wrappers, the request log) logs with a
 * per-connection logger and adds these fields, and the API client counts the run's requests here.
 * Passed explicitly rather than kept in an AsyncLocalStorage: that installs promise hooks that
 * every promise of the process pays for (about a tenth of a queued scalar run's CPU).
 */
export interface RunContext {
  readonly job: string;
  readonly runId: string;
  readonly connection: string;
  /** API requests the run sent so far (401 retries and retry attempts included). */
  requests: number;
}

/** A new run context (no request sent yet). */
export function runContext(fields: { job: string; runId: string; connection: string }): RunContext {
  return { job: fields.job, runId: fields.runId, connection: fields.connection, requests: 0 };
}

/** The log fields of the run a request belongs to ({} outside a run, e.g. `restq check`). */
export function runLogFields(run: RunContext | undefined): RunFields {
  return run ? { job: run.job, runId: run.runId } : {};
}
