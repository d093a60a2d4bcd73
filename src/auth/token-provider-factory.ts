import type { Dispatcher } from 'undici';
import type { Config, Connection } from '../config/types.js';
import type { TokenProviderFactory } from '../http/api-client-registry.js';
import { createDispatcher } from '../http/dispatcher.js';
import type { Logger } from '../log/logger.js';
import { countingRefresher, countingStore, type AuthMetrics } from './counting-auth.js';
import { createRefreshClient } from './refresh-client.js';
import { TokenManager } from './token-manager.js';
import { StaticTokenProvider, type TokenProvider } from '../http/token-provider.js';
import type { TokenStore } from './token-store.js';

export interface TokenProvidersOptions {
  config: Config;
  store: TokenStore;
  logger: Logger;
  /** @default Date.now */
  clock?: () => number;
  /** @default 60000 */
  skewMs?: number;
  /** Counts token-endpoint calls and refresh-lock waits. @default no metrics */
  metrics?: AuthMetrics | undefined;
}

/**
 * Builds a TokenManager for connections with `refresh` (refresh_token or client_credentials),
 * a StaticTokenProvider for the rest. The token endpoint shares the connection's dispatcher
 * (TLS and proxy) unless `refresh.proxy: false`, which gets its own without the proxy.
 */
export function createTokenManager(connection: Connection, dispatcher: Dispatcher, options: TokenProvidersOptions): TokenManager {
  const logger = options.logger.child({ connection: connection.name });
  const own = connection.refresh?.proxy === false && connection.proxy ? createDispatcher(connection, { proxy: false, logger }) : undefined;
  const refresher = createRefreshClient({ connection, dispatcher: own ?? dispatcher, redactor: options.config.redactor, logger, ...(options.clock ? { clock: options.clock } : {}) });
  return new TokenManager({
    connection,
    store: options.metrics ? countingStore(options.store, options.metrics) : options.store,
    refresher: options.metrics ? countingRefresher(refresher, connection.name, options.metrics) : refresher,
    logger,
    redactor: options.config.redactor,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.skewMs !== undefined ? { skewMs: options.skewMs } : {}),
    ...(own ? { onClose: () => own.close() } : {}),
  });
}

/** The `tokens` hook of ApiClients. */
export function tokenProviders(options: TokenProvidersOptions): TokenProviderFactory {
  return (connection: Connection, dispatcher: Dispatcher): TokenProvider =>
    connection.refresh ? createTokenManager(connection, dispatcher, options) : new StaticTokenProvider(connection.accessToken);
}
