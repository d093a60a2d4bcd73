import path from 'node:path';
import type { RedisClient } from '../redis/redis-connection.js';
import { FileStateStore } from './file-state-store.js';
import { RedisStateStore } from './redis-state-store.js';
import { DEFAULT_HISTORY_LIMIT, type StateStore } from './state-store.js';

/** Where standalone mode keeps its state: `<config dir>/.restq`. */
export function stateDirPath(configDir: string, stateDir?: string): string {
  return stateDir ?? path.join(configDir, '.restq');
}

export interface OpenStateStoreOptions {
  /** The config directory (standalone: state lives in its `.restq/`). */
  configDir: string;
  /** Overrides `<config dir>/.restq` (the demo keeps its own). */
  stateDir?: string | undefined;
  /** Distributed mode: a Redis client owned by the caller, and where keys go. */
  redis?: { client: RedisClient; prefix: string; queue: string } | undefined;
  /** RESTQ_HISTORY (Settings.history). @default 100 */
  historyLimit?: number | undefined;
}

/** The state store of this process's mode: RedisClient when a client is given, else `.restq/`. */
export function openStateStore(options: OpenStateStoreOptions): StateStore {
  const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  if (options.redis) return new RedisStateStore({ redis: options.redis.client, prefix: options.redis.prefix, queue: options.redis.queue, historyLimit });
  return new FileStateStore({ dir: stateDirPath(options.configDir, options.stateDir), historyLimit });
}
