/**
 * Durable state of jobs (SPEC 8): incremental cursors, run history, lastSuccessAt, pause flags
 * and the live progress of active runs. One interface with two back ends: Redis (distributed
 * mode, keys under the prefix) and files in `.restq/` (standalone mode). The runner, `status`,
 * the `state`/`history`/`backfill`/`pause`/`resume` commands and the console all read and
 * write through it. No record ever holds a secret: callers pass redacted error messages.
 *
 * This interface is read by the console (src/console/): keep it stable.
 */

/** What started a run (SPEC 8). */
export type RunTrigger = 'schedule' | 'enqueue' | 'cli' | 'backfill' | 'console';

/** How a run ended; `skipped` is a tick that did not run (paused job, misfire policy `skip`). */
export type HistoryStatus = 'succeeded' | 'failed' | 'skipped';

/** A run's time (or number) window; `end` is null for number and string cursors. */
export interface RunWindow {
  start: string | null;
  end: string | null;
}

/** One run in a job's history, exactly the record of SPEC 8. */
export interface HistoryRecord {
  runId: string;
  job: string;
  trigger: RunTrigger;
  status: HistoryStatus;
  /** ISO 8601 UTC. */
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  rows: number;
  pages: number;
  bytes: number;
  window: RunWindow | null;
  /** The job's stored cursor when the run started (null: none yet, or not incremental). */
  cursorBefore: string | null;
  /** The job's stored cursor after the run (equal to cursorBefore when it did not move). */
  cursorAfter: string | null;
  /** Redacted; `code` is a RestqError code such as E_HTTP or E_MISFIRE. */
  error: { code: string; message: string } | null;
}

/** How a cursor's values compare: as numbers (datetimes as epoch ms, numbers) or as strings. */
export type CursorOrder = 'number' | 'string';

/** A job's stored cursor, as `restq state JOB --json` prints it. */
export interface CursorState {
  job: string;
  /** Canonical text: ISO 8601 UTC for datetimes, a decimal for numbers; null when none is stored. */
  cursor: string | null;
  /** When it last changed (ISO). */
  updatedAt: string | null;
  /** The run that moved it, `manual` for `restq state --set`, null when none. */
  runId: string | null;
}

/** A candidate new cursor from a successful run. */
export interface CursorAdvance {
  /** Canonical text of the greatest cursor value among the run's rows. */
  value: string;
  /** Sort key: a decimal number (epoch ms for datetimes) or the string itself. */
  sortKey: string;
  order: CursorOrder;
  /**
   * Fencing token: the time (epoch ms) the run was created — its tick or enqueue time, the same
   * for every retry of it. The store refuses an advance whose fence is older than the one
   * stored by the last committed run or manual change, so a stale retry of an older run that
   * finishes late can never move the cursor (neither back nor past a manual `--set`).
   */
  fence: number;
}

/** What became of the cursor in `finishRun`. */
export interface FinishOutcome {
  /** True when the cursor was moved to `advance.value`. */
  moved: boolean;
  /** Why it did not move: a newer run or manual change came first, or the value was not greater. */
  reason: 'stale' | 'not-greater' | null;
  /** The record as stored (cursorAfter filled in). */
  record: HistoryRecord;
}

/** What `finishRun` does besides recording the run: move the cursor, set lastSuccessAt. */
export interface FinishRunOptions {
  advance?: CursorAdvance | undefined;
  lastSuccessAt?: string | undefined;
}

/** Live progress of an active (or just finished) run, for the console's `GET /api/runs/RUNID`. */
export interface LiveRun {
  runId: string;
  job: string;
  trigger: RunTrigger;
  state: 'active' | 'finished';
  startedAt: string;
  /** When this record was last written (ISO). */
  updatedAt: string;
  pages: number;
  rows: number;
  bytes: number;
  window: RunWindow | null;
}

/** Pause flag of a job (`restq pause JOB`). */
export interface PauseState {
  paused: boolean;
  /** When it was paused (ISO), null when not paused. */
  since: string | null;
}

export interface StateStore {
  /** `redis` in distributed mode, `file` in standalone mode. */
  readonly kind: 'redis' | 'file';
  /** Records kept per job (RESTQ_HISTORY). */
  readonly historyLimit: number;

  /** The stored cursor of `job` (cursor null when none). */
  getCursor(job: string): Promise<CursorState>;
  /**
   * Sets the cursor unconditionally (`restq state JOB --set V`): it may move back. Raises the
   * fence to now, so runs that started before this change cannot overwrite it.
   */
  setCursor(job: string, value: { value: string; sortKey: string; order: CursorOrder }, now?: Date): Promise<CursorState>;
  /** Forgets the cursor (the next run starts at `incremental.start`); fences older runs out. */
  resetCursor(job: string, now?: Date): Promise<CursorState>;

  /**
   * Records the end of a run in one atomic step: appends `record` to the job's history (newest
   * first, the last `historyLimit` kept), sets lastSuccessAt when `lastSuccessAt` is given, and
   * when `advance` is given moves the cursor to it if its fence is not older than the stored one
   * and its value is greater than the stored value. `record.cursorAfter` is filled in here.
   */
  finishRun(record: Omit<HistoryRecord, 'cursorAfter'>, options?: FinishRunOptions): Promise<FinishOutcome>;

  /** The job's most recent runs, newest first, at most `limit` (default: all kept). */
  history(job: string, limit?: number): Promise<HistoryRecord[]>;
  /** The job's most recent run (what `status` shows), undefined before the first. */
  lastRun(job: string): Promise<HistoryRecord | undefined>;
  /** ISO start time of the job's last successful non-backfill run, "" before the first. */
  lastSuccessAt(job: string): Promise<string>;

  getPause(job: string): Promise<PauseState>;
  /** Pauses or resumes `job`; a paused job's ticks are recorded as `skipped`. */
  setPaused(job: string, paused: boolean, now?: Date): Promise<PauseState>;

  /** Writes a run's live progress (bounded: expires on its own). */
  setLive(run: LiveRun): Promise<void>;
  /** Live progress of a run, undefined when unknown or expired. */
  getLive(runId: string): Promise<LiveRun | undefined>;

  /** Releases what the store opened itself (never a Redis client passed in). */
  close(): Promise<void>;
}

/** RESTQ_HISTORY default: records kept per job. */
export const DEFAULT_HISTORY_LIMIT = 100;

/** Live records expire this long after their last update (a killed run's record goes away). */
export const LIVE_TTL_MS = 60 * 60 * 1000;

/**
 * A job's cursor as `getCursor` reports it, from what either back end stored: a reset keeps
 * updatedAt but drops the value, and runId is reported only while a value is stored.
 */
export function cursorState(job: string, stored: { cursor?: string | undefined; updatedAt?: string | undefined; runId?: string | undefined } | undefined): CursorState {
  const cursor = stored?.cursor ?? null;
  return { job, cursor, updatedAt: stored?.updatedAt ?? null, runId: cursor === null ? null : (stored?.runId ?? null) };
}

/** The unmoved/moved variants of a record, so a store can pick one inside its atomic step. */
export function recordVariants(record: Omit<HistoryRecord, 'cursorAfter'>, advance: CursorAdvance | undefined): { moved: HistoryRecord; unmoved: HistoryRecord } {
  return { unmoved: withCursorAfter(record, record.cursorBefore), moved: withCursorAfter(record, advance ? advance.value : record.cursorBefore) };
}

/** The record with its fields in the order of SPEC 8 (JSON output reads in that order). */
export function withCursorAfter(record: Omit<HistoryRecord, 'cursorAfter'>, cursorAfter: string | null): HistoryRecord {
  const { runId, job, trigger, status, startedAt, finishedAt, durationMs, rows, pages, bytes, window, cursorBefore, error } = record;
  return { runId, job, trigger, status, startedAt, finishedAt, durationMs, rows, pages, bytes, window, cursorBefore, cursorAfter, error };
}
