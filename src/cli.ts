#!/usr/bin/env node
// The command line: flags → command, exit codes. Each command's module is imported only when that
// command runs, so `restq --help` and `restq validate` load no queue, web server or tracing code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { CommandContext } from './commands/context.js';
import type { DashboardCliOptions } from './commands/dashboard.js';
import type { RunCliOptions } from './commands/run.js';
import type { StartCliOptions } from './commands/start.js';
import type { TokenCliOptions } from './commands/token.js';
import type { ParamValue } from './config/types.js';
import { ConfigError } from './errors/config-error.js';
import { isRestqError, toRestqError } from './errors/restq-error.js';
import { RunFailed, UsageError } from './errors/usage-error.js';
import { readSettings, type Settings } from './runtime/settings.js';

/** Exit codes: 0 success, 1 job or validation failure, 2 usage error. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency expects a positive integer, got "${value}"`);
  return n;
}

function collectParam(value: string, previous: Record<string, ParamValue> | undefined): Record<string, ParamValue> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`--param expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

/** The environment, read once, when a command first asks for it. */
let settings: Settings | undefined;

function context(globals: GlobalOptions): CommandContext {
  return {
    get settings() {
      return (settings ??= readSettings(process.env));
    },
    get configDir() {
      return path.resolve(globals.config ?? this.settings.configDir ?? process.cwd());
    },
    logLevel: globals.logLevel,
  };
}

function printError(error: unknown): void {
  if (error instanceof ConfigError) {
    for (const line of error.message.split('\n')) process.stderr.write(`${line}\n`);
    process.stderr.write(`${error.issues.length} configuration error${error.issues.length === 1 ? '' : 's'}\n`);
  } else if (isRestqError(error)) {
    process.stderr.write(`error [${error.code}]: ${error.message}\n`);
  } else {
    // No bare internal error reaches the user: it gets a code and says what it is.
    const wrapped = toRestqError(error, 'restq');
    if (settings?.logLevel === 'debug' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.stderr.write(`error [${wrapped.code}]: ${wrapped.message}\n`);
  }
}

const DASHBOARD_AUTH = 'non-loopback needs RESTQ_DASHBOARD_USER/RESTQ_DASHBOARD_PASSWORD';

/** The version in package.json (one level above dist/ and src/). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('restq')
    .description('Scheduled REST API extracts: OAuth2 connections, grid and scalar queries, CSV/webhook/stdout outputs, BullMQ workers.')
    .option('--config <dir>', 'directory with connections.yaml and jobs/ (default: $RESTQ_CONFIG_DIR or the current directory)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .version(packageVersion(), '-V, --version', 'print the restq version')
    .showHelpAfterError()
    .exitOverride();
  const ctx = () => context(program.opts<GlobalOptions>());

  program
    .command('init')
    .description('scaffold a project: connections.yaml (seed fields commented), jobs/example.yaml, .env.example, .gitignore')
    .argument('[dir]', 'project directory (created when missing)', '.')
    .action(async (dir: string) => (await import('./commands/init.js')).initCli(dir));

  program
    .command('validate')
    .description('load and check connections.yaml and jobs/*.yaml; errors as file:line:col message')
    .action(async () => (await import('./commands/validate.js')).validateCli(ctx()));

  program
    .command('run')
    .description('run one job now, in this process (no Redis needed)')
    .argument('<job>', 'job name (file stem in jobs/ or its name:)')
    .option('--param <key=value>', 'run-time parameter, overrides the job\'s params (repeatable)', collectParam)
    .option('--dry-run', 'print the resolved request (secrets masked) without sending it')
    .action(async (job: string, options: RunCliOptions) => (await import('./commands/run.js')).runCli(job, options, ctx()));

  program
    .command('token')
    .description('show a connection\'s token state (fingerprint, expiry, who refreshed when); --refresh forces a refresh; --authorize runs the consent flow (authorization code + PKCE)')
    .argument('<connection>', 'connection name in connections.yaml')
    .option('--refresh', 'refresh the access token now')
    .option('--authorize', 'grant authorization_code: open the provider\'s consent page, take the redirect on 127.0.0.1 and store the tokens')
    .option('--no-browser', 'with --authorize: only print the authorization URL')
    .option('--timeout <duration>', 'with --authorize: how long to wait for the redirect', '5m')
    .action(async (name: string, options: TokenCliOptions) => (await import('./commands/token.js')).tokenCli(name, options, ctx()));

  program
    .command('check')
    .description('check a connection the way a run uses it (proxy, TLS, token, one GET); exit 0 on 2xx')
    .argument('<connection>', 'connection name in connections.yaml')
    .option('--path <path>', 'path of the GET (default: check.path of the connection, else its baseUrl)')
    .option('--json', 'print {ok, steps: [{name, ok, detail, ms}]} as JSON on stdout')
    .action(async (name: string, options: { path?: string; json?: boolean }) => (await import('./commands/check.js')).checkCli(name, options, ctx()));

  program
    .command('start')
    .description('the long-running service: sync schedules and work the queue (REDIS_URL set), or run schedules in this process (standalone)')
    .option('--concurrency <n>', 'runs at once in this process', parseConcurrency, 1)
    .option('--dashboard', 'also serve the console (and Bull Board at /queues with REDIS_URL), /metrics and /healthz from this process')
    .option('--dashboard-port <port>', 'dashboard TCP port', '3000')
    .option('--dashboard-host <host>', `dashboard interface (${DASHBOARD_AUTH})`, '127.0.0.1')
    .action(async (options: StartCliOptions) => (await import('./commands/start.js')).startCli(options, ctx()));

  program
    .command('worker')
    .description('only process queued runs (needs REDIS_URL)')
    .option('--concurrency <n>', 'runs at once in this process', parseConcurrency, 1)
    .action(async (options: { concurrency: number }) => (await import('./commands/worker.js')).workerCli(options, ctx()));

  program
    .command('schedule')
    .description('upsert a BullMQ job scheduler per scheduled job, remove schedulers of deleted jobs (needs REDIS_URL)')
    .action(async () => (await import('./commands/schedule.js')).scheduleCli(ctx()));

  program
    .command('enqueue')
    .description('queue one run now and print its run id (needs REDIS_URL)')
    .argument('<job>', 'job name')
    .option('--param <key=value>', 'run-time parameter, repeatable', collectParam, {})
    .option('--wait', 'wait for the run, show its progress, exit 0/1 with its result')
    .action(async (job: string, options: { param: Record<string, ParamValue>; wait?: boolean }) => (await import('./commands/enqueue.js')).enqueueCli(job, options, ctx()));

  program
    .command('status')
    .description('per job: schedule, next run, last run (from the run history), paused; queue counts with REDIS_URL')
    .option('--json', 'print {jobs, queue} as JSON on stdout')
    .action(async (options: { json?: boolean }) => (await import('./commands/status.js')).statusCli(options, ctx()));

  program
    .command('state')
    .description("show an incremental job's cursor; --set V moves it (also back), --reset forgets it")
    .argument('<job>', 'job name')
    .option('--json', 'print {job, cursor, updatedAt, runId} as JSON on stdout')
    .option('--set <value>', 'set the cursor to a value of its type (e.g. 2024-01-01T00:00:00Z)')
    .option('--reset', 'forget the cursor: the next run starts at incremental.start')
    .action(async (job: string, options: { json?: boolean; set?: string; reset?: boolean }) => (await import('./commands/state.js')).stateCli(job, options, ctx()));

  program
    .command('history')
    .description("the job's recent runs, newest first (RESTQ_HISTORY kept per job)")
    .argument('<job>', 'job name')
    .option('--limit <n>', 'runs to show', '20')
    .option('--json', 'print the history records as a JSON array on stdout')
    .action(async (job: string, options: { limit: string; json?: boolean }) => (await import('./commands/history.js')).historyCli(job, options, ctx()));

  program
    .command('pause')
    .description("pause a job's schedule: its ticks are recorded as skipped until `restq resume JOB`")
    .argument('<job>', 'job name')
    .action(async (job: string) => (await import('./commands/pause.js')).pauseCli(job, true, ctx()));

  program
    .command('resume')
    .description('resume a paused job')
    .argument('<job>', 'job name')
    .action(async (job: string) => (await import('./commands/pause.js')).pauseCli(job, false, ctx()));

  program
    .command('backfill')
    .description('one run per time window [from, to): queued for the workers (REDIS_URL) or in order in this process; never moves the cursor')
    .argument('<job>', 'an incremental job (type: datetime)')
    .requiredOption('--from <time>', 'start of the first window (ISO 8601)')
    .option('--to <time>', 'end of the last window (ISO 8601; default now)')
    .option('--slice <duration>', 'window size, e.g. 6h or 1d (default incremental.slice, else 1d)')
    .option('--wait', 'wait for every window, show windows done/total, exit 1 if any failed (standalone always waits)')
    .action(async (job: string, options: { from: string; to?: string; slice?: string; wait?: boolean }) => (await import('./commands/backfill-cli.js')).backfillCli(job, options, ctx()));

  program
    .command('dashboard')
    .description('the console: jobs, run history with charts, run now, cursors; Bull Board at /queues (with REDIS_URL); /metrics and /healthz')
    .option('--port <port>', 'TCP port', '3000')
    .option('--host <host>', `interface to listen on (${DASHBOARD_AUTH})`, '127.0.0.1')
    .option('--min-workers <n>', 'live workers /healthz requires (0: check Redis only)', '1')
    .action(async (options: DashboardCliOptions) => (await import('./commands/dashboard.js')).dashboardCli(options, ctx()));

  program
    .command('schema')
    .description('write JSON Schema files for editors (yaml-language-server)')
    .option('--out <dir>', 'output directory', 'schema')
    .action(async (options: { out: string }) => (await import('./commands/schema.js')).schemaCli(options));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  // `restq run job | head` closes the pipe early: that is the reader's choice, not a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they exit 0.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof RunFailed) {
      process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof UsageError || (isRestqError(error) && error.code === 'E_USAGE')) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT_USAGE;
    }
    printError(error);
    return EXIT_FAILURE;
  }
}

const code = await main(process.argv);
process.exitCode = code;
