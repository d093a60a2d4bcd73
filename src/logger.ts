import { pino, type Logger } from 'pino';
import type { Redactor } from './config/redactor.js';

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
];

export interface LoggerOptions {
  /** @default process.env.LOG_LEVEL ?? "info" */
  level?: string;
  /** Where JSON lines go. @default stderr */
  destination?: NodeJS.WritableStream;
  /** Scrubs known secret values out of messages and error texts. */
  redactor?: Redactor;
  /** Human-friendly output (pino-pretty) instead of JSON lines. @default stderr is a TTY */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const redactor = options.redactor;
  const paths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
  const base = {
    level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid },
    redact: { paths, censor: '[redacted]' },
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
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: !process.env['NO_COLOR'], ignore: 'pid,hostname' } },
    });
  }
  return pino(base, (options.destination ?? pino.destination({ dest: 2, sync: true })) as pino.DestinationStream);
}
