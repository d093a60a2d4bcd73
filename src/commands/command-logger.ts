import type { Config } from '../config/types.js';
import { createLogger, type Logger } from '../logger.js';
import type { CommandContext } from './context.js';

/** A command's logger: `--log-level`, else LOG_LEVEL, else info; secrets of `config` redacted. */
export function commandLogger(ctx: CommandContext, config?: Config): Logger {
  return createLogger({ level: ctx.logLevel ?? ctx.settings.logLevel ?? 'info', color: ctx.settings.color, redactor: config?.redactor });
}
