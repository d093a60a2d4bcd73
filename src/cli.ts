#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { openTokenStore } from './auth/open-token-store.js';
import { tokenProviders } from './auth/token-providers.js';
import { describeDryRun } from './commands/dry-run.js';
import { enqueueCommand } from './commands/enqueue.js';
import { initProject } from './commands/init.js';
import { formatScheduleSync, scheduleCommand } from './commands/schedule.js';
import { startCommand } from './commands/start.js';
import { formatStatus, statusCommand } from './commands/status.js';
import { runWorkerService } from './commands/worker.js';
import { formatTokenReport, tokenCommand } from './commands/token.js';
import { formatSummary, ProgressLine } from './commands/progress-line.js';
import { validateSummary } from './commands/validate.js';
import { writeJsonSchemas } from './config/json-schema.js';
import { loadConfig } from './config/load-config.js';
import type { Config, ParamValue } from './config/types.js';
import { ConfigError } from './errors/config-error.js';
import { isRestqError } from './errors/restq-error.js';
import { tuneHeapForJobs } from './heap-tuning.js';
import { ApiClients } from './http/api-clients.js';
import { httpPolicy } from './http/http-policy.js';
import { RedisRateLimiters } from './http/redis-rate-limiter.js';
import { createLogger, type Logger } from './logger.js';
import { createRedisClient } from './redis/redis-connection.js';
import { readSettings, type QueueSettings, type Settings } from './runtime/settings.js';
import { runJob } from './runner.js';
import { dashboardAuth, isLoopbackHost } from './ops/dashboard-auth.js';
import { serveDashboard } from './ops/serve-dashboard.js';

/** Exit codes: 0 success, 1 job or validation failure, 2 usage error. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

/** A queued run that failed: its reason is printed as is (it was redacted by the worker). */
class RunFailed extends Error {}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency expects a positive integer, got "${value}"`);
  return n;
}

let cachedSettings: Settings | undefined;

/** The environment, read once (when the first command runs; `--help` never reads it). */
function settings(): Settings {
  return (cachedSettings ??= readSettings(process.env));
}

function readDistributedSettings(command: string): QueueSettings {
  const queue = settings().queue;
  if (!queue) throw new UsageError(`restq ${command} needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379): it works on the BullMQ queue in Redis`);
  return queue;
}

interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

function configDir(options: GlobalOptions): string {
  return path.resolve(options.config ?? settings().configDir ?? process.cwd());
}

function load(options: GlobalOptions): Config {
  return loadConfig({ dir: configDir(options), env: settings().env });
}

function logger(options: GlobalOptions, config?: Config): Logger {
  return createLogger({ level: options.logLevel ?? settings().logLevel ?? 'info', color: settings().color, redactor: config?.redactor });
}

function collectParam(value: string, previous: Record<string, ParamValue> | undefined): Record<string, ParamValue> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`--param expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function printError(error: unknown, config?: Config): void {
  const redact = (text: string) => config?.redactor.redact(text) ?? text;
  if (error instanceof ConfigError) {
    for (const line of error.message.split('\n')) process.stderr.write(`${line}\n`);
    process.stderr.write(`${error.issues.length} configuration error${error.issues.length === 1 ? '' : 's'}\n`);
  } else if (isRestqError(error)) {
    process.stderr.write(`error [${error.code}]: ${redact(error.message)}\n`);
  } else {
    const text = error instanceof Error ? (cachedSettings?.logLevel === 'debug' ? (error.stack ?? error.message) : error.message) : String(error);
    process.stderr.write(`error: ${redact(text)}\n`);
  }
}

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

  program
    .command('init')
    .description('scaffold a project: connections.yaml (seed fields commented), jobs/example.yaml, .env.example, .gitignore')
    .argument('[dir]', 'project directory (created when missing)', '.')
    .action((dir: string) => {
      const result = initProject(path.resolve(dir));
      const shown = (file: string) => (path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file));
      for (const file of result.written) process.stderr.write(`wrote ${shown(file)}\n`);
      const cd = shown(result.dir);
      process.stderr.write(`next: ${cd ? `cd ${cd} && ` : ''}cp .env.example .env, edit connections.yaml and jobs/example.yaml, then restq validate and restq run example --dry-run\n`);
    });

  program
    .command('validate')
    .description('load and check connections.yaml and jobs/*.yaml; errors as file:line:col message')
    .action(() => {
      const config = load(program.opts<GlobalOptions>());
      for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
      process.stderr.write(`${validateSummary(config)}\n`);
    });

  program
    .command('run')
    .description('run one job now, in this process (no Redis needed)')
    .argument('<job>', 'job name (file stem in jobs/ or its name:)')
    .option('--param <key=value>', 'run-time parameter, overrides the job\'s params (repeatable)', collectParam)
    .option('--dry-run', 'print the resolved request (secrets masked) without sending it')
    .action(async (jobName: string, options: { param?: Record<string, ParamValue>; dryRun?: boolean }) => {
      const params = options.param ?? {};
      const globals = program.opts<GlobalOptions>();
      const config = load(globals);
      if (!config.jobs[jobName]) {
        throw new UsageError(`unknown job "${jobName}": defined jobs are ${Object.keys(config.jobs).join(', ') || '(none)'}`);
      }
      if (options.dryRun) {
        process.stdout.write(`${JSON.stringify(describeDryRun(config, jobName, params), null, 2)}\n`);
        return;
      }
      const log = logger(globals, config);
      for (const warning of config.warnings) log.warn(warning);
      const store = await openTokenStore({ config, settings: settings(), logger: log });
      // With Redis, `run` spends the same rate budget as the workers.
      const queue = settings().queue;
      const redis = queue && config.connections[config.jobs[jobName]!.connection]?.rateLimit ? createRedisClient(queue.redis, { logger: log }) : undefined;
      const rateLimiters = redis && queue ? new RedisRateLimiters({ redis, prefix: queue.prefix }) : undefined;
      const clients = new ApiClients({
        config,
        logger: log,
        tokens: tokenProviders({ config, store, logger: log }),
        wrapTransport: httpPolicy({ logger: log, redactor: config.redactor, rateLimiters }),
      });
      const progress = new ProgressLine();
      try {
        const result = await runJob({ config, job: jobName, params, clients, logger: log, onProgress: (p) => progress.update(p) });
        progress.clear();
        // runJob already logged result.warnings (at warn level); printing them again would say it twice.
        process.stderr.write(`${formatSummary(result)}\n`);
      } catch (error) {
        progress.clear();
        throw error;
      } finally {
        await clients.close();
        await store.close();
        redis?.disconnect();
      }
    });

  program
    .command('token')
    .description('show a connection\'s token state (fingerprint, expiry, who refreshed when); --refresh forces a refresh')
    .argument('<connection>', 'connection name in connections.yaml')
    .option('--refresh', 'refresh the access token now')
    .action(async (name: string, options: { refresh?: boolean }) => {
      const globals = program.opts<GlobalOptions>();
      const config = load(globals);
      if (!config.connections[name]) {
        throw new UsageError(`unknown connection "${name}": defined connections are ${Object.keys(config.connections).join(', ') || '(none)'}`);
      }
      const log = logger(globals, config);
      const store = await openTokenStore({ config, settings: settings(), logger: log });
      try {
        const report = await tokenCommand({ config, connection: name, store, logger: log, refresh: options.refresh === true });
        process.stdout.write(config.redactor.redact(formatTokenReport(report)));
      } finally {
        await store.close();
      }
    });

  program
    .command('start')
    .description('the long-running service: sync schedules and work the queue (REDIS_URL set), or run schedules in this process (standalone)')
    .option('--concurrency <n>', 'runs at once in this process', parseConcurrency, 1)
    .option('--dashboard', 'also serve the dashboard (Bull Board, /metrics, /healthz) from this process; needs REDIS_URL')
    .option('--dashboard-port <port>', 'dashboard TCP port', '3000')
    .option('--dashboard-host <host>', 'dashboard interface (non-loopback needs RESTQ_DASHBOARD_USER/RESTQ_DASHBOARD_PASSWORD)', '127.0.0.1')
    .action(async (options: { concurrency: number; dashboard?: boolean; dashboardPort: string; dashboardHost: string }) => {
      const globals = program.opts<GlobalOptions>();
      const config = load(globals);
      let dashboard: { port: number; host: string } | undefined;
      if (options.dashboard) {
        if (!settings().queue) throw new UsageError('--dashboard needs REDIS_URL: the dashboard shows the BullMQ queue of distributed mode');
        const port = Number(options.dashboardPort);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--dashboard-port expects a port number, got "${options.dashboardPort}"`);
        if (!isLoopbackHost(options.dashboardHost) && !dashboardAuth(settings())) {
          throw new UsageError(`refusing to serve the dashboard on ${options.dashboardHost} without authentication: set RESTQ_DASHBOARD_USER and RESTQ_DASHBOARD_PASSWORD`);
        }
        dashboard = { port, host: options.dashboardHost };
      }
      await startCommand({ config, settings: settings(), logger: logger(globals, config), concurrency: options.concurrency, dashboard });
    });

  program
    .command('worker')
    .description('only process queued runs (needs REDIS_URL)')
    .option('--concurrency <n>', 'runs at once in this process', parseConcurrency, 1)
    .action(async (options: { concurrency: number }) => {
      if (!settings().queue) {
        throw new UsageError('restq worker needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379); without Redis, use `restq start` to run the schedules in one process');
      }
      const globals = program.opts<GlobalOptions>();
      const config = load(globals);
      await runWorkerService({ config, settings: settings(), logger: logger(globals, config), concurrency: options.concurrency });
    });

  program
    .command('schedule')
    .description('upsert a BullMQ job scheduler per scheduled job, remove schedulers of deleted jobs (needs REDIS_URL)')
    .action(async () => {
      const config = load(program.opts<GlobalOptions>());
      const settings = readDistributedSettings('schedule');
      const sync = await scheduleCommand(config, settings);
      for (const line of formatScheduleSync(sync, settings.queue)) process.stderr.write(`${line}\n`);
    });

  program
    .command('enqueue')
    .description('queue one run now and print its run id (needs REDIS_URL)')
    .argument('<job>', 'job name')
    .option('--param <key=value>', 'run-time parameter, repeatable', collectParam, {})
    .option('--wait', 'wait for the run, show its progress, exit 0/1 with its result')
    .action(async (jobName: string, options: { param: Record<string, ParamValue>; wait?: boolean }) => {
      const config = load(program.opts<GlobalOptions>());
      if (!config.jobs[jobName]) {
        throw new UsageError(`unknown job "${jobName}": defined jobs are ${Object.keys(config.jobs).join(', ') || '(none)'}`);
      }
      const settings = readDistributedSettings('enqueue');
      // A live line on a terminal while the run is read, as for `restq run`.
      const progress = new ProgressLine();
      const waitStarted = Date.now();
      const outcome = await enqueueCommand({
        config,
        settings,
        job: jobName,
        params: options.param,
        onQueued: (runId) => process.stdout.write(`${runId}\n`),
        onProgress: options.wait ? (p) => progress.update({ pages: p.pages, rows: p.rows, bytes: 0, elapsedMs: Date.now() - waitStarted }) : undefined,
      });
      progress.clear();
      if (outcome?.status === 'completed') process.stderr.write(`${formatSummary(outcome.result)}\n`);
      if (outcome?.status === 'failed') throw new RunFailed(`run ${outcome.error.code === 'E_RUN' ? 'failed' : `failed [${outcome.error.code}]`}: ${outcome.error.message}`);
    });

  program
    .command('status')
    .description('per job: schedule, next run, last run; queue counts (needs REDIS_URL)')
    .option('--json', 'print {jobs, queue} as JSON on stdout')
    .action(async (options: { json?: boolean }) => {
      const config = load(program.opts<GlobalOptions>());
      const report = await statusCommand(config, readDistributedSettings('status'));
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
    });

  program
    .command('dashboard')
    .description('Bull Board web UI for the restq queue, plus /metrics (Prometheus) and /healthz; needs REDIS_URL')
    .option('--port <port>', 'TCP port', '3000')
    .option('--host <host>', 'interface to listen on (non-loopback needs RESTQ_DASHBOARD_USER/RESTQ_DASHBOARD_PASSWORD)', '127.0.0.1')
    .option('--min-workers <n>', 'live workers /healthz requires (0: check Redis only)', '1')
    .action(async (options: { port: string; host: string; minWorkers: string }) => {
      const globals = program.opts<GlobalOptions>();
      const config = load(globals);
      const queue = settings().queue;
      if (!queue) throw new UsageError('dashboard needs REDIS_URL (e.g. redis://127.0.0.1:6379): it shows the BullMQ queue that workers share');
      const location = { redis: queue.redis, queueName: queue.queue, prefix: queue.prefix };
      const port = Number(options.port);
      const minWorkers = Number(options.minWorkers);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number, got "${options.port}"`);
      if (!Number.isInteger(minWorkers) || minWorkers < 0) throw new UsageError(`--min-workers expects a whole number, got "${options.minWorkers}"`);
      const log = logger(globals, config);
      let dashboard;
      try {
        dashboard = await serveDashboard({ location, auth: dashboardAuth(settings()), port, host: options.host, minWorkers, logger: log });
      } catch (error) {
        if (isRestqError(error) && error.code === 'E_USAGE') throw new UsageError(error.message);
        throw error;
      }
      process.stderr.write(`restq dashboard on ${dashboard.url} (metrics ${dashboard.url}/metrics, health ${dashboard.url}/healthz)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await dashboard.close();
    });

  program
    .command('schema')
    .description('write JSON Schema files for editors (yaml-language-server)')
    .option('--out <dir>', 'output directory', 'schema')
    .action((options: { out: string }) => {
      for (const file of writeJsonSchemas(path.resolve(options.out))) process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  // `restq run job | head` closes the pipe early: that is the reader's choice, not a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they exit 0.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof RunFailed) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_FAILURE;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT_USAGE;
    }
    printError(error);
    return EXIT_FAILURE;
  }
}

tuneHeapForJobs();
const code = await main(process.argv);
process.exitCode = code;
