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
  /** Alternating rounds of each side (each round runs `runs`). */
  rounds: number;
}

export const QUEUE_FULL = { runs: 10_000, workers: 4, concurrency: 8, rounds: 5 };
export const QUEUE_QUICK = { runs: 200, workers: 2, concurrency: 4, rounds: 1 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Throughput {
  /** Runs per second, from the first enqueue to the last completion. */
  rate: number;
  /** CPU time per run (ms) of the worker processes, and of Redis (when the bench owns it, else NaN). */
  workerCpuMs: number;
  redisCpuMs: number;
}

/** used_cpu_user + used_cpu_sys of the Redis server, in ms. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** Starts W workers of one kind, enqueues N runs, and times until every one completed. */
async function throughput(kind: 'bare' | 'restq', options: QueueBenchOptions, apiUrl: string, configDir: string): Promise<Throughput> {
  const prefix = `bench-${randomUUID()}`;
  const queueName = 'restq';
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection: redis, prefix });
  const children: ChildProcess[] = [];
  const done = new Map<ChildProcess, number>();
  const cpuStart = new Map<ChildProcess, number>();
  const cpuNow = new Map<ChildProcess, number>();
  try {
    for (let w = 0; w < options.workers; w++) {
      const args = kind === 'bare' ? [options.redisUrl, prefix, queueName, String(options.concurrency), apiUrl] : [options.redisUrl, prefix, queueName, String(options.concurrency), configDir];
      // BENCH_CPU_PROF=dir writes a CPU profile of every worker process there (for `node --cpu-prof` analysis).
      const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}/${kind}`] : [];
      const { child, first } = await startChild<{ ready: boolean; cpu: number }>(kind === 'bare' ? 'queue-worker-bare.mjs' : 'queue-worker-restq.mjs', args, { execArgv: profile });
      children.push(child);
      cpuStart.set(child, first.cpu);
      child.on('message', (m: { done?: number; cpu?: number }) => {
        if (typeof m.done === 'number') done.set(child, m.done);
        if (typeof m.cpu === 'number') cpuNow.set(child, m.cpu);
      });
    }
    const total = () => [...done.values()].reduce((a, b) => a + b, 0);
    const redisCpuBefore = await redisCpuMs(redis);
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
    const rate = (options.runs / (performance.now() - started)) * 1000;
    const redisCpu = (await redisCpuMs(redis)) - redisCpuBefore;
    await Promise.all(
      children.map(async (c) => {
        const answered = new Promise<void>((resolve) => {
          const onMessage = (m: { cpu?: number }) => {
            if (typeof m.cpu !== 'number') return;
            c.off('message', onMessage);
            resolve();
          };
          c.on('message', onMessage);
        });
        c.send('cpu');
        await answered;
      }),
    );
    const workerCpu = children.reduce((sum, c) => sum + ((cpuNow.get(c) ?? 0) - (cpuStart.get(c) ?? 0)), 0) / 1000;
    return { rate, workerCpuMs: workerCpu / options.runs, redisCpuMs: redisCpu / options.runs };
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
    // Bare and restq alternate, round by round, so both sides see the same load on a shared
    // machine; each figure is the median over the rounds, the ratio the median of the rounds' ratios.
    const rounds: { bare: Throughput; restq: Throughput }[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const bareRound = await throughput('bare', options, first.url, dir);
      const restqRound = await throughput('restq', options, first.url, dir);
      rounds.push({ bare: bareRound, restq: restqRound });
    }
    const med = (pick: (round: (typeof rounds)[number]) => number) => median(rounds.map(pick));
    const [bare, restq] = [med((r) => r.bare.rate), med((r) => r.restq.rate)];
    const ratios = rounds.map((r) => r.restq.rate / r.bare.rate);
    const ratioMedian = median(ratios);
    const cpu = (side: 'bare' | 'restq') => `${med((r) => r[side].workerCpuMs).toFixed(2)} ms workers + ${med((r) => r[side].redisCpuMs).toFixed(2)} ms Redis`;
    return {
      name: 'queue',
      setup: `${options.runs.toLocaleString('en-US')} scalar runs, ${options.workers} worker processes × concurrency ${options.concurrency}, ${options.rounds} alternating round(s) per side`,
      lines: [{ metric: 'throughput (median)', restq, baseline: bare, unit: 'runs/s', better: 'higher', target: '≥ 0.85×', met: ratioMedian >= 0.85 }],
      notes: [
        'baseline: a bare BullMQ worker doing the same GET + JSON.parse per run',
        `ratio per round: ${ratios.map((x) => `${x.toFixed(2)}×`).join(', ')} (median ${ratioMedian.toFixed(2)}×, min ${Math.min(...ratios).toFixed(2)}×)`,
        `CPU per run (median): restq ${cpu('restq')}; bare ${cpu('bare')} (on a busy machine, throughput follows CPU per run)`,
      ],
      checks: {
        restq,
        bare,
        ratio: ratioMedian,
        restqWorkerCpuMs: med((r) => r.restq.workerCpuMs),
        bareWorkerCpuMs: med((r) => r.bare.workerCpuMs),
        restqRedisCpuMs: med((r) => r.restq.redisCpuMs),
        bareRedisCpuMs: med((r) => r.bare.redisCpuMs),
      },
    };
  } finally {
    await stopChild(server);
    await rm(dir, { recursive: true, force: true });
  }
}
