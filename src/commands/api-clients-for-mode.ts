import { openTokenStore } from '../auth/open-token-store.js';
import { tokenProviders } from '../auth/token-providers.js';
import type { TokenStore } from '../auth/token-store.js';
import type { Config } from '../config/types.js';
import { ApiClients } from '../http/api-clients.js';
import type { Logger } from '../logger.js';

export interface ModeClients {
  clients: ApiClients;
  tokenStore: TokenStore;
  close(): Promise<void>;
}

/**
 * API clients for a long-running process: tokens in the store of the mode (Redis, shared by
 * every worker, when REDIS_URL is set; `.restq/state.json` otherwise).
 */
export async function createModeClients(config: Config, logger: Logger, env?: Readonly<Record<string, string | undefined>>): Promise<ModeClients> {
  const tokenStore = await openTokenStore({ config, logger, ...(env ? { env } : {}) });
  const clients = new ApiClients({ config, logger, tokens: tokenProviders({ config, store: tokenStore, logger }) });
  return {
    clients,
    tokenStore,
    async close() {
      await clients.close();
      await tokenStore.close();
    },
  };
}
