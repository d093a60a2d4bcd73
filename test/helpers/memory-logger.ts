import { Writable } from 'node:stream';
import type { Config } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface MemoryLogger {
  logger: Logger;
  /** Every JSON line as written (one entry per line). */
  lines: string[];
  /** The lines parsed. */
  records(): Record<string, unknown>[];
  /** Everything written, to assert that a secret never reaches the log. */
  text(): string;
}

/**
 * The one in-memory logger of the tests: restq's own logger (JSON, redaction on when a config
 * is given) writing into an array. `memoryLogger(config)` or `memoryLogger({ config, level })`.
 */
export function memoryLogger(options?: Config | { config?: Config; level?: string }): MemoryLogger {
  const { config, level } = options && 'connections' in options ? { config: options, level: undefined } : (options ?? {});
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      done();
    },
  });
  const logger = createLogger({ level: level ?? 'debug', destination, redactor: config?.redactor, pretty: false });
  return {
    logger,
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}

/** Collects what a sink writes to "stdout". */
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
