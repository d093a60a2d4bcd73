import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from './wait-for.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI, as users run it (`npm install -g restq` runs dist/cli.js). */
export const CLI = path.join(ROOT, 'dist/cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ when it is missing or older than any file in src/ (or tsconfig.json), so
 * `npx vitest run one.test.ts` after an edit runs the code as edited. Called once, from the
 * global setup, so parallel test files never build at the same time.
 */
export function ensureBuilt(): void {
  const built = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  const source = Math.max(newestMtime(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'tsconfig.json')).mtimeMs);
  if (built >= source) return;
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`dist/ is stale and \`npm run build\` failed:\n${build.stdout}${build.stderr}`);
}

/** The environment of a restq child: the test's own, without settings a developer's shell may carry. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: undefined, RESTQ_CONFIG_DIR: undefined, REDIS_URL: undefined, ...env };
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(merged)) if (value !== undefined) clean[key] = value;
  return clean;
}

/** A `restq` child process with its output collected. */
export interface RestqProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process ends. */
  exited: Promise<number | string>;
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code, or an error carrying the process's stderr when it has not ended in time. */
  exitWithin(timeoutMs: number): Promise<number | string>;
}

export interface CliOptions {
  cwd?: string;
  /** Added to the test's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  stdio?: StdioOptions;
}

/** The one way tests start the CLI: `node dist/cli.js ARGS`, output collected. */
export function startCli(args: string[], options: CliOptions = {}): RestqProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: childEnv(options.env ?? {}), stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStderr(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(err)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} on stderr within ${timeoutMs} ms; stderr so far:\n${err}`);
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${pattern}; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    exitWithin(timeoutMs) {
      return within(exited, () => `\`restq ${args.join(' ')}\` to exit; its stderr so far:\n${err}`, timeoutMs);
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI to its end. Asynchronous on purpose: the test's own HTTP server must keep
 * answering while the child runs.
 */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const proc = startCli(args, options);
  const end = await new Promise<number | null>((resolve, reject) => {
    proc.child.on('error', reject);
    void proc.exited.then((code) => resolve(typeof code === 'number' ? code : null));
  });
  return { code: end, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** A long-running `restq --config DIR ARGS` (worker, scheduler, dashboard), LOG_LEVEL=info unless set. */
export function spawnRestq(args: string[], env: Record<string, string | undefined>, configDir: string): RestqProcess {
  return startCli(['--config', configDir, ...args], { env: { LOG_LEVEL: 'info', REDIS_URL: process.env['REDIS_URL'], ...env } });
}
