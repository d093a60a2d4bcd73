import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { UsageError } from '../errors/usage-error.js';
import type { QueueSettings, Settings } from '../runtime/settings.js';

/** What every command receives from the command line besides its own options. */
export interface CommandContext {
  /** The environment, read once (on first use: `restq schema` never needs it). */
  readonly settings: Settings;
  /** `--config`, else RESTQ_CONFIG_DIR, else the current directory; absolute. */
  readonly configDir: string;
  /** `--log-level`; LOG_LEVEL (settings.logLevel) when not given. */
  readonly logLevel: string | undefined;
}

/** connections.yaml and jobs/ of the project, with `${VAR}` from the settings' environment. */
export function loadProjectConfig(ctx: CommandContext): Config {
  return loadConfig({ dir: ctx.configDir, env: ctx.settings.env });
}

/** Distributed mode's settings, or a usage error (exit 2) saying this command needs Redis. */
export function requireQueue(ctx: CommandContext, message: string): QueueSettings {
  const queue = ctx.settings.queue;
  if (!queue) throw new UsageError(message);
  return queue;
}

/** The message of commands that only work on the BullMQ queue. */
export function needsRedis(command: string): string {
  return `restq ${command} needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379): it works on the BullMQ queue in Redis`;
}
