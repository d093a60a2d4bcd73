import type { Redis } from 'ioredis';

export type RunStatus = 'completed' | 'failed' | 'retrying';

/** What `restq status` shows about one attempt of a run. Never holds a secret. */
export interface RunRecord {
  runId: string;
  job: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  rows: number;
  /** 1-based attempt of this run. */
  attempt: number;
  /** The error message (already redacted) when it did not complete. */
  error: string | null;
  /** The error's stable code (E_HTTP, E_CONFIG…) when it did not complete. */
  errorCode?: string | null;
}

/** KEYS: the job's records, the last-success hash; ARGV: record, limit, job, startedAt ('' = not a success). */
const ADD_RECORD = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
return 1
`;

interface ScriptedRedis extends Redis {
  restqAddRunRecord(runsKey: string, successKey: string, record: string, limit: string, job: string, startedAt: string): Promise<number>;
}

/**
 * Run history per job in Redis, bounded to `limit` records per job, plus the time of each
 * job's last successful run (for `{{lastSuccessAt}}`). Keys live under the queue's prefix so a
 * Redis Cluster hash tag (`{restq}`) covers them too.
 */
export class RunRecords {
  readonly #redis: Redis;
  readonly #base: string;
  readonly #limit: number;

  constructor(redis: Redis, prefix: string, queue: string, limit = 20) {
    this.#redis = redis;
    this.#base = `${prefix}:${queue}:restq`;
    this.#limit = limit;
  }

  #runsKey(job: string): string {
    return `${this.#base}:runs:${job}`;
  }

  get #successKey(): string {
    return `${this.#base}:last-success`;
  }

  /** One EVALSHA per run (a MULTI of LPUSH, LTRIM, HSET cost the worker 3× the CPU: bench/queue.ts). */
  async add(record: RunRecord): Promise<void> {
    const redis = this.#redis as ScriptedRedis;
    if (typeof redis.restqAddRunRecord !== 'function') this.#redis.defineCommand('restqAddRunRecord', { numberOfKeys: 2, lua: ADD_RECORD });
    await (this.#redis as ScriptedRedis).restqAddRunRecord(
      this.#runsKey(record.job),
      this.#successKey,
      JSON.stringify(record),
      String(this.#limit),
      record.job,
      record.status === 'completed' ? record.startedAt : '',
    );
  }

  /** Newest first. */
  async list(job: string, count = this.#limit): Promise<RunRecord[]> {
    const raw = await this.#redis.lrange(this.#runsKey(job), 0, count - 1);
    return raw.map((text) => JSON.parse(text) as RunRecord);
  }

  /** The newest record of one run, among the job's kept records. */
  async find(job: string, runId: string): Promise<RunRecord | undefined> {
    return (await this.list(job)).find((record) => record.runId === runId);
  }

  async last(job: string): Promise<RunRecord | undefined> {
    return (await this.list(job, 1))[0];
  }

  /** ISO start time of the job's last successful run, "" before the first. */
  async lastSuccessAt(job: string): Promise<string> {
    return (await this.#redis.hget(this.#successKey, job)) ?? '';
  }
}
