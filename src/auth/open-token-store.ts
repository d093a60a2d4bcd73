import path from 'node:path';
import type { Config } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { RedisRole } from '../redis/redis-connection.js';
import type { Settings } from '../runtime/settings.js';
import { FileTokenStore } from './file-token-store.js';
import { createSecretBox } from './secret-box.js';
import type { TokenStore } from './token-store.js';

export interface OpenTokenStoreOptions {
  config: Config;
  /** Decides the store: Redis (distributed) or the state file; RESTQ_SECRET_KEY encrypts either. */
  settings: Pick<Settings, 'queue' | 'secretKey'>;
  /** Overrides `<config dir>/.restq` (the demo keeps its own). */
  stateDir?: string;
  logger?: Logger;
  /**
   * Redis store only: `blocking` waits through a Redis restart (long-running workers); `command`
   * fails fast (`restq run`, `restq token`). @default "command"
   */
  redisRole?: RedisRole;
}

/** Where the standalone store keeps token state: `.restq/state.json` beside connections.yaml. */
export function stateFilePath(configDir: string, stateDir?: string): string {
  return path.join(stateDir ?? path.join(configDir, '.restq'), 'state.json');
}

/**
 * Picks the token store for this process. The one place that decides: distributed mode uses its
 * Redis store behind the same TokenStore contract; standalone, `.restq/state.json`.
 */
export async function openTokenStore(options: OpenTokenStoreOptions): Promise<TokenStore> {
  const { settings } = options;
  // Distributed mode: one token per connection in Redis, shared by every worker (SPEC 5).
  // Only connections with `refresh` keep token state; without any, Redis is not needed for it.
  const refreshed = Object.values(options.config.connections).some((c) => c.refresh);
  if (settings.queue && refreshed) {
    // Loaded only here: `restq run` without Redis never loads the Redis client.
    const { openRedisTokenStore } = await import('./open-redis-token-store.js');
    return openRedisTokenStore(options.config, { settings: settings.queue, secretKey: settings.secretKey, logger: options.logger, role: options.redisRole });
  }
  const key = settings.secretKey;
  return new FileTokenStore({ file: stateFilePath(options.config.dir, options.stateDir), box: key && createSecretBox(key) });
}
