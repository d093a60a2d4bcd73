import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { createLogger, type Logger } from '../../src/logger.js';
import { queueSettings, readSettings, type QueueSettings, type Settings } from '../../src/runtime/settings.js';

/** A restq project in a temp dir: connections.yaml (literal YAML) and jobs/NAME.yaml. */
export interface Project {
  dir: string;
  writeJob(name: string, yaml: string): void;
  removeJob(name: string): void;
  cleanup(): void;
}

export function createProject(connectionsYaml: string, jobs: Record<string, string> = {}): Project {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-queue-'));
  mkdirSync(path.join(dir, 'jobs'));
  writeFileSync(path.join(dir, 'connections.yaml'), connectionsYaml);
  const project: Project = {
    dir,
    writeJob: (name, yaml) => writeFileSync(path.join(dir, 'jobs', `${name}.yaml`), yaml),
    removeJob: (name) => rmSync(path.join(dir, 'jobs', `${name}.yaml`)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const [name, yaml] of Object.entries(jobs)) project.writeJob(name, yaml);
  return project;
}

/**
 * Queue settings with a random queue and prefix, fast backoff and short timers for tests; `env` for
 * CLI children, `all` for functions that take the whole settings object.
 */
export function testSettings(redisUrl: string, overrides: Record<string, string> = {}): QueueSettings & { env: Record<string, string>; all: Settings } {
  const id = randomUUID();
  const env = {
    REDIS_URL: redisUrl,
    RESTQ_QUEUE: `q-${id}`,
    RESTQ_PREFIX: `restq-test-${id}`,
    RESTQ_BACKOFF: '20ms',
    RESTQ_SHUTDOWN_GRACE: '5s',
    ...overrides,
  };
  const all = readSettings(env);
  return { ...queueSettings(all), env, all };
}

/** Deletes every key under the settings' prefix (only ours: never FLUSHDB). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A logger whose JSON lines are kept in `lines` (to assert on, e.g. that no secret is logged). */
export function captureLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger({ level, destination, pretty: false }), lines };
}

/** Polls `condition` until true, failing after `timeoutMs` with `what`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
