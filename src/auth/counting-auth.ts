import type { TokenRefresher } from './refresh-client.js';
import type { TokenStore } from './token-store.js';
import { isRestqError } from '../errors/restq-error.js';

/** What the token code counts (ops/metrics.ts implements it). */
export interface AuthMetrics {
  tokenRefresh(connection: string, result: 'ok' | 'invalid_grant' | 'error'): void;
  /** Time spent waiting for another holder of a connection's refresh lock. */
  lockWait(connection: string, waitedMs: number): void;
}

/** Counts each call to a connection's token endpoint by result (ok, invalid_grant, error). */
export function countingRefresher(refresher: TokenRefresher, connection: string, metrics: AuthMetrics): TokenRefresher {
  return async (refreshToken, signal) => {
    try {
      const grant = await refresher(refreshToken, signal);
      metrics.tokenRefresh(connection, 'ok');
      return grant;
    } catch (error) {
      metrics.tokenRefresh(connection, isRestqError(error) && error.code === 'E_INVALID_GRANT' ? 'invalid_grant' : 'error');
      throw error;
    }
  };
}

/**
 * Counts the times this process waited for another holder of a connection's refresh lock: the
 * store then returns the holder's state without running our update.
 */
export function countingStore(store: TokenStore, metrics: AuthMetrics, clock: () => number = performance.now.bind(performance)): TokenStore {
  return {
    read: (connection) => store.read(connection),
    close: () => store.close(),
    update: async (connection, update) => {
      const started = clock();
      let ran = false;
      const state = await store.update(connection, (current, ctx) => {
        ran = true;
        return update(current, ctx);
      });
      if (!ran) metrics.lockWait(connection, clock() - started);
      return state;
    },
  };
}
