import type { Config } from '../config/types.js';
import { redisPassword } from '../redis/describe-redis.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { CommandContext } from './context.js';

/** A command's logger: `--log-level`, else LOG_LEVEL, else info; secrets of `config` redacted. */
export function commandLogger(ctx: CommandContext, config?: Config): Logger {
  // The Redis password too: a Redis error object may carry it (a refused AUTH command).
  config?.redactor.add(redisPassword(ctx.settings.redis));
  return createLogger({ level: ctx.logLevel ?? ctx.settings.logLevel ?? 'info', color: ctx.settings.color, redactor: config?.redactor });
}
