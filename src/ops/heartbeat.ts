import { hostname } from 'node:os';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/redis-connection.js';
import type { Metrics } from './metrics.js';

/**
 * Key convention shared by workers and the dashboard:
 * `<prefix>:<queue>:workers:<id>` holds a live worker's JSON heartbeat with a TTL, and
 * `<prefix>:<queue>:metrics:<id>` its metrics snapshot, so `/healthz` and `/metrics` of a separate
 * dashboard process see every worker. A worker that dies simply stops refreshing its keys.
 */
export function workersKeyPrefix(prefix: string, queue: string): string {
  return `${prefix}:${queue}:workers:`;
}

export function metricsKeyPrefix(prefix: string, queue: string): string {
  return `${prefix}:${queue}:metrics:`;
}

/** What a worker publishes under `metricsKeyPrefix`. */
export interface MetricsSnapshot {
  worker: string;
  metrics: object[];
}

export interface WorkerBeat {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  beatAt: string;
  concurrency?: number | undefined;
}

export interface HeartbeatOptions {
  redis: RedisClient;
  prefix: string;
  queue: string;
  /** @default "<hostname>:<pid>" */
  id?: string;
  /** @default 5000 */
  intervalMs?: number;
  /** A worker is dead once its key expires. @default 3 × intervalMs */
  ttlMs?: number;
  /** Published with each beat, for the dashboard's /metrics. */
  metrics?: Metrics | undefined;
  concurrency?: number | undefined;
  /** @default () => new Date() */
  clock?: () => Date;
}

/** Writes a worker's heartbeat (and metrics snapshot) every `intervalMs` until stopped. */
export class Heartbeat {
  readonly id: string;
  readonly #options: HeartbeatOptions;
  readonly #startedAt: string;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();

  constructor(options: HeartbeatOptions) {
    this.#options = options;
    this.id = options.id ?? `${hostname()}:${process.pid}`;
    this.#startedAt = (options.clock ?? (() => new Date()))().toISOString();
  }

  get #interval(): number {
    return this.#options.intervalMs ?? 5000;
  }

  /** Beats once now (so a failing Redis shows at start-up), then on a timer. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => {
      // A missed beat is not fatal: the key expires only after several.
      this.#beating = this.beat().catch(() => undefined);
    }, this.#interval);
    this.#timer.unref();
  }

  async beat(): Promise<void> {
    const { redis, prefix, queue, metrics, concurrency } = this.#options;
    const ttl = this.#options.ttlMs ?? this.#interval * 3;
    const beat: WorkerBeat = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      beatAt: (this.#options.clock ?? (() => new Date()))().toISOString(),
      concurrency,
    };
    const multi = redis.multi().set(`${workersKeyPrefix(prefix, queue)}${this.id}`, JSON.stringify(beat), 'PX', ttl);
    if (metrics) multi.set(`${metricsKeyPrefix(prefix, queue)}${this.id}`, JSON.stringify({ worker: this.id, metrics: await metrics.snapshot() } satisfies MetricsSnapshot), 'PX', ttl);
    await multi.exec();
  }

  /** Stops beating and removes the keys: a clean shutdown is not a dead worker. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    const { redis, prefix, queue } = this.#options;
    await redis.del(`${workersKeyPrefix(prefix, queue)}${this.id}`, `${metricsKeyPrefix(prefix, queue)}${this.id}`).catch(() => undefined);
  }
}

/** Every value under a key prefix (SCAN, never KEYS: the Redis may be shared). */
export async function readByPrefix(redis: RedisClient, keyPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  // A cluster's SCAN goes to one node: scan every master (the `{restq}` keys live on one of them).
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  if (keys.length === 0) return [];
  // One slot when the prefix is a hash tag, so MGET is allowed on a cluster too.
  const values = await redis.mget(...keys);
  return values.filter((v): v is string => typeof v === 'string');
}

export async function liveWorkers(redis: RedisClient, prefix: string, queue: string): Promise<WorkerBeat[]> {
  return (await readByPrefix(redis, workersKeyPrefix(prefix, queue))).map((v) => JSON.parse(v) as WorkerBeat);
}
