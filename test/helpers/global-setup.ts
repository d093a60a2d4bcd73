import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './own-redis.js';
import { ensureBuilt } from './run-cli.js';
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

async function waitForPing(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout?.trim() === 'PONG') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}

/**
 * Redis for the suite, in this order: REDIS_URL; a redis-server from PATH on a free port in a
 * temp dir; testcontainers where Docker runs. First, dist/ is rebuilt if src/ is newer: the CLI
 * tests run the built binary.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureBuilt();
  if (process.env['REDIS_URL']) {
    project.provide('redisUrl', process.env['REDIS_URL']);
    return async () => undefined;
  }
  if (spawnSync('redis-server', ['--version']).status === 0) {
    const dir = mkdtempSync(path.join(tmpdir(), 'restq-redis-'));
    const port = await freePort();
    const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPing(port, Date.now() + 10_000);
    project.provide('redisUrl', `redis://127.0.0.1:${port}`);
    return async () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  project.provide('redisUrl', `redis://${container.getHost()}:${container.getMappedPort(6379)}`);
  return async () => {
    await container.stop();
  };
}
