import { MAX_TIMER_MS, parseDuration, TOO_LONG_FOR_A_TIMER } from '../config/duration.js';
import { RestqError } from '../errors/restq-error.js';
import { keyPrefix } from '../redis/key-prefix.js';
import type { HostPort, RedisCredentials, RedisTopology } from '../redis/topology.js';

export type { HostPort, RedisCredentials, RedisTopology } from '../redis/topology.js';

/** The process environment as restq receives it (`process.env`, or a test's own record). */
export type Env = Readonly<Record<string, string | undefined>>;

/** How finished runs are kept in BullMQ (its KeepJobs): at most `count`, none older than `ageSeconds`. */
export interface Retention {
  readonly count: number;
  readonly ageSeconds: number;
}

/** Everything distributed mode needs, present when a Redis topology is configured. */
export interface QueueSettings {
  readonly redis: RedisTopology;
  /** BullMQ queue name (`RESTQ_QUEUE`). @default "restq" */
  readonly queue: string;
  /**
   * Prefix of every restq key in Redis (queue, tokens, rate budgets, run records): `RESTQ_PREFIX`,
   * wrapped in a hash tag (`{restq}`) on Redis Cluster so a script's keys share one slot.
   * @default "restq"
   */
  readonly prefix: string;
  /** `RESTQ_KEEP_COMPLETED` "count[/age]", e.g. "1000/7d". @default 1000 runs, 7 days */
  readonly keepCompleted: Retention;
  /** `RESTQ_KEEP_FAILED`. @default 5000 runs, 30 days */
  readonly keepFailed: Retention;
  /** First retry delay of a run's exponential backoff (`RESTQ_BACKOFF`). @default 10s */
  readonly backoffMs: number;
  /** How long active runs may finish after SIGTERM (`RESTQ_SHUTDOWN_GRACE`). @default 30s */
  readonly shutdownGraceMs: number;
  /** BullMQ job lock; a worker that dies loses its runs to another after this (`RESTQ_LOCK_DURATION`). @default 30s */
  readonly lockDurationMs: number;
  /** How often workers look for runs of dead workers (`RESTQ_STALLED_INTERVAL`). @default 30s */
  readonly stalledIntervalMs: number;
  /** Run history records kept per job in Redis (`RESTQ_HISTORY`, the same as Settings.history). @default 100 */
  readonly history: number;
}

/** OpenTelemetry tracing of the queue, on when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export interface OtelSettings {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` */
  readonly endpoint: string;
  /** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. @default `<endpoint>/v1/traces` */
  readonly tracesEndpoint: string;
  /** `OTEL_SERVICE_NAME`. @default "restq" */
  readonly serviceName: string;
}

/** The environment, read once by the command line and passed down; frozen. */
export interface Settings {
  /** The environment as read: only for `${VAR}` in connections.yaml and jobs. */
  readonly env: Env;
  /** `RESTQ_CONFIG_DIR` (`--config` wins over it). */
  readonly configDir: string | undefined;
  /** `LOG_LEVEL` (`--log-level` wins over it). */
  readonly logLevel: string | undefined;
  /** False when `NO_COLOR` is set. */
  readonly color: boolean;
  /** `RESTQ_SECRET_KEY`: 32 bytes that encrypt token state at rest; none when unset or empty. */
  readonly secretKey: Buffer | undefined;
  /** `RESTQ_DASHBOARD_USER` / `RESTQ_DASHBOARD_PASSWORD` as given (checked by the dashboard). */
  readonly dashboardUser: string | undefined;
  readonly dashboardPassword: string | undefined;
  /** Run history records kept per job (`RESTQ_HISTORY`). @default 100 */
  readonly history: number;
  /** How long active runs may finish after SIGTERM, in both modes (`RESTQ_SHUTDOWN_GRACE`). @default 30s */
  readonly shutdownGraceMs: number;
  /**
   * Long-running commands (`worker`, `start`, `dashboard`) reload the config when its files change
   * (`RESTQ_CONFIG_WATCH`: on/off, true/false, yes/no, 1/0); SIGHUP reloads either way. @default true
   */
  readonly configWatch: boolean;
  /** Where Redis is; null: standalone mode. */
  readonly redis: RedisTopology | null;
  /** Distributed mode's settings; null exactly when `redis` is. */
  readonly queue: QueueSettings | null;
  /** Tracing; null when off. */
  readonly otel: OtelSettings | null;
}

/** True when a Redis topology selects distributed mode (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER). */
export function isDistributed(settings: Settings): settings is Settings & { redis: RedisTopology; queue: QueueSettings } {
  return settings.queue !== null;
}

/** Collects every malformed variable so one start-up error lists them all. */
class Problems {
  readonly list: string[] = [];
  add(message: string): undefined {
    this.list.push(message);
    return undefined;
  }
}

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function duration(env: Env, name: string, fallback: number, problems: Problems): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) return problems.add(`${name}=${JSON.stringify(raw)} is not a duration: use e.g. 500ms, 30s, 10m`) ?? fallback;
  // Every RESTQ_* duration is a timer's (grace period, backoff, lock, stalled check).
  if (ms > MAX_TIMER_MS) return problems.add(`${name}=${JSON.stringify(raw)} ${TOO_LONG_FOR_A_TIMER}`) ?? fallback;
  return ms;
}

function positiveInteger(env: Env, name: string, fallback: number, problems: Problems): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1) return n;
  return problems.add(`${name}=${JSON.stringify(raw)} must be a positive integer`) ?? fallback;
}

const SWITCH_ON = new Set(['on', 'true', 'yes', '1']);
const SWITCH_OFF = new Set(['off', 'false', 'no', '0']);

/** An on/off variable: on, off, true, false, yes, no, 1, 0 (any case); anything else is a problem. */
function onOff(env: Env, name: string, fallback: boolean, problems: Problems): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if (SWITCH_ON.has(value)) return true;
  if (SWITCH_OFF.has(value)) return false;
  return problems.add(`${name}=${JSON.stringify(raw)} must be on or off (also accepted: true/false, yes/no, 1/0), e.g. ${name}=off`) ?? fallback;
}

function retention(env: Env, name: string, fallback: Retention, problems: Problems): Retention {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const [countText, ageText] = raw.split('/', 2);
  const count = Number(countText);
  const ageMs = ageText === undefined ? fallback.ageSeconds * 1000 : parseDuration(ageText);
  if (!Number.isInteger(count) || count < 0 || ageMs === undefined) {
    return problems.add(`${name}=${JSON.stringify(raw)}: expected "count" or "count/age", e.g. "1000/7d"`) ?? fallback;
  }
  return { count, ageSeconds: Math.max(1, Math.round(ageMs / 1000)) };
}

/**
 * RESTQ_SECRET_KEY: 32 random bytes as 64 hex characters or base64 (`openssl rand -hex 32`).
 * Any other value is a start-up error (the message gives its length, never the value).
 */
export function parseSecretKey(value: string | undefined): Buffer | undefined {
  const problems = new Problems();
  const key = secretKey(value, problems);
  if (problems.list.length > 0) throw new RestqError('E_CONFIG', problems.list[0]!, { permanent: true });
  return key;
}

function secretKey(value: string | undefined, problems: Problems): Buffer | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (key?.length === 32) return key;
  return problems.add(
    `RESTQ_SECRET_KEY must be 32 random bytes as 64 hex characters or base64 (got ${trimmed.length} characters); create one with: openssl rand -hex 32`,
  );
}

/** "host:port,host:port" (IPv6 as `[::1]:port`); a missing port is `defaultPort`. */
function hostPorts(env: Env, name: string, defaultPort: number, problems: Problems): HostPort[] | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  const list: HostPort[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+))(?::(\d+))?$/.exec(item);
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
      return problems.add(`${name}: ${JSON.stringify(item)} is not host:port; expected e.g. ${name}=10.0.0.1:${defaultPort},10.0.0.2:${defaultPort}`);
    }
    list.push({ host: match[1] ?? match[2]!, port });
  }
  return list;
}

function parseRedisUrl(raw: string, problems: Problems): URL | undefined {
  if (!/^rediss?:\/\//.test(raw)) return problems.add('REDIS_URL must start with redis:// or rediss://, e.g. REDIS_URL=redis://127.0.0.1:6379');
  try {
    return new URL(raw);
  } catch {
    return problems.add('REDIS_URL is not a valid URL: expected redis://[user:password@]host:port[/db]');
  }
}

function credentials(url: URL | undefined, problems: Problems): RedisCredentials {
  if (!url) return { tls: false };
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) problems.add(`REDIS_URL: database "${dbText}" is not a number`);
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:',
    db: db !== undefined && Number.isInteger(db) ? db : undefined,
  };
}

function redisTopology(env: Env, problems: Problems): RedisTopology | null {
  const rawUrl = text(env, 'REDIS_URL');
  const url = rawUrl === undefined ? undefined : parseRedisUrl(rawUrl, problems);
  const sentinels = hostPorts(env, 'REDIS_SENTINELS', 26379, problems);
  const master = text(env, 'REDIS_SENTINEL_MASTER');
  const nodes = hostPorts(env, 'REDIS_CLUSTER', 6379, problems);
  if (text(env, 'REDIS_SENTINELS') !== undefined && text(env, 'REDIS_CLUSTER') !== undefined) {
    return problems.add('REDIS_SENTINELS and REDIS_CLUSTER are both set: choose one Redis topology') ?? null;
  }
  if (master !== undefined && text(env, 'REDIS_SENTINELS') === undefined) {
    return problems.add('REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS: list the sentinels, e.g. REDIS_SENTINELS=10.0.0.1:26379,10.0.0.2:26379') ?? null;
  }
  if (sentinels) {
    if (master === undefined) return problems.add('REDIS_SENTINELS needs REDIS_SENTINEL_MASTER, the name of the monitored master (e.g. mymaster)') ?? null;
    return { kind: 'sentinel', sentinels, master, ...credentials(url, problems) };
  }
  if (nodes) return { kind: 'cluster', nodes, ...credentials(url, problems) };
  if (rawUrl !== undefined && url) return { kind: 'single', url: rawUrl };
  return null;
}

function otel(env: Env): OtelSettings | null {
  const endpoint = text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint === undefined) return null;
  return {
    endpoint,
    tracesEndpoint: text(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? `${endpoint.replace(/\/+$/, '')}/v1/traces`,
    serviceName: text(env, 'OTEL_SERVICE_NAME') ?? 'restq',
  };
}

/**
 * Reads every setting restq takes from the environment, once. Pure: the same `env` gives the same
 * settings. Throws one E_CONFIG error naming every malformed variable and the expected form.
 */
export function readSettings(env: Env = process.env): Settings {
  const problems = new Problems();
  const redis = redisTopology(env, problems);
  const shutdownGraceMs = duration(env, 'RESTQ_SHUTDOWN_GRACE', 30_000, problems);
  const prefix = text(env, 'RESTQ_PREFIX') ?? 'restq';
  const history = positiveInteger(env, 'RESTQ_HISTORY', 100, problems);
  const queue: QueueSettings | null = redis && {
    redis,
    queue: text(env, 'RESTQ_QUEUE') ?? 'restq',
    prefix: keyPrefix(prefix, redis.kind),
    keepCompleted: retention(env, 'RESTQ_KEEP_COMPLETED', { count: 1000, ageSeconds: 7 * 86_400 }, problems),
    keepFailed: retention(env, 'RESTQ_KEEP_FAILED', { count: 5000, ageSeconds: 30 * 86_400 }, problems),
    backoffMs: duration(env, 'RESTQ_BACKOFF', 10_000, problems),
    shutdownGraceMs,
    lockDurationMs: duration(env, 'RESTQ_LOCK_DURATION', 30_000, problems),
    stalledIntervalMs: duration(env, 'RESTQ_STALLED_INTERVAL', 30_000, problems),
    history,
  };
  const settings: Settings = {
    env: Object.freeze({ ...env }),
    configDir: text(env, 'RESTQ_CONFIG_DIR'),
    logLevel: text(env, 'LOG_LEVEL'),
    color: !env['NO_COLOR'],
    secretKey: secretKey(env['RESTQ_SECRET_KEY'], problems),
    dashboardUser: env['RESTQ_DASHBOARD_USER'] || undefined,
    dashboardPassword: env['RESTQ_DASHBOARD_PASSWORD'] || undefined,
    history,
    shutdownGraceMs,
    configWatch: onOff(env, 'RESTQ_CONFIG_WATCH', true, problems),
    redis,
    queue,
    otel: otel(env),
  };
  if (problems.list.length > 0) throw new RestqError('E_CONFIG', problems.list.join('\n'), { permanent: true });
  if (queue) Object.freeze(queue);
  return Object.freeze(settings);
}

/** The queue settings of distributed mode, or an E_CONFIG error saying how to turn it on. */
export function queueSettings(settings: Settings): QueueSettings {
  if (settings.queue) return settings.queue;
  throw new RestqError('E_CONFIG', 'REDIS_URL is not set: distributed mode needs Redis, e.g. REDIS_URL=redis://127.0.0.1:6379', { permanent: true });
}
