import type { RedisClient } from '../redis/redis-connection.js';
import { RestqError } from '../errors/restq-error.js';
import {
  cursorState,
  DEFAULT_HISTORY_LIMIT,
  LIVE_TTL_MS,
  recordVariants,
  withCursorAfter,
  type CursorOrder,
  type CursorState,
  type FinishOutcome,
  type FinishRunOptions,
  type HistoryRecord,
  type LiveRun,
  type PauseState,
  type StateStore,
} from './state-store.js';

export interface RedisStateStoreOptions {
  /** A client owned by the caller (the store never closes it). */
  redis: RedisClient;
  /** RESTQ_PREFIX. Keys: `<prefix>:<queue>:state:…`, so a Cluster hash tag in the prefix covers them. */
  prefix: string;
  /** RESTQ_QUEUE: two queues under one prefix keep separate state. */
  queue: string;
  /** RESTQ_HISTORY. @default 100 */
  historyLimit?: number;
  /**
   * Records of successful runs that move no cursor are written up to this long after the run ends, many in
   * one script call (a worker's runs then cost no Redis round trip of their own). Flushed on
   * `close()`, before any record that moves a cursor (history order) and before this store reads
   * history, lastSuccessAt or live progress. @default 0: each record is written before finishRun resolves
   */
  deferMs?: number;
  /** Told when a deferred batch could not be written (it is kept and tried again). */
  onDeferredError?: (error: RestqError, records: number) => void;
}

/** Deferred records kept while Redis refuses them; beyond that the oldest are dropped (and said). */
const MAX_DEFERRED = 10_000;
/** A batch that failed is tried again this long after. */
const DEFERRED_RETRY_MS = 1_000;

/**
 * Ends a run atomically: cursor advance (fenced and monotonic), history append + trim, and
 * lastSuccessAt. KEYS: cursor hash, history list, last-success hash, live hash.
 * ARGV: job, limit, moved record, unmoved record, lastSuccessAt ('' = leave), has advance,
 * value, sort key, order, fence, runId, updatedAt, live TTL ms.
 */
const FINISH_RUN = `
local moved = 0
local reason = ''
if ARGV[6] == '1' then
  local cur = redis.call('HMGET', KEYS[1], 'sort', 'order', 'fence')
  local fence = tonumber(ARGV[10])
  if cur[3] and tonumber(cur[3]) > fence then
    reason = 'stale'
  else
    if cur[1] and cur[2] == ARGV[9] then
      local greater
      if ARGV[9] == 'string' then greater = ARGV[8] > cur[1] else greater = tonumber(ARGV[8]) > tonumber(cur[1]) end
      if not greater then reason = 'not-greater' end
    end
    if reason == '' then
      redis.call('HSET', KEYS[1], 'cursor', ARGV[7], 'sort', ARGV[8], 'order', ARGV[9], 'fence', ARGV[10], 'runId', ARGV[11], 'updatedAt', ARGV[12])
      moved = 1
    else
      redis.call('HSET', KEYS[1], 'fence', ARGV[10])
    end
  end
end
local record = ARGV[4]
if moved == 1 then record = ARGV[3] end
redis.call('LPUSH', KEYS[2], record)
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
if ARGV[5] ~= '' then
  local prev = redis.call('HGET', KEYS[3], ARGV[1])
  if (not prev) or prev < ARGV[5] then redis.call('HSET', KEYS[3], ARGV[1], ARGV[5]) end
end
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HSET', KEYS[4], 'state', 'finished', 'updatedAt', ARGV[12])
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[13]))
end
return {moved, reason}
`;

/**
 * Ends many runs that move no cursor (the deferred batch of a worker), each as FINISH_RUN does.
 * KEYS: last-success hash, the batch's history lists (one per job), then each run's live hash.
 * ARGV: limit, live TTL ms, the batch as JSON ({"j": [[job, lastSuccessAt or ''], ...] in the
 * order of the history keys, "r": [[job's position in "j", updatedAt], ...] in the order of the
 * live keys}), then each run's record. A few arguments per run, not six: ioredis spends about a
 * microsecond on each argument it sends.
 */
const FINISH_RUNS = `
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local batch = cjson.decode(ARGV[3])
local jobs = #batch.j
for i, run in ipairs(batch.r) do
  redis.call('LPUSH', KEYS[1 + run[1]], ARGV[3 + i])
  local live = KEYS[1 + jobs + i]
  if redis.call('EXISTS', live) == 1 then
    redis.call('HSET', live, 'state', 'finished', 'updatedAt', run[2])
    redis.call('PEXPIRE', live, ttl)
  end
end
for j, job in ipairs(batch.j) do
  redis.call('LTRIM', KEYS[1 + j], 0, limit - 1)
  if job[2] ~= '' then
    local prev = redis.call('HGET', KEYS[1], job[1])
    if (not prev) or prev < job[2] then redis.call('HSET', KEYS[1], job[1], job[2]) end
  end
end
return #batch.r
`;

/** Manual change: KEYS cursor hash; ARGV cursor ('' = reset), sort, order, fence, updatedAt. */
const SET_CURSOR = `
local fence = tonumber(ARGV[4])
local cur = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if cur > fence then fence = cur end
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[1], 'cursor', 'sort', 'order', 'runId')
  redis.call('HSET', KEYS[1], 'fence', fence, 'updatedAt', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'cursor', ARGV[1], 'sort', ARGV[2], 'order', ARGV[3], 'fence', fence, 'runId', 'manual', 'updatedAt', ARGV[5])
end
return 1
`;

type FinishRunCommand = (
  cursorKey: string,
  historyKey: string,
  successKey: string,
  liveKey: string,
  ...argv: string[]
) => Promise<[number, string]>;

type SetCursorCommand = (cursorKey: string, ...argv: string[]) => Promise<number>;

/** Number of keys first: the batch's key count varies. */
type FinishRunsCommand = (numberOfKeys: number, ...keysAndArgv: string[]) => Promise<number>;

type ScriptedRedis = RedisClient & {
  restqFinishRun: FinishRunCommand;
  restqSetCursor: SetCursorCommand;
  restqFinishRuns: FinishRunsCommand;
};

function scripted(redis: RedisClient): ScriptedRedis {
  const r = redis as ScriptedRedis;
  // defineCommand is idempotent per name; EVALSHA with a fallback to EVAL after a Redis restart.
  if (typeof r.restqFinishRun !== 'function') redis.defineCommand('restqFinishRun', { numberOfKeys: 4, lua: FINISH_RUN });
  if (typeof r.restqSetCursor !== 'function') redis.defineCommand('restqSetCursor', { numberOfKeys: 1, lua: SET_CURSOR });
  if (typeof r.restqFinishRuns !== 'function') redis.defineCommand('restqFinishRuns', { lua: FINISH_RUNS });
  return r;
}

/** A run's record waiting to be written with the next batch. */
interface DeferredRecord {
  job: string;
  runId: string;
  /** The record as JSON, cursorAfter filled in. */
  record: string;
  lastSuccessAt: string;
  updatedAt: string;
}

function wrap(what: string, error: unknown): RestqError {
  return new RestqError('E_STATE', `cannot ${what} in Redis: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/**
 * Distributed state store. Bounded memory: per job one cursor hash and one history list
 * trimmed to `historyLimit` in the same script that appends; shared hashes for lastSuccessAt
 * and pause flags; a live-progress hash per active run that expires by itself.
 */
export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly historyLimit: number;
  readonly #redis: ScriptedRedis;
  readonly #base: string;
  readonly #deferMs: number;
  readonly #onDeferredError: RedisStateStoreOptions['onDeferredError'];
  /** Records waiting for the next batch, oldest first. */
  #deferred: DeferredRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(options: RedisStateStoreOptions) {
    this.#redis = scripted(options.redis);
    this.#base = `${options.prefix}:${options.queue}:state`;
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    this.#deferMs = options.deferMs ?? 0;
    this.#onDeferredError = options.onDeferredError;
  }

  #cursorKey(job: string): string {
    return `${this.#base}:cursor:${job}`;
  }

  #historyKey(job: string): string {
    return `${this.#base}:history:${job}`;
  }

  #liveKey(runId: string): string {
    return `${this.#base}:live:${runId}`;
  }

  get #successKey(): string {
    return `${this.#base}:last-success`;
  }

  get #pausedKey(): string {
    return `${this.#base}:paused`;
  }

  async getCursor(job: string): Promise<CursorState> {
    let fields: Record<string, string>;
    try {
      fields = await this.#redis.hgetall(this.#cursorKey(job));
    } catch (error) {
      throw wrap(`read the cursor of job "${job}"`, error);
    }
    return cursorState(job, fields);
  }

  async setCursor(job: string, value: { value: string; sortKey: string; order: CursorOrder }, now = new Date()): Promise<CursorState> {
    try {
      await this.#redis.restqSetCursor(this.#cursorKey(job), value.value, value.sortKey, value.order, String(now.getTime()), now.toISOString());
    } catch (error) {
      throw wrap(`set the cursor of job "${job}"`, error);
    }
    return this.getCursor(job);
  }

  async resetCursor(job: string, now = new Date()): Promise<CursorState> {
    try {
      await this.#redis.restqSetCursor(this.#cursorKey(job), '', '', '', String(now.getTime()), now.toISOString());
    } catch (error) {
      throw wrap(`reset the cursor of job "${job}"`, error);
    }
    return this.getCursor(job);
  }

  async finishRun(record: Omit<HistoryRecord, 'cursorAfter'>, options: FinishRunOptions = {}): Promise<FinishOutcome> {
    const { advance } = options;
    // Failed and skipped runs are written at once: `enqueue --wait` reads their error code from it.
    if (!advance && this.#deferMs > 0 && record.status === 'succeeded') {
      const stored = withCursorAfter(record, record.cursorBefore);
      this.#defer({ job: record.job, runId: record.runId, record: JSON.stringify(stored), lastSuccessAt: options.lastSuccessAt ?? '', updatedAt: record.finishedAt });
      return { moved: false, reason: null, record: stored };
    }
    const variants = recordVariants(record, advance);
    // A cursor move is written at once; deferred records of earlier runs go first (history order).
    await this.flush();
    let result: [number, string];
    try {
      result = await this.#redis.restqFinishRun(
        this.#cursorKey(record.job),
        this.#historyKey(record.job),
        this.#successKey,
        this.#liveKey(record.runId),
        record.job,
        String(this.historyLimit),
        JSON.stringify(variants.moved),
        JSON.stringify(variants.unmoved),
        options.lastSuccessAt ?? '',
        advance ? '1' : '0',
        advance?.value ?? '',
        advance?.sortKey ?? '',
        advance?.order ?? '',
        String(advance?.fence ?? 0),
        record.runId,
        record.finishedAt,
        String(LIVE_TTL_MS),
      );
    } catch (error) {
      throw wrap(`record run ${record.runId} of job "${record.job}"`, error);
    }
    const moved = result[0] === 1;
    return { moved, reason: moved || !advance ? null : (result[1] as 'stale' | 'not-greater'), record: moved ? variants.moved : variants.unmoved };
  }

  #defer(entry: DeferredRecord): void {
    this.#deferred.push(entry);
    if (this.#deferred.length > MAX_DEFERRED) {
      const dropped = this.#deferred.splice(0, this.#deferred.length - MAX_DEFERRED);
      this.#onDeferredError?.(new RestqError('E_STATE', `Redis refused run records for too long: dropped the ${dropped.length} oldest (runs ${dropped[0]!.runId} …)`), dropped.length);
    }
    this.#flushIn(this.#deferMs);
  }

  /** Arms the one flush timer (a failed flush reports through onDeferredError). */
  #flushIn(ms: number): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush().catch(() => undefined);
    }, ms);
  }

  /**
   * Writes the deferred records now, in one script call per batch. A batch Redis refuses is kept
   * (tried again in a second) and reported through onDeferredError; flush then rejects.
   */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing.catch(() => undefined);
    if (this.#deferred.length === 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#deferred;
    this.#deferred = [];
    // Per job: its history list and the latest lastSuccessAt of the batch (ISO strings sort by time).
    const jobs = new Map<string, { position: number; lastSuccessAt: string }>();
    const runs: [number, string][] = [];
    const liveKeys: string[] = [];
    const records: string[] = [];
    for (const entry of batch) {
      let job = jobs.get(entry.job);
      if (!job) jobs.set(entry.job, (job = { position: jobs.size + 1, lastSuccessAt: '' }));
      if (entry.lastSuccessAt > job.lastSuccessAt) job.lastSuccessAt = entry.lastSuccessAt;
      runs.push([job.position, entry.updatedAt]);
      liveKeys.push(this.#liveKey(entry.runId));
      records.push(entry.record);
    }
    const keys = [this.#successKey, ...[...jobs.keys()].map((job) => this.#historyKey(job)), ...liveKeys];
    const meta = JSON.stringify({ j: [...jobs].map(([job, { lastSuccessAt }]) => [job, lastSuccessAt]), r: runs });
    const argv = [String(this.historyLimit), String(LIVE_TTL_MS), meta, ...records];
    // Set before the write can settle: a write that failed at once must not leave it behind.
    const flushing = this.#write(batch, keys, argv).finally(() => {
      if (this.#flushing === flushing) this.#flushing = undefined;
    });
    this.#flushing = flushing;
    await flushing;
  }

  async #write(batch: DeferredRecord[], keys: string[], argv: string[]): Promise<void> {
    try {
      await this.#redis.restqFinishRuns(keys.length, ...keys, ...argv);
    } catch (error) {
      this.#deferred = [...batch, ...this.#deferred];
      this.#flushIn(DEFERRED_RETRY_MS);
      const wrapped = wrap(`record ${batch.length} run${batch.length === 1 ? '' : 's'} in the job history`, error);
      this.#onDeferredError?.(wrapped, batch.length);
      throw wrapped;
    }
  }

  async history(job: string, limit = this.historyLimit): Promise<HistoryRecord[]> {
    if (limit <= 0) return [];
    await this.flush().catch(() => undefined);
    try {
      const raw = await this.#redis.lrange(this.#historyKey(job), 0, limit - 1);
      return raw.map((text) => JSON.parse(text) as HistoryRecord);
    } catch (error) {
      throw wrap(`read the history of job "${job}"`, error);
    }
  }

  async lastRun(job: string): Promise<HistoryRecord | undefined> {
    return (await this.history(job, 1))[0];
  }

  async lastSuccessAt(job: string): Promise<string> {
    await this.flush().catch(() => undefined);
    try {
      return (await this.#redis.hget(this.#successKey, job)) ?? '';
    } catch (error) {
      throw wrap(`read lastSuccessAt of job "${job}"`, error);
    }
  }

  async getPause(job: string): Promise<PauseState> {
    try {
      const since = await this.#redis.hget(this.#pausedKey, job);
      return { paused: since !== null, since };
    } catch (error) {
      throw wrap(`read the pause flag of job "${job}"`, error);
    }
  }

  async setPaused(job: string, paused: boolean, now = new Date()): Promise<PauseState> {
    try {
      if (paused) await this.#redis.hsetnx(this.#pausedKey, job, now.toISOString());
      else await this.#redis.hdel(this.#pausedKey, job);
    } catch (error) {
      throw wrap(`${paused ? 'pause' : 'resume'} job "${job}"`, error);
    }
    return this.getPause(job);
  }

  async setLive(run: LiveRun): Promise<void> {
    const key = this.#liveKey(run.runId);
    try {
      await this.#redis
        .multi()
        .hset(key, {
          runId: run.runId,
          job: run.job,
          trigger: run.trigger,
          state: run.state,
          startedAt: run.startedAt,
          updatedAt: run.updatedAt,
          pages: run.pages,
          rows: run.rows,
          bytes: run.bytes,
          window: JSON.stringify(run.window),
        })
        .pexpire(key, LIVE_TTL_MS)
        .exec();
    } catch (error) {
      throw wrap(`write the progress of run ${run.runId}`, error);
    }
  }

  async getLive(runId: string): Promise<LiveRun | undefined> {
    await this.flush().catch(() => undefined);
    let fields: Record<string, string>;
    try {
      fields = await this.#redis.hgetall(this.#liveKey(runId));
    } catch (error) {
      throw wrap(`read the progress of run ${runId}`, error);
    }
    if (!fields['runId']) return undefined;
    return {
      runId: fields['runId'],
      job: fields['job'] ?? '',
      trigger: (fields['trigger'] ?? 'enqueue') as LiveRun['trigger'],
      state: fields['state'] === 'finished' ? 'finished' : 'active',
      startedAt: fields['startedAt'] ?? '',
      updatedAt: fields['updatedAt'] ?? '',
      pages: Number(fields['pages'] ?? 0),
      rows: Number(fields['rows'] ?? 0),
      bytes: Number(fields['bytes'] ?? 0),
      window: fields['window'] ? (JSON.parse(fields['window']) as LiveRun['window']) : null,
    };
  }

  /** Writes what is deferred (the Redis client belongs to the caller and stays open). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      // Nothing is tried again after close: a refused batch was reported, and flush rejected.
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
