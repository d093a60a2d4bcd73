// refresh: P worker processes × C concurrent runs share one OAuth2 token with a 1 s lifetime
// through the Redis token store, for D seconds, against the rotating sample API (each refresh
// token is single-use: a second use is invalid_grant). Compared with the ideal: one refresh per
// token lifetime minus skew.
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { startSampleApi } from '../src/demo/sample-api.js';
import { nextMessage, startChild, stopChild } from './lib/child.js';
import { writeProject } from './lib/config-dir.js';
import type { BenchReport } from './lib/report.js';

export interface RefreshBenchOptions {
  redisUrl: string;
  processes: number;
  concurrency: number;
  durationMs: number;
}

export const REFRESH_FULL = { processes: 8, concurrency: 16, durationMs: 60_000 };
export const REFRESH_QUICK = { processes: 2, concurrency: 4, durationMs: 3_000 };

const LIFETIME_MS = 1000;
/** The token manager refreshes at expiry minus a skew capped at 20% of the lifetime. */
const SKEW_MS = 0.2 * LIFETIME_MS;

interface WorkerReport {
  runs: number;
  errors: Record<string, number>;
  waits: number[];
  startedAt: number;
  endedAt: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runRefreshBench(options: RefreshBenchOptions): Promise<BenchReport> {
  const clientSecret = randomBytes(12).toString('hex');
  const api = await startSampleApi({ clientSecret, refreshToken: `rt-seed-${randomBytes(8).toString('hex')}`, tokenLifetimeSeconds: LIFETIME_MS / 1000 });
  const prefix = `bench-${randomUUID()}`;
  const dir = writeProject(
    [
      'connections:',
      '  api:',
      `    baseUrl: ${api.url}`,
      '    apiKey: demo-client',
      `    apiSecret: ${clientSecret}`,
      '    refresh:',
      `      endpoint: ${api.url}/oauth/token`,
      `      refreshToken: ${api.currentRefreshToken()}`,
    ].join('\n'),
    { count: ['connection: api', 'scalar:', '  path: /v1/orders/count', '  value: $.count', 'output:', '  - stdout: { format: ndjson }'].join('\n') },
  );
  const children: ChildProcess[] = [];
  try {
    for (let p = 0; p < options.processes; p++) {
      const { child } = await startChild<{ ready: boolean }>('refresh-worker.mjs', [options.redisUrl, prefix, dir, String(options.concurrency), String(options.durationMs)]);
      children.push(child);
    }
    const reports = await Promise.all(children.map((c) => nextMessage<WorkerReport>(c)));
    // From the first process's first run to the last process's last: the time tokens were needed.
    const windowMs = Math.max(...reports.map((r) => r.endedAt)) - Math.min(...reports.map((r) => r.startedAt));
    const waits = reports.flatMap((r) => r.waits).sort((a, b) => a - b);
    const runs = reports.reduce((n, r) => n + r.runs, 0);
    const errors: Record<string, number> = {};
    for (const r of reports) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
    // The first token, then one per (lifetime − skew) while runs needed one.
    const ideal = 1 + windowMs / (LIFETIME_MS - SKEW_MS);
    const calls = api.stats.tokenRequests;
    const perExpiry = calls / ideal;
    const p99 = percentile(waits, 99);
    return {
      name: 'refresh',
      setup: `${options.processes} processes × concurrency ${options.concurrency}, token lifetime ${LIFETIME_MS / 1000} s, ${(options.durationMs / 1000).toFixed(0)} s, Redis token store`,
      lines: [
        { metric: 'refresh calls', restq: calls, baseline: ideal, unit: '', better: 'lower' },
        { metric: 'refresh calls per expiry', restq: perExpiry, baseline: 1, unit: '', better: 'lower', target: '≤ 1.02', met: perExpiry <= 1.02 },
        { metric: 'invalid_grant', restq: api.stats.invalidGrants, baseline: 0, unit: '', better: 'lower', target: '0', met: api.stats.invalidGrants === 0 },
        { metric: 'token wait p99', restq: p99, baseline: percentile(waits, 50), unit: 'ms', better: 'lower' },
      ],
      notes: [
        `baseline: the ideal count, the first token and one refresh per (lifetime − skew) = ${LIFETIME_MS - SKEW_MS} ms over the ${(windowMs / 1000).toFixed(1)} s the runs needed tokens; the p99 line's baseline is the median wait`,
        `${runs.toLocaleString('en-US')} runs, ${api.stats.apiRequests.toLocaleString('en-US')} API requests, ${api.stats.unauthorized} answered 401${Object.keys(errors).length ? `, failed runs: ${JSON.stringify(errors)}` : ', no failed run'}`,
      ],
      checks: { calls, ideal, invalidGrants: api.stats.invalidGrants, runs, failed: Object.values(errors).reduce((a, b) => a + b, 0), p99 },
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    const redis = new Redis(options.redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}
