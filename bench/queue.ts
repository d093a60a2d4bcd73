// queue: N small scalar runs through W worker processes: restq's worker (runJob, run records,
// progress) against a bare BullMQ worker making the same HTTP call, on the same Redis.
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startChild, stopChild } from './lib/child.js';
import { writeProject } from './lib/config-dir.js';
import type { BenchReport } from './lib/report.js';

export interface QueueBenchOptions {
  redisUrl: string;
  runs: number;
  workers: number;
  /** Runs at once per worker process, the same for both sides. */
  concurrency: number;
}

export const QUEUE_FULL = { runs: 10_000, workers: 4, concurrency: 8 };
export const QUEUE_QUICK = { runs: 200, workers: 2, concurrency: 4 };

/** Starts W workers of one kind, enqueues N runs, and times until every one completed. */
async function throughput(kind: 'bare' | 'restq', options: QueueBenchOptions, apiUrl: string, configDir: string): Promise<number> {
  const prefix = `bench-${randomUUID()}`;
  const queueName = 'restq';
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection: redis, prefix });
  const children: ChildProcess[] = [];
  const done = new Map<ChildProcess, number>();
  try {
    for (let w = 0; w < options.workers; w++) {
      const args = kind === 'bare' ? [options.redisUrl, prefix, queueName, String(options.concurrency), apiUrl] : [options.redisUrl, prefix, queueName, String(options.concurrency), configDir];
      // BENCH_CPU_PROF=dir writes a CPU profile of every worker process there (for `node --cpu-prof` analysis).
      const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}/${kind}`] : [];
      const { child } = await startChild<{ ready: boolean }>(kind === 'bare' ? 'queue-worker-bare.mjs' : 'queue-worker-restq.mjs', args, { execArgv: profile });
      children.push(child);
      child.on('message', (m: { done?: number }) => {
        if (typeof m.done === 'number') done.set(child, m.done);
      });
    }
    const total = () => [...done.values()].reduce((a, b) => a + b, 0);
    const started = performance.now();
    for (let i = 0; i < options.runs; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, options.runs - i) }, () => ({ name: 'count', data: { job: 'count', params: {} } }));
      await queue.addBulk(batch);
    }
    const deadline = Date.now() + 30 * 60_000;
    while (total() < options.runs) {
      if (Date.now() > deadline) throw new Error(`queue bench (${kind}): only ${total()} of ${options.runs} runs completed`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return (options.runs / (performance.now() - started)) * 1000;
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
  }
}

export async function runQueueBench(options: QueueBenchOptions): Promise<BenchReport> {
  const { child: server, first } = await startChild<{ url: string }>('rows-server', ['1', '1']);
  const dir = writeProject(`connections:\n  bench:\n    baseUrl: ${first.url}\n    accessToken: bench-token\n`, {
    count: ['connection: bench', 'scalar:', '  path: /count', '  value: $.count', 'output:', '  - stdout: { format: ndjson }'].join('\n'),
  });
  try {
    const bare = await throughput('bare', options, first.url, dir);
    const restq = await throughput('restq', options, first.url, dir);
    return {
      name: 'queue',
      setup: `${options.runs.toLocaleString('en-US')} scalar runs, ${options.workers} worker processes × concurrency ${options.concurrency}`,
      lines: [{ metric: 'throughput', restq, baseline: bare, unit: 'runs/s', better: 'higher', target: '≥ 0.7×', met: restq / bare >= 0.7 }],
      notes: ['baseline: a bare BullMQ worker doing the same GET + JSON.parse per run'],
      checks: { restq, bare },
    };
  } finally {
    await stopChild(server);
    await rm(dir, { recursive: true, force: true });
  }
}
