import express from 'express';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { ApiClients } from '../http/api-client-registry.js';
import type { DashboardAuth } from '../ops/dashboard-auth.js';
import { basicAuth, listenDashboard, type ListenOptions } from '../console/dashboard.js';
import { Metrics } from '../ops/metrics.js';
import type { Settings } from '../runtime/settings.js';
import { openStateStore } from '../state/open-state-store.js';
import { Replaceable } from '../runtime/config-reloader.js';
import { consoleRouter } from './console-routes.js';
import { InProcessRuns } from './run-starters.js';

export interface StandaloneConsoleOptions extends ListenOptions {
  config: Config;
  settings: Settings;
  logger: Logger;
  auth?: DashboardAuth | undefined;
  /** Builds the API clients of this mode (the caller's: commands own the wiring). */
  createClients: (config: Config, logger: Logger, settings: Settings, metrics: Metrics) => Promise<{ clients: ApiClients; close(): Promise<void> }>;
}

export interface ServedConsole {
  url: string;
  /**
   * Shows and runs `config` from now on (a config reload), with new API clients; runs already
   * going finish on the old ones, which are closed when they end (awaited by `close`).
   */
  setConfig(config: Config): Promise<void>;
  close(): Promise<void>;
}

/**
 * Standalone mode's console (no REDIS_URL): history and cursors from `.restq/`, "Run now" runs
 * the job in this process (tokens in `.restq/state.json`, as `restq start` does). No `/queues`:
 * there is no BullMQ queue. `/healthz` answers for this process, `/metrics` its own counters.
 */
export async function serveStandaloneConsole(options: StandaloneConsoleOptions): Promise<ServedConsole> {
  const { logger } = options;
  let config = options.config;
  const metrics = new Metrics();
  const mode = new Replaceable(await options.createClients(config, logger, options.settings, metrics), logger);
  const state = openStateStore({ configDir: config.dir, historyLimit: options.settings.history });
  const runs = new InProcessRuns({ config, clients: mode.current.clients, state, logger, metrics });
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.json({ ok: true, mode: 'standalone' }));
  if (options.auth) app.use(basicAuth(options.auth));
  app.get('/metrics', async (_req, res) => void res.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.use(consoleRouter({ config: () => config, state, runs, queues: false }));
  try {
    const running = await listenDashboard(app, options.auth, options);
    logger.info({ url: running.url, mode: 'standalone', auth: options.auth !== undefined }, 'console listening');
    return {
      url: running.url,
      async setConfig(next) {
        const nextMode = await options.createClients(next, logger, options.settings, metrics);
        config = next;
        mode.swap(nextMode, runs.setConfig(next, nextMode.clients));
      },
      async close() {
        await running.close();
        await runs.close();
        await state.close();
        await mode.close();
      },
    };
  } catch (error) {
    await state.close();
    await mode.close();
    throw error;
  }
}
