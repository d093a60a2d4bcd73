// cold start: `restq --help` and `restq validate` on the demo project (connections.yaml and jobs/ at
// the repository root) against `node -e 0`, each run as a fresh process, interleaved, median of N.
// Wall time is taken around the whole process; peak RSS is the kernel's maxrss, read through
// /usr/bin/time (GNU time) where it is installed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { benchDir } from './lib/child.js';
import type { BenchLine, BenchReport } from './lib/report.js';

export interface ColdStartOptions {
  /** Runs of each command; the median counts. */
  runs: number;
  /** The CLI to start. @default dist/cli.js of this repository */
  cli?: string;
}

export const COLD_START_FULL: ColdStartOptions = { runs: 20 };
export const COLD_START_QUICK: ColdStartOptions = { runs: 3 };

const WALL_GOAL_MS = 150;
const RSS_GOAL_MB = 70;
const GNU_TIME = '/usr/bin/time';

interface Sample {
  wallMs: number;
  /** Peak RSS in MB; NaN when /usr/bin/time is missing. */
  rssMb: number;
}

/** The environment of a user's shell without restq's own settings (standalone, default log level). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(REDIS_|RESTQ_|LOG_LEVEL$|OTEL_|NODE_OPTIONS$)/.test(key)) env[key] = value;
  }
  return env;
}

/** Runs `node args…` once; fails on a non-zero exit (a broken command must not look fast). */
async function sample(args: string[], measureRss: boolean): Promise<Sample> {
  const command = measureRss ? GNU_TIME : process.execPath;
  const argv = measureRss ? ['-f', 'maxrss=%M', process.execPath, ...args] : args;
  const started = performance.now();
  const child = spawn(command, argv, { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${String(code)}: ${stderr.trim().slice(0, 500)}`);
  const kb = /maxrss=(\d+)/.exec(stderr)?.[1];
  return { wallMs, rssMb: kb === undefined ? Number.NaN : Number(kb) / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runColdStartBench(options: ColdStartOptions): Promise<BenchReport> {
  const root = path.resolve(benchDir, '..');
  const cli = options.cli ?? path.join(root, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found: run npm run build first`);
  const measureRss = existsSync(GNU_TIME);
  // What validate cannot go below: the YAML parse alone, bundled as the CLI bundles it.
  const work = mkdtempSync(path.join(tmpdir(), 'restq-cold-start-'));
  const yamlFloor = path.join(work, 'parse-project-yaml.mjs');
  await build({
    entryPoints: [path.join(benchDir, 'children', 'parse-project-yaml.mjs')],
    outfile: yamlFloor,
    bundle: true,
    format: 'esm',
    platform: 'node',
    logLevel: 'warning',
    // As scripts/bundle-cli.mjs: yaml is CommonJS, its require() needs a real require in an ES module.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  const commands: Record<string, string[]> = {
    baseline: ['-e', '0'],
    help: [cli, '--help'],
    validate: [cli, '--config', root, 'validate'],
    yamlFloor: [yamlFloor, root],
  };
  const samples: Record<string, Sample[]> = { baseline: [], help: [], validate: [], yamlFloor: [] };
  try {
    // One warm-up of each (file cache), then interleaved rounds so a busy moment hits all alike.
    for (const args of Object.values(commands)) await sample(args, measureRss);
    for (let i = 0; i < options.runs; i++) {
      for (const [name, args] of Object.entries(commands)) samples[name]!.push(await sample(args, measureRss));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const wall = (name: string) => median(samples[name]!.map((s) => s.wallMs));
  const rss = (name: string) => median(samples[name]!.map((s) => s.rssMb));
  const lines: BenchLine[] = [];
  for (const [name, label] of [
    ['help', 'restq --help'],
    ['validate', 'restq validate (demo project)'],
  ] as const) {
    lines.push({ metric: `${label}: wall`, restq: wall(name), baseline: wall('baseline'), unit: 'ms', better: 'lower', target: `≤ ${WALL_GOAL_MS} ms`, met: wall(name) <= WALL_GOAL_MS });
    if (measureRss) {
      lines.push({ metric: `${label}: peak RSS`, restq: rss(name), baseline: rss('baseline'), unit: 'MB', better: 'lower', target: `≤ ${RSS_GOAL_MB} MB`, met: rss(name) <= RSS_GOAL_MB });
    }
  }
  return {
    name: 'cold start',
    setup: `median of ${options.runs} fresh processes each, interleaved; baseline: node -e 0`,
    lines,
    notes: [
      `floor under validate: node + the yaml library (bundled) parsing the same files and nothing else: ${wall('yamlFloor').toFixed(0)} ms wall (${(wall('yamlFloor') - wall('baseline')).toFixed(0)} ms above node -e 0); validate adds ${(wall('validate') - wall('yamlFloor')).toFixed(0)} ms (commander, zod schemas and checks, restq's config code)`,
      ...(measureRss ? [] : [`peak RSS not measured: ${GNU_TIME} (GNU time) is not installed`]),
    ],
    checks: { runs: options.runs, helpWallMs: wall('help'), validateWallMs: wall('validate'), yamlFloorWallMs: wall('yamlFloor') },
  };
}
