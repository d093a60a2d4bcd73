import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { RedisClient } from '../redis/redis-connection.js';
import { AggregatorRegistry } from 'prom-client';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import { liveWorkers, metricsKeyPrefix, readByPrefix, type MetricsSnapshot } from '../ops/heartbeat.js';
import { Metrics } from '../ops/metrics.js';
import { consoleRouter, type ConsoleOptions } from './console-routes.js';
import { isLoopbackHost, type DashboardAuth } from '../ops/dashboard-auth.js';

export interface DashboardOptions {
  /** The restq BullMQ queue. */
  queue: Queue;
  /** For /healthz and the workers' heartbeats and metrics (a client that fails fast). */
  redis: RedisClient;
  prefix: string;
  queueName: string;
  /** This process's metrics (the dashboard inside `start`); queue counts are added to it. @default a fresh Metrics */
  metrics?: Metrics | undefined;
  /** Heartbeat id of a worker in this same process: its published snapshot is skipped (already in `metrics`). */
  selfWorkerId?: string | undefined;
  /** Basic auth for the UI and /metrics (/healthz stays open: it reveals nothing). */
  auth?: DashboardAuth | undefined;
  /** Live workers /healthz requires; 0 checks Redis only. @default 1 */
  minWorkers?: number;
  logger?: Logger | undefined;
  /** The console (SPEC 11) at `/`, `/jobs/NAME` and `/api`. @default Bull Board only, at /queues */
  console?: Omit<ConsoleOptions, 'queues'> | undefined;
}

export interface Health {
  ok: boolean;
  redis: 'ok' | string;
  workers: number;
  minWorkers: number;
}

const HEALTH_TIMEOUT_MS = 1000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Redis answers PING and at least `minWorkers` workers have a live heartbeat. */
export async function checkHealth(redis: RedisClient, prefix: string, queueName: string, minWorkers: number): Promise<Health> {
  try {
    await withTimeout(redis.ping(), HEALTH_TIMEOUT_MS, 'Redis');
    const workers = (await withTimeout(liveWorkers(redis, prefix, queueName), HEALTH_TIMEOUT_MS, 'Redis')).length;
    return { ok: workers >= minWorkers, redis: 'ok', workers, minWorkers };
  } catch (error) {
    return { ok: false, redis: (error as Error).message, workers: 0, minWorkers };
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Constant-time Basic auth check (comparing digests, so lengths leak nothing either). */
export function basicAuth(auth: DashboardAuth) {
  const expected = digest(`${auth.user}:${auth.password}`);
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    const given = match ? digest(Buffer.from(match[1]!, 'base64').toString('utf8')) : undefined;
    if (given && timingSafeEqual(given, expected)) return next();
    res.set('WWW-Authenticate', 'Basic realm="restq", charset="UTF-8"').status(401).type('text/plain').send('authentication required\n');
  };
}

/**
 * The dashboard's Express app: the console at `/` (when given), Bull Board at `/queues`, Prometheus metrics at `/metrics` (this
 * process's metrics plus every live worker's published snapshot, summed) and `/healthz`.
 */
export function createDashboardApp(options: DashboardOptions): Express {
  const { queue, redis, prefix, queueName } = options;
  const metrics = options.metrics ?? new Metrics();
  metrics.trackQueue(queue);
  const minWorkers = options.minWorkers ?? 1;
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', async (_req, res) => {
    const health = await checkHealth(redis, prefix, queueName, minWorkers);
    res.status(health.ok ? 200 : 503).json(health);
  });

  if (options.auth) app.use(basicAuth(options.auth));

  app.get('/metrics', async (_req, res) => {
    const own = await metrics.registry.getMetricsAsJSON();
    let workers: object[] = [];
    try {
      const selfKey = options.selfWorkerId;
      workers = (await withTimeout(readByPrefix(redis, metricsKeyPrefix(prefix, queueName)), HEALTH_TIMEOUT_MS, 'Redis'))
        .map((text) => JSON.parse(text) as MetricsSnapshot)
        .filter((snapshot) => snapshot.worker !== selfKey)
        .map((snapshot) => snapshot.metrics);
    } catch (error) {
      options.logger?.warn({ err: error }, 'cannot read worker metrics from Redis; serving this process only');
    }
    const merged = AggregatorRegistry.aggregate([own, ...workers]);
    res.type(merged.contentType).send(await merged.metrics());
  });

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: [new BullMQAdapter(queue, { readOnlyMode: false })],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'restq' } },
  });
  app.use('/queues', board.getRouter());
  if (options.console) app.use(consoleRouter({ ...options.console, queues: true }));
  return app;
}

export interface ListenOptions {
  /** @default 3000 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
}

export interface RunningDashboard {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens; refuses a non-loopback host without Basic auth (the board can delete and retry jobs). */
export async function listenDashboard(app: Express, auth: DashboardAuth | undefined, options: ListenOptions = {}): Promise<RunningDashboard> {
  const host = options.host ?? '127.0.0.1';
  if (!auth && !isLoopbackHost(host)) {
    throw new RestqError(
      'E_USAGE',
      `refusing to serve the dashboard on ${host} without authentication: set RESTQ_DASHBOARD_USER and RESTQ_DASHBOARD_PASSWORD, or use --host 127.0.0.1`,
      { permanent: true },
    );
  }
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 3000, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const { port, address, family } = server.address() as AddressInfo;
  const shown = family === 'IPv6' ? `[${address}]` : address;
  return {
    url: `http://${shown}:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
