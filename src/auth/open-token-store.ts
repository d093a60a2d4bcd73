import path from 'node:path';
import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import { FileTokenStore } from './file-token-store.js';
import { openRedisTokenStore } from './open-redis-token-store.js';
import { createSecretBox, parseSecretKey } from './secret-box.js';
import type { TokenStore } from './token-store.js';

export interface OpenTokenStoreOptions {
  config: Config;
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides `<config dir>/.restq` (the demo keeps its own). */
  stateDir?: string;
  logger?: Logger;
  /**
   * Redis store only: `blocking` waits through a Redis restart (long-running workers); `command`
   * fails fast (`restq run`, `restq token`). @default "command"
   */
  redisMode?: 'command' | 'blocking';
}

/** Where the standalone store keeps token state: `.restq/state.json` beside connections.yaml. */
export function stateFilePath(configDir: string, stateDir?: string): string {
  return path.join(stateDir ?? path.join(configDir, '.restq'), 'state.json');
}

/**
 * Picks the token store for this process. The one place that decides: the distributed mode adds
 * its Redis store here (when REDIS_URL is set) behind the same TokenStore contract.
 * RESTQ_SECRET_KEY, when set, encrypts tokens at rest (a malformed key is a start-up error).
 */
export async function openTokenStore(options: OpenTokenStoreOptions): Promise<TokenStore> {
  const env = options.env ?? process.env;
  const key = parseSecretKey(env['RESTQ_SECRET_KEY']);
  // Distributed mode: one token per connection in Redis, shared by every worker (SPEC 5).
  // Only connections with `refresh` keep token state; without any, Redis is not needed for it.
  const refreshed = Object.values(options.config.connections).some((c) => c.refresh);
  if (env['REDIS_URL']?.trim() && refreshed) return openRedisTokenStore(options.config, { env, logger: options.logger, mode: options.redisMode });
  return new FileTokenStore({ file: stateFilePath(options.config.dir, options.stateDir), box: key && createSecretBox(key) });
}
