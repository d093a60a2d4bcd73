import type { Writable } from 'node:stream';
import type { Redactor } from '../config/redactor.js';
import type { Job, SinkSpec } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { Cell } from '../query/row-projector.js';

export interface SinkContext {
  job: Job;
  runId: string;
  /** Start of the run, for {date} and {time}. */
  startedAt: Date;
  /** Relative output paths resolve against the config directory. */
  configDir: string;
  /** Where `stdout` sinks write. */
  stdout: Writable;
  logger: Logger;
  redactor: Redactor;
  signal?: AbortSignal | undefined;
}

/**
 * Receives the projected rows of one run. Rows arrive page by page; `commit` makes the output
 * visible (rename, last batch) and `abort` removes every trace of a failed run.
 */
export interface Sink {
  /** E.g. "csv out/orders/2026-11-29.csv", for the run summary. */
  readonly description: string;
  write(rows: readonly Cell[][], columns: readonly string[]): Promise<void>;
  /**
   * Does every part of finishing that can fail (flush and close a temp file), so that `commit`
   * only publishes. The runner prepares all sinks, then commits those without `prepare` (a
   * webhook's last batch) before the prepared ones: a failing last batch then leaves no file.
   */
  prepare?(columns: readonly string[]): Promise<void>;
  /** `columns` is empty when a run without `columns` produced no row. */
  commit(columns: readonly string[]): Promise<void>;
  abort(): Promise<void>;
}

export type SinkFactory<T extends SinkSpec = SinkSpec> = (spec: T, ctx: SinkContext) => Sink;
