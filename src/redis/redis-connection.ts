import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../logger.js';
import type { RedisTopology } from '../runtime/settings.js';
import { describeRedis, redisVariable as variable } from './describe-redis.js';

/**
 * What a connection is for:
 * - `command`: fails a command fast (2 tries) when Redis is down instead of hanging (run, token,
 *   producers, rate budgets of `restq run`).
 * - `blocking`: waits through a Redis restart (`maxRetriesPerRequest: null`, which BullMQ requires
 *   for workers): long-running workers, their token store, run records, heartbeats.
 * - `probe`: one try, 1 s to connect: health checks that must answer quickly either way.
 */
export type RedisRole = 'command' | 'blocking' | 'probe';

export interface RedisClientOptions {
  /** @default "command" */
  role?: RedisRole;
  /** Shown in `CLIENT LIST`, to tell restq's connections apart. @default "restq" */
  name?: string;
  /** Connection errors are logged here (once per distinct message) instead of on the console. */
  logger?: Logger | undefined;
}

/** @default 5000 */
const CONNECT_TIMEOUT_MS = 5_000;

/** ioredis options of a role; the URL (single) or node list comes separately. */
function roleOptions(role: RedisRole, name: string): RedisOptions {
  switch (role) {
    case 'blocking':
      // Reconnect with a capped backoff; commands wait for Redis to come back.
      return { connectionName: name, maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: (times) => Math.min(200 * times, 2_000) };
    case 'probe':
      return { connectionName: name, maxRetriesPerRequest: 1, connectTimeout: 1_000 };
    case 'command':
      return { connectionName: name, maxRetriesPerRequest: 2, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: (times) => Math.min(200 * times, 2_000) };
  }
}

/** Sentinel and Cluster are parsed and typed (runtime/settings.ts); connecting to them is not built yet. */
function single(topology: RedisTopology): string {
  if (topology.kind === 'single') return topology.url;
  throw new RestqError(
    'E_CONFIG',
    `${variable(topology)} is set, but this restq version connects to one Redis server only: set REDIS_URL=redis://host:port instead`,
    { permanent: true },
  );
}

/**
 * One ioredis client: the single place where restq opens a Redis connection (BullMQ's own
 * connections get their options from {@link bullConnection}).
 */
export function createRedisClient(topology: RedisTopology, options: RedisClientOptions = {}): Redis {
  const client = new Redis(single(topology), roleOptions(options.role ?? 'command', options.name ?? 'restq'));
  // Without a listener ioredis prints every reconnect failure; commands still fail on their own.
  let last = '';
  client.on('error', (error: Error) => {
    if (error.message === last) return;
    last = error.message;
    options.logger?.warn({ err: error }, `Redis connection error: ${error.message}`);
  });
  return client;
}

/**
 * Connection options for the connections BullMQ opens itself (Worker, QueueEvents): commands wait
 * through a Redis restart (`maxRetriesPerRequest: null`, as BullMQ requires), reconnecting with a
 * capped backoff.
 */
export function bullConnection(topology: RedisTopology, name = 'restq-worker'): ConnectionOptions {
  return {
    url: single(topology),
    connectionName: name,
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(250 * times, 5_000),
  } satisfies RedisOptions & { url: string };
}

function unreachable(topology: RedisTopology, error: unknown): RestqError {
  const reason = error instanceof Error ? error.message : String(error);
  const name = variable(topology);
  return new RestqError(
    'E_QUEUE',
    `cannot reach Redis at ${describeRedis(topology)} (${name}): ${reason}. Start Redis or fix ${name}; without ${name}, \`restq start\` runs standalone in one process`,
    { cause: error, permanent: true },
  );
}

/**
 * A `command` client that has answered PING: for producers (enqueue, schedule, status) and
 * start-up checks. Fails within seconds with a clear message when Redis is down, instead of
 * waiting for it to come back.
 */
export async function connectRedis(topology: RedisTopology, options: { name?: string; timeoutMs?: number } = {}): Promise<Redis> {
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const redis = createRedisClient(topology, { name: options.name ?? 'restq-producer' });
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    throw unreachable(topology, lastError ?? error);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

/** Checks that Redis answers (a clear error otherwise) and closes the check's connection. */
export async function checkRedisReachable(topology: RedisTopology): Promise<void> {
  (await connectRedis(topology, { name: 'restq-check' })).disconnect();
}
