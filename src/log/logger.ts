import { pino, type Logger } from 'pino';
import type { Redactor } from '../config/redactor.js';
import { runFields } from './run-context.js';

export type { Logger } from 'pino';

/** Field names whose values are secrets wherever they appear in a log object. */
export const SECRET_FIELDS = [
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'apiKey',
  'apiSecret',
  'client_secret',
  'password',
  'secret',
  'token',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'Proxy-Authorization',
  'client_id',
  'clientId',
  'clientSecret',
  'webhookSecret',
  'cookie',
  'set-cookie',
  'x-api-key',
  'X-API-Key',
];

/** Replaces known secret values in every string of a log object (a URL or excerpt in any field). */
function redactValues(value: unknown, redactor: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redactor.redact(value);
  if (depth > 6 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValues(v, redactor, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = redactValues(child, redactor, depth + 1);
  return out;
}

export interface LoggerOptions {
  /** From `--log-level` or LOG_LEVEL (settings). @default "info" */
  level?: string | undefined;
  /** Where JSON lines go. @default stderr */
  destination?: NodeJS.WritableStream;
  /** Scrubs known secret values out of messages and error texts. */
  redactor?: Redactor;
  /** Human-friendly output (pino-pretty) instead of JSON lines. @default stderr is a TTY */
  pretty?: boolean;
  /** Colors in pretty output (false when NO_COLOR is set: settings.color). @default true */
  color?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const redactor = options.redactor;
  const paths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
  const base = {
    level: options.level ?? 'info',
    base: { pid: process.pid },
    redact: { paths, censor: '[redacted]' },
    // Lines logged inside a run by shared code (retries, token refresh) get its job and runId.
    mixin: (_object: object, _level: number, logger: Logger) => {
      const fields = runFields();
      if (!fields?.runId || 'runId' in logger.bindings()) return {};
      return fields;
    },
    formatters: {
      log: (object: Record<string, unknown>) => (redactor && redactor.size > 0 ? (redactValues(object, redactor) as Record<string, unknown>) : object),
    },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          redactor ? args.map((a) => (typeof a === 'string' ? redactor.redact(a) : a)) : args,
        );
      },
    },
    serializers: {
      err: (error: unknown) => {
        const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
        if (!redactor) return serialized;
        return JSON.parse(redactor.redact(JSON.stringify(serialized))) as unknown;
      },
    },
  };
  const pretty = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: options.color ?? true, ignore: 'pid,hostname' } },
    });
  }
  return pino(base, (options.destination ?? pino.destination({ dest: 2, sync: true })) as pino.DestinationStream);
}
