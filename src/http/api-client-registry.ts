import { findConnection } from '../config/lookup.js';
import type { Dispatcher } from 'undici';
import type { Config, Connection } from '../config/types.js';
import { StaticTokenProvider, type TokenProvider } from './token-provider.js';
import type { Logger } from '../log/logger.js';
import { countingTransport, type HttpMetrics } from './counting-transport.js';
import { ApiClient } from './api-client.js';
import { createDispatcher } from './dispatcher.js';
import { createTransport, type Transport } from './transport.js';
import { httpPolicy } from './http-policy.js';
import { withRequestLog } from './request-log.js';

/** Builds the token provider of a connection (static, file- or Redis-backed refresh). */
export type TokenProviderFactory = (connection: Connection, dispatcher: Dispatcher) => TokenProvider;

export interface ApiClientsOptions {
  config: Config;
  logger: Logger;
  /** @default a StaticTokenProvider with the connection's accessToken */
  tokens?: TokenProviderFactory;
  /**
   * Wraps each connection's transport (retries, rate limits).
   * @default httpPolicy with in-process rate limiters; pass httpPolicy({ rateLimiters }) for Redis
   */
  wrapTransport?: (transport: Transport, connection: Connection) => Transport;
  /** Counts every request sent (retries included) per connection and status. @default no metrics */
  metrics?: HttpMetrics | undefined;
}

/**
 * Keeps one dispatcher, token provider and ApiClient per connection for the life of a process,
 * so keep-alive sockets and cached tokens are shared by every run.
 */
export class ApiClients {
  readonly #options: ApiClientsOptions;
  #defaultPolicy: ((transport: Transport, connection: Connection) => Transport) | undefined;
  readonly #clients = new Map<string, { client: ApiClient; dispatcher: Dispatcher; tokens: TokenProvider }>();

  constructor(options: ApiClientsOptions) {
    this.#options = options;
  }

  get(connectionName: string): ApiClient {
    let entry = this.#clients.get(connectionName);
    if (!entry) {
      const { config, logger } = this.#options;
      const connection = findConnection(config, connectionName);
      const dispatcher = createDispatcher(connection, { logger });
      const tokens = this.#options.tokens?.(connection, dispatcher) ?? new StaticTokenProvider(connection.accessToken);
      let transport = createTransport(dispatcher, config.redactor, connection.timeout);
      if (logger.isLevelEnabled('debug')) transport = withRequestLog(transport, logger.child({ connection: connectionName }), config.redactor);
      if (this.#options.metrics) transport = countingTransport(transport, connectionName, this.#options.metrics);
      // One default policy per ApiClients, so its in-process rate budgets are shared by all runs.
      const wrap = this.#options.wrapTransport ?? (this.#defaultPolicy ??= httpPolicy({ logger, redactor: config.redactor, metrics: this.#options.metrics }));
      transport = wrap(transport, connection);
      const client = new ApiClient({ connection, transport, tokens, redactor: config.redactor, logger: logger.child({ connection: connectionName }) });
      entry = { client, dispatcher, tokens };
      this.#clients.set(connectionName, entry);
    }
    return entry.client;
  }

  async close(): Promise<void> {
    const entries = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(entries.flatMap((e) => [e.tokens.close?.(), e.dispatcher.close()]));
  }
}
