import { existsSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { Env } from './settings.js';

/** What changed between two configs, by job name. */
export interface ConfigDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ConfigReloaderOptions {
  /** The config directory (connections.yaml, .env, jobs/). */
  dir: string;
  /** The environment the config was loaded with (settings.env). */
  env: Env;
  logger: Logger;
  /** The config in use now: the last good one until a reload succeeds. */
  current: Config;
  /** Puts a validated config in use; a rejection is logged and the previous config stays. */
  apply: (config: Config, diff: ConfigDiff) => Promise<void>;
  /** Reload when connections.yaml, .env or jobs/ change. @default true */
  watch?: boolean;
  /** Quiet time after the last file event before reloading. @default 300 */
  debounceMs?: number;
  /** The loader; tests replace it. @default loadConfig */
  load?: (dir: string, env: Env) => Config;
}

export interface ConfigReloader {
  /** Reloads now (what SIGHUP does); resolves once applied or rejected. */
  reload(reason: string): Promise<void>;
  /** Removes the watchers and the SIGHUP handler. */
  close(): void;
}

function fingerprint(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(Math.random());
  }
}

/** Jobs added, removed and changed (their definition or their connection's) from `before` to `after`. */
export function diffConfigs(before: Config, after: Config): ConfigDiff {
  const added = Object.keys(after.jobs).filter((name) => !before.jobs[name]);
  const removed = Object.keys(before.jobs).filter((name) => !after.jobs[name]);
  const changed = Object.keys(after.jobs).filter((name) => {
    const old = before.jobs[name];
    if (!old) return false;
    const job = after.jobs[name]!;
    const connection = (c: Config, j: { connection?: unknown }) => (typeof j.connection === 'string' ? c.connections[j.connection] : undefined);
    return fingerprint(old) !== fingerprint(job) || fingerprint(connection(before, old as { connection?: unknown })) !== fingerprint(connection(after, job as { connection?: unknown }));
  });
  return { added, removed, changed };
}

/**
 * Keeps a long-running process on the project's current config: on SIGHUP, and (unless turned
 * off) when connections.yaml, .env or a file in jobs/ changes (debounced), loads the config
 * again with the same loader. A config that does not load is logged (the loader's messages name
 * file and line, never a secret) and the last good one stays in use; a good one is applied and
 * logged as `config reloaded: N jobs (+added, -removed, ~changed)`. Reloads never overlap.
 */
export function startConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { dir, env, logger } = options;
  const load = options.load ?? ((d: string, e: Env) => loadConfig({ dir: d, env: e }));
  const debounceMs = options.debounceMs ?? 300;
  let current = options.current;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];

  const reloadOnce = async (reason: string): Promise<void> => {
    if (closed) return;
    let next: Config;
    try {
      next = load(dir, env);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ reason, error: message }, `config reload failed, keeping the last good config: ${message}`);
      return;
    }
    const diff = diffConfigs(current, next);
    try {
      await options.apply(next, diff);
    } catch (error) {
      const message = next.redactor.redact(error instanceof Error ? error.message : String(error));
      logger.warn({ reason, error: message }, `config reload could not be applied, keeping the last good config: ${message}`);
      return;
    }
    current = next;
    logger.info(
      { reason, jobs: Object.keys(next.jobs).length, added: diff.added, removed: diff.removed, changed: diff.changed },
      `config reloaded: ${Object.keys(next.jobs).length} jobs (+${diff.added.length}, -${diff.removed.length}, ~${diff.changed.length})`,
    );
  };

  const reload = (reason: string): Promise<void> => {
    chain = chain.then(() => reloadOnce(reason));
    return chain;
  };

  const schedule = (reason: string) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(reason), debounceMs);
  };

  const onSighup = () => {
    logger.info('SIGHUP: reloading the config');
    void reload('SIGHUP');
  };
  process.on('SIGHUP', onSighup);

  if (options.watch ?? true) {
    const add = (target: string, filter: (name: string | null) => boolean, what: string) => {
      try {
        const watcher = watch(target, { persistent: true }, (_event, name) => {
          if (filter(name === null ? null : String(name))) schedule(`${what} changed`);
        });
        watcher.on('error', (error) => logger.warn({ err: error, path: target }, 'config watch stopped: reload with SIGHUP'));
        watchers.push(watcher);
      } catch (error) {
        logger.warn({ err: error, path: target }, 'cannot watch the config files: reload with SIGHUP');
      }
    };
    // `..data`: a Kubernetes ConfigMap volume swaps its files through that symlink.
    add(dir, (name) => name === null || name === 'connections.yaml' || name === '.env' || name === 'jobs' || name === '..data', 'project');
    const jobsDir = path.join(dir, 'jobs');
    if (existsSync(jobsDir)) add(jobsDir, (name) => name === null || /\.ya?ml$/i.test(name), 'jobs/');
  }

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(timer);
      process.removeListener('SIGHUP', onSighup);
      for (const watcher of watchers.splice(0)) watcher.close();
    },
  };
}

/**
 * What a config reload replaces while runs still use it (a process's API clients): `swap` puts
 * the new one in use, and closes the old one once `released` resolves — when the runs that
 * started on it have ended. One home for worker, start and the console.
 */
export class Replaceable<T extends { close(): Promise<void> }> {
  #current: T;
  readonly #retiring = new Set<Promise<void>>();
  readonly #logger: Logger;

  constructor(initial: T, logger: Logger) {
    this.#current = initial;
    this.#logger = logger;
  }

  get current(): T {
    return this.#current;
  }

  swap(next: T, released: Promise<void>): void {
    const old = this.#current;
    this.#current = next;
    const retired: Promise<void> = released
      .then(() => old.close())
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'could not close the API clients of the previous config'))
      .finally(() => this.#retiring.delete(retired));
    this.#retiring.add(retired);
  }

  /** Waits until the replaced ones are closed, then closes the one in use. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#retiring]);
    await this.#current.close();
  }
}
