import { parseDuration } from '../config/duration.js';
import { RestqError } from '../errors/restq-error.js';
import { redisPrefix } from '../redis-client.js';
import { readHistoryLimit } from '../state/open-state-store.js';

/** How finished runs are kept in BullMQ (its KeepJobs): at most `count`, none older than `ageSeconds`. */
export interface Retention {
  count: number;
  ageSeconds: number;
}

/** Everything distributed mode reads from the environment, parsed once. */
export interface QueueSettings {
  redisUrl: string;
  /** BullMQ queue name (`RESTQ_QUEUE`). @default "restq" */
  queue: string;
  /** Redis key prefix (`RESTQ_PREFIX`); use `{restq}` on Redis Cluster so every key shares a slot. @default "restq" */
  prefix: string;
  /** `RESTQ_KEEP_COMPLETED` "count[/age]", e.g. "1000/7d". @default 1000 runs, 7 days */
  keepCompleted: Retention;
  /** `RESTQ_KEEP_FAILED`. @default 5000 runs, 30 days */
  keepFailed: Retention;
  /** First retry delay of a run's exponential backoff (`RESTQ_BACKOFF`). @default 10s */
  backoffMs: number;
  /** How long active runs may finish after SIGTERM (`RESTQ_SHUTDOWN_GRACE`). @default 30s */
  shutdownGraceMs: number;
  /** BullMQ job lock; a worker that dies loses its runs to another after this (`RESTQ_LOCK_DURATION`). @default 30s */
  lockDurationMs: number;
  /** How often workers look for runs of dead workers (`RESTQ_STALLED_INTERVAL`). @default 30s */
  stalledIntervalMs: number;
  /** Run history records kept per job (`RESTQ_HISTORY`). @default 100 */
  history: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function duration(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new RestqError('E_CONFIG', `${name}=${JSON.stringify(raw)} is not a duration: use e.g. 500ms, 30s, 10m`, { permanent: true });
  return ms;
}

function retention(env: Env, name: string, fallback: Retention): Retention {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const [countText, ageText] = raw.split('/', 2);
  const count = Number(countText);
  const ageMs = ageText === undefined ? fallback.ageSeconds * 1000 : parseDuration(ageText);
  if (!Number.isInteger(count) || count < 0 || ageMs === undefined) {
    throw new RestqError('E_CONFIG', `${name}=${JSON.stringify(raw)}: expected "count" or "count/age", e.g. "1000/7d"`, { permanent: true });
  }
  return { count, ageSeconds: Math.max(1, Math.round(ageMs / 1000)) };
}

/** `RESTQ_SHUTDOWN_GRACE`, read by both modes. @default 30s */
export function readShutdownGraceMs(env: Env = process.env): number {
  return duration(env, 'RESTQ_SHUTDOWN_GRACE', 30_000);
}

/** True when REDIS_URL selects distributed mode. */
export function isDistributed(env: Env = process.env): boolean {
  return Boolean(env['REDIS_URL']?.trim());
}

/** Reads distributed-mode settings; REDIS_URL must be set (see isDistributed). */
export function readQueueSettings(env: Env = process.env): QueueSettings {
  const redisUrl = env['REDIS_URL']?.trim();
  if (!redisUrl) throw new RestqError('E_CONFIG', 'REDIS_URL is not set: distributed mode needs Redis, e.g. REDIS_URL=redis://127.0.0.1:6379', { permanent: true });
  if (!/^rediss?:\/\//.test(redisUrl)) throw new RestqError('E_CONFIG', 'REDIS_URL must start with redis:// or rediss://', { permanent: true });
  return {
    redisUrl,
    queue: env['RESTQ_QUEUE']?.trim() || 'restq',
    prefix: redisPrefix(env),
    keepCompleted: retention(env, 'RESTQ_KEEP_COMPLETED', { count: 1000, ageSeconds: 7 * 86_400 }),
    keepFailed: retention(env, 'RESTQ_KEEP_FAILED', { count: 5000, ageSeconds: 30 * 86_400 }),
    backoffMs: duration(env, 'RESTQ_BACKOFF', 10_000),
    shutdownGraceMs: readShutdownGraceMs(env),
    lockDurationMs: duration(env, 'RESTQ_LOCK_DURATION', 30_000),
    stalledIntervalMs: duration(env, 'RESTQ_STALLED_INTERVAL', 30_000),
    history: readHistoryLimit(env),
  };
}

/** REDIS_URL without its password, for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'REDIS_URL (unparsable)';
  }
}
