import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config, Connection } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface TempConfig {
  dir: string;
  config: Config;
  connection: Connection;
  cleanup(): void;
}

/** A config dir with one connection "api" built from `yaml` (the body under `api:`). */
export function tempConfig(connectionYaml: string, env: Record<string, string> = {}): TempConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-auth-'));
  const indented = connectionYaml.trim().split('\n').map((l) => `    ${l}`).join('\n');
  writeFileSync(path.join(dir, 'connections.yaml'), `connections:\n  api:\n${indented}\n`);
  const config = loadConfig({ dir, env });
  return { dir, config, connection: config.connections['api']!, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger whose JSON lines are kept in memory, to assert that no secret reaches them. */
export function memoryLogger(config?: Config): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination, redactor: config?.redactor, pretty: false }), lines };
}

