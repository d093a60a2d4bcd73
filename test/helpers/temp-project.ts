import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface TempProject {
  dir: string;
  config: Config;
  cleanup(): void;
}

/** Writes connections.yaml and jobs/*.yaml to a temp dir and loads them like `restq` does. */
export function writeProject(connections: Record<string, unknown>, jobs: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): TempProject {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-test-'));
  mkdirSync(path.join(dir, 'jobs'));
  writeFileSync(path.join(dir, 'connections.yaml'), stringify({ connections }));
  for (const [name, job] of Object.entries(jobs)) writeFileSync(path.join(dir, 'jobs', `${name}.yaml`), stringify(job));
  const config = loadConfig({ dir, env });
  return { dir, config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger whose JSON lines are kept for assertions. */
export function memoryLogger(config?: Config): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination, redactor: config?.redactor, pretty: false });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Collects what a stdout sink writes. */
export function captureStream(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}
