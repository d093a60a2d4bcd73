import type { Redis } from 'ioredis';
import { parseSecretKey, createSecretBox } from '../auth/secret-box.js';
import { RedisTokenStore } from '../auth/redis-token-store.js';
import type { Config } from '../config/types.js';
import { ApiClients } from '../http/api-clients.js';
import type { Logger } from '../logger.js';
import type { QueueSettings } from '../queue/queue-settings.js';

export interface ModeClients {
  clients: ApiClients;
  /** The shared token store in distributed mode. */
  tokenStore?: RedisTokenStore;
  close(): Promise<void>;
}

/**
 * API clients for this process: in distributed mode (a Redis connection given) tokens live in
 * the Redis token store shared by every worker; otherwise in the standalone store.
 */
export function createModeClients(config: Config, logger: Logger, distributed?: { redis: Redis; settings: QueueSettings }): ModeClients {
  const key = parseSecretKey(process.env['RESTQ_SECRET_KEY']);
  const secretBox = key ? createSecretBox(key) : undefined;
  const tokenStore = distributed ? new RedisTokenStore({ redis: distributed.redis, prefix: distributed.settings.prefix, secretBox, logger }) : undefined;
  const clients = new ApiClients({ config, logger });
  return {
    clients,
    tokenStore,
    async close() {
      await clients.close();
      await tokenStore?.close();
    },
  };
}
