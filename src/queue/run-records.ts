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

  async add(record: RunRecord): Promise<void> {
    const multi = this.#redis.multi().lpush(this.#runsKey(record.job), JSON.stringify(record)).ltrim(this.#runsKey(record.job), 0, this.#limit - 1);
    if (record.status === 'completed') multi.hset(this.#successKey, record.job, record.startedAt);
    await multi.exec();
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
