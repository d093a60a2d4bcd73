import type { RedisClient } from '../redis/redis-connection.js';
import type { Connection } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import { sleep as realSleep } from './backoff.js';
import { emissionInterval, type RateLimiter, type RateLimiters } from './rate-limiter.js';

/**
 * GCRA in one Lua script, on Redis's own clock (`TIME`), so workers on machines with skewed
 * clocks still share one budget. The key holds the theoretical arrival time (TAT) in
 * microseconds. `acquire` grants when the TAT has passed and moves it one interval on;
 * otherwise it returns how long to wait. `pause` moves the TAT to now + ms (never back).
 * Numbers are formatted with %.0f: Lua's default formatting would round them to 14 digits.
 */
const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] == 'pause' then
  local pause_until = now + tonumber(ARGV[3])
  if pause_until > tat then
    redis.call('SET', KEYS[1], string.format('%.0f', pause_until), 'PX', math.ceil((pause_until - now + interval) / 1000) + 1000)
  end
  return 0
end
if tat > now then return math.ceil((tat - now) / 1000) end
redis.call('SET', KEYS[1], string.format('%.0f', now + interval), 'PX', math.ceil(interval / 1000) + 1000)
return 0
`;

type GcraRedis = RedisClient & {
  restqGcra(key: string, mode: 'acquire' | 'pause', intervalUs: string, pauseUs: string): Promise<number>;
};

export interface RedisRateLimitersOptions {
  redis: RedisClient;
  /** Key prefix, RESTQ_PREFIX. @default "restq" */
  prefix?: string;
  /** @default backoff.sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

class RedisRateLimiter implements RateLimiter {
  readonly #redis: GcraRedis;
  readonly #key: string;
  readonly #intervalUs: string;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(redis: GcraRedis, key: string, rateLimit: { requests: number; per: number }, sleep: (ms: number, signal?: AbortSignal) => Promise<void>) {
    this.#redis = redis;
    this.#key = key;
    this.#intervalUs = String(Math.round(emissionInterval(rateLimit) * 1000));
    this.#sleep = sleep;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const waitMs = await this.#call('acquire', '0');
      if (waitMs <= 0) return;
      await this.#sleep(waitMs, signal);
    }
  }

  async pause(ms: number): Promise<void> {
    await this.#call('pause', String(Math.round(ms * 1000)));
  }

  async #call(mode: 'acquire' | 'pause', pauseUs: string): Promise<number> {
    try {
      return await this.#redis.restqGcra(this.#key, mode, this.#intervalUs, pauseUs);
    } catch (error) {
      // Not permanent: a queued run is retried once Redis is back.
      throw new RestqError('E_QUEUE', `the shared rate budget (${this.#key}) is unavailable: Redis did not answer (${(error as Error).message}); check REDIS_URL`, { cause: error });
    }
  }
}

/**
 * Distributed mode: one budget per connection in Redis (`<prefix>:ratelimit:<connection>`),
 * shared by every worker and by `restq run` when REDIS_URL is set. The Redis client is the
 * caller's (it may serve other purposes); `close` does not quit it.
 */
export class RedisRateLimiters implements RateLimiters {
  readonly #redis: GcraRedis;
  readonly #prefix: string;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #limiters = new Map<string, RedisRateLimiter>();

  constructor(options: RedisRateLimitersOptions) {
    const redis = options.redis as GcraRedis;
    if (typeof redis.restqGcra !== 'function') redis.defineCommand('restqGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'restq';
    this.#sleep = options.sleep ?? realSleep;
  }

  /** The Redis key holding a connection's budget. */
  key(connectionName: string): string {
    return `${this.#prefix}:ratelimit:${connectionName}`;
  }

  forConnection(connection: Connection): RateLimiter | undefined {
    if (!connection.rateLimit) return undefined;
    let limiter = this.#limiters.get(connection.name);
    if (!limiter) {
      limiter = new RedisRateLimiter(this.#redis, this.key(connection.name), connection.rateLimit, this.#sleep);
      this.#limiters.set(connection.name, limiter);
    }
    return limiter;
  }
}
