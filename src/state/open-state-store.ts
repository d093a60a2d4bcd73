import path from 'node:path';
import type { Redis } from 'ioredis';
import { RestqError } from '../errors/restq-error.js';
import { FileStateStore } from './file-state-store.js';
import { RedisStateStore } from './redis-state-store.js';
import { DEFAULT_HISTORY_LIMIT, type StateStore } from './state-store.js';

type Env = Readonly<Record<string, string | undefined>>;

/** RESTQ_HISTORY: run records kept per job. @default 100 */
export function readHistoryLimit(env: Env = process.env): number {
  const raw = env['RESTQ_HISTORY']?.trim();
  if (!raw) return DEFAULT_HISTORY_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new RestqError('E_CONFIG', `RESTQ_HISTORY=${JSON.stringify(raw)} must be a whole number from 1 to 100000 (run records kept per job; default ${DEFAULT_HISTORY_LIMIT})`, { permanent: true });
  }
  return n;
}

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
  redis?: { client: Redis; prefix: string; queue: string } | undefined;
  /** @default process.env */
  env?: Env;
}

/** The state store of this process's mode: Redis when a client is given, else `.restq/`. */
export function openStateStore(options: OpenStateStoreOptions): StateStore {
  const historyLimit = readHistoryLimit(options.env);
  if (options.redis) return new RedisStateStore({ redis: options.redis.client, prefix: options.redis.prefix, queue: options.redis.queue, historyLimit });
  return new FileStateStore({ dir: stateDirPath(options.configDir, options.stateDir), historyLimit });
}
