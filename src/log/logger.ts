import { pino, type Logger } from 'pino';
import type { Redactor } from '../config/redactor.js';
import { formatPretty } from './pretty-format.js';
import { stderrStatusTerminal, type StatusTerminal } from './terminal.js';

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

/**
 * One key per field in every line: a field the logger is already bound to (a child logger's
 * `connection`) is left out of the call's object; pino would otherwise write the key twice.
 */
function dropBound(logger: Logger, object: unknown): unknown {
  if (object === null || typeof object !== 'object' || object instanceof Error || Array.isArray(object)) return object;
  const bound = logger.bindings();
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    if (!(key in bound)) continue;
    copy ??= { ...(object as Record<string, unknown>) };
    delete copy[key];
  }
  return copy ?? object;
}

export interface LoggerOptions {
  /** From `--log-level` or LOG_LEVEL (settings). @default "info" */
  level?: string | undefined;
  /** Where JSON lines go. @default stderr */
  destination?: NodeJS.WritableStream;
  /** Scrubs known secret values out of messages and error texts. */
  redactor?: Redactor;
  /** Human-friendly lines instead of JSON lines. @default stderr is a TTY */
  pretty?: boolean;
  /** Colors in pretty output (false when NO_COLOR is set: settings.color). @default true */
  color?: boolean;
}

/**
 * A synchronous pino destination that hands each line to the stderr terminal, formatted for
 * humans or as is, so a live progress line is erased before a log line and drawn again after.
 */
function terminalDestination(terminal: StatusTerminal, format: ((entry: Record<string, unknown>) => string) | undefined): pino.DestinationStream {
  return {
    write(line: string) {
      if (!format) return terminal.writeLine(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return terminal.writeLine(line);
      }
      terminal.writeLine(format(entry));
    },
  };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const redactor = options.redactor;
  const paths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
  const base = {
    level: options.level ?? 'info',
    base: { pid: process.pid },
    redact: { paths, censor: '[redacted]' },
    formatters: {
      log: (object: Record<string, unknown>) => (redactor && redactor.size > 0 ? (redactValues(object, redactor) as Record<string, unknown>) : object),
    },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        const first = dropBound(this, args[0]);
        const rest = first === args[0] ? args : [first, ...args.slice(1)];
        method.apply(this, redactor ? rest.map((a) => (typeof a === 'string' ? redactor.redact(a) : a)) : rest);
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
  const prettyOptions = { colour: options.color ?? true, stacks: base.level === 'debug' || base.level === 'trace' };
  const destination = options.destination;
  if (destination) {
    if (options.pretty !== true) return pino(base, destination as pino.DestinationStream);
    return pino(base, { write: (line: string) => void destination.write(`${formatPretty(JSON.parse(line) as Record<string, unknown>, prettyOptions)}\n`) });
  }
  const terminal = stderrStatusTerminal();
  if (options.pretty ?? terminal.isTTY) return pino(base, terminalDestination(terminal, (entry) => formatPretty(entry, prettyOptions)));
  if (terminal.isTTY) return pino(base, terminalDestination(terminal, undefined));
  return pino(base, pino.destination({ dest: 2, sync: true }));
}
