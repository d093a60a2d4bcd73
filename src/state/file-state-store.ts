import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KeyedMutex } from '../auth/memory-token-store.js';
import { RestqError } from '../errors/restq-error.js';
import { writeFileAtomic } from '../atomic-write.js';
import { withFileLock } from '../file-lock.js';
import {
  cursorState,
  DEFAULT_HISTORY_LIMIT,
  LIVE_TTL_MS,
  recordVariants,
  type CursorOrder,
  type CursorState,
  type FinishOutcome,
  type FinishRunOptions,
  type HistoryRecord,
  type LiveRun,
  type PauseState,
  type StateStore,
} from './state-store.js';

export interface FileStateStoreOptions {
  /** The `.restq` directory of the project (state.json, history/, runs/ live inside). */
  dir: string;
  /** RESTQ_HISTORY. @default 100 */
  historyLimit?: number;
  /** A lock file older than this is left over from a killed process. @default 60000 */
  staleLockMs?: number;
  /** How long to wait for another process's lock. @default 120000 */
  lockWaitMs?: number;
}

interface StoredCursor {
  cursor?: string;
  sort?: string;
  order?: CursorOrder;
  runId?: string;
  updatedAt?: string;
  /** Fencing token: see CursorAdvance.fence. */
  fence?: number;
}

interface JobState {
  cursor?: StoredCursor;
  lastSuccessAt?: string;
  pausedSince?: string;
}

/** `.restq/state.json`, shared with the token store (which owns `connections`). */
interface StateFile {
  format: 1;
  connections?: Record<string, unknown>;
  jobs?: Record<string, JobState>;
  [other: string]: unknown;
}

function greater(order: CursorOrder, a: string, b: string): boolean {
  return order === 'string' ? a > b : Number(a) > Number(b);
}

/**
 * Standalone state store in `.restq/`: cursors, lastSuccessAt and pause flags in `state.json`
 * (beside the token store's `connections`, under the same lock file), one history file per
 * job in `history/JOB.json` (newest first, at most `historyLimit`), live progress in
 * `runs/RUNID.json`. Every write goes to a temp file (mode 0600) renamed into place, under an
 * in-process mutex and an O_EXCL lock file, so two restq processes on one project never
 * corrupt or lose each other's updates.
 */
export class FileStateStore implements StateStore {
  readonly kind = 'file' as const;
  readonly historyLimit: number;
  readonly #options: FileStateStoreOptions;
  readonly #mutex = new KeyedMutex();

  constructor(options: FileStateStoreOptions) {
    this.#options = options;
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  }

  get #stateFile(): string {
    return path.join(this.#options.dir, 'state.json');
  }

  #historyFile(job: string): string {
    return path.join(this.#options.dir, 'history', `${job}.json`);
  }

  #liveFile(runId: string): string {
    return path.join(this.#options.dir, 'runs', `${runId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  }

  async getCursor(job: string): Promise<CursorState> {
    return cursorState(job, (await this.#load()).jobs?.[job]?.cursor);
  }

  setCursor(job: string, value: { value: string; sortKey: string; order: CursorOrder }, now = new Date()): Promise<CursorState> {
    return this.#update(async (data) => {
      const state = jobState(data, job);
      state.cursor = { cursor: value.value, sort: value.sortKey, order: value.order, runId: 'manual', updatedAt: now.toISOString(), fence: Math.max(state.cursor?.fence ?? 0, now.getTime()) };
      return cursorState(job, state.cursor);
    });
  }

  resetCursor(job: string, now = new Date()): Promise<CursorState> {
    return this.#update(async (data) => {
      const state = jobState(data, job);
      state.cursor = { updatedAt: now.toISOString(), fence: Math.max(state.cursor?.fence ?? 0, now.getTime()) };
      return cursorState(job, state.cursor);
    });
  }

  finishRun(record: Omit<HistoryRecord, 'cursorAfter'>, options: FinishRunOptions = {}): Promise<FinishOutcome> {
    const { advance, lastSuccessAt } = options;
    const variants = recordVariants(record, advance);
    return this.#update(async (data) => {
      const state = jobState(data, record.job);
      let moved = false;
      let reason: FinishOutcome['reason'] = null;
      if (advance) {
        const stored = state.cursor ?? {};
        if ((stored.fence ?? 0) > advance.fence) reason = 'stale';
        else if (stored.sort !== undefined && stored.order === advance.order && !greater(advance.order, advance.sortKey, stored.sort)) reason = 'not-greater';
        if (reason === null) {
          state.cursor = { cursor: advance.value, sort: advance.sortKey, order: advance.order, runId: record.runId, updatedAt: record.finishedAt, fence: advance.fence };
          moved = true;
        } else if (reason === 'not-greater') {
          state.cursor = { ...stored, fence: advance.fence };
        }
      }
      if (lastSuccessAt && (state.lastSuccessAt ?? '') < lastSuccessAt) state.lastSuccessAt = lastSuccessAt;
      const stored = moved ? variants.moved : variants.unmoved;
      // History first: a crash between the two writes leaves the cursor unmoved (the next run
      // re-reads the window: at-least-once), never a moved cursor without its record.
      const history = await this.#readHistory(record.job);
      history.unshift(stored);
      await writeFileAtomic(this.#historyFile(record.job), `${JSON.stringify(history.slice(0, this.historyLimit))}\n`);
      await this.#finishLive(record.runId, record.finishedAt);
      return { moved, reason, record: stored };
    });
  }

  async history(job: string, limit = this.historyLimit): Promise<HistoryRecord[]> {
    return (await this.#readHistory(job)).slice(0, Math.max(0, limit));
  }

  async lastRun(job: string): Promise<HistoryRecord | undefined> {
    return (await this.history(job, 1))[0];
  }

  async lastSuccessAt(job: string): Promise<string> {
    return (await this.#load()).jobs?.[job]?.lastSuccessAt ?? '';
  }

  async getPause(job: string): Promise<PauseState> {
    const since = (await this.#load()).jobs?.[job]?.pausedSince;
    return { paused: since !== undefined, since: since ?? null };
  }

  setPaused(job: string, paused: boolean, now = new Date()): Promise<PauseState> {
    return this.#update(async (data) => {
      const state = jobState(data, job);
      if (paused) state.pausedSince ??= now.toISOString();
      else delete state.pausedSince;
      return { paused, since: state.pausedSince ?? null };
    });
  }

  async setLive(run: LiveRun): Promise<void> {
    await writeFileAtomic(this.#liveFile(run.runId), `${JSON.stringify(run)}\n`).catch((error: unknown) => {
      throw ioError(`write the progress of run ${run.runId}`, this.#liveFile(run.runId), error);
    });
  }

  async getLive(runId: string): Promise<LiveRun | undefined> {
    const file = this.#liveFile(runId);
    let text: string;
    try {
      const info = await stat(file);
      if (Date.now() - info.mtimeMs > LIVE_TTL_MS) return undefined;
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError(`read the progress of run ${runId}`, file, error);
    }
    try {
      return JSON.parse(text) as LiveRun;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** Marks a run's live record finished and removes expired ones (killed runs), so runs/ stays small. */
  async #finishLive(runId: string, at: string): Promise<void> {
    const live = await this.getLive(runId).catch(() => undefined);
    if (live) await this.setLive({ ...live, state: 'finished', updatedAt: at }).catch(() => undefined);
    const dir = path.join(this.#options.dir, 'runs');
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > LIVE_TTL_MS) await rm(file, { force: true });
    }
  }

  async #readHistory(job: string): Promise<HistoryRecord[]> {
    const file = this.#historyFile(job);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(`read the history of job "${job}"`, file, error);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error('not an array');
      return parsed as HistoryRecord[];
    } catch {
      throw new RestqError('E_STATE', `run history ${file} is corrupted (not a JSON array): delete it to start the history of job "${job}" afresh`, { permanent: true });
    }
  }

  async #load(): Promise<StateFile> {
    const file = this.#stateFile;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: 1, connections: {} };
      throw ioError('read the job state', file, error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const data = parsed as StateFile | undefined;
    if (!data || typeof data !== 'object' || data.format !== 1 || (data.jobs !== undefined && (typeof data.jobs !== 'object' || data.jobs === null))) {
      throw new RestqError('E_STATE', `state file ${file} is corrupted: restore it from a backup, or delete it (cursors restart at incremental.start; refresh tokens must be re-seeded)`, { permanent: true });
    }
    return data;
  }

  /** Read-modify-write of state.json under the mutex and the lock file shared with the token store. */
  #update<T>(change: (data: StateFile) => Promise<T>): Promise<T> {
    const file = this.#stateFile;
    return this.#mutex.run('file', () =>
      withFileLock(
        `${file}.lock`,
        { staleMs: this.#options.staleLockMs, waitMs: this.#options.lockWaitMs, dirMode: 0o700, code: 'E_STATE', what: `state ${file}` },
        async () => {
          const data = await this.#load();
          const result = await change(data);
          // The token store expects `connections`, even when no token was stored yet.
          data.connections ??= {};
          await writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`).catch((error: unknown) => {
            throw ioError('write the job state', file, error);
          });
          return result;
        },
      ),
    );
  }
}

function jobState(data: StateFile, job: string): JobState {
  data.jobs ??= {};
  return (data.jobs[job] ??= {});
}

function ioError(what: string, file: string, error: unknown): RestqError {
  if (error instanceof RestqError) return error;
  return new RestqError('E_STATE', `cannot ${what} (${file}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error, permanent: true });
}
