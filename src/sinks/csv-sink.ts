import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { stringify, type Stringifier } from 'csv-stringify';
import type { CsvSinkSpec } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { Cell } from '../query/row-projector.js';
import { outputPath } from './output-path.js';
import type { Sink, SinkContext } from './sink.js';

/** RFC 4180 stringifier; booleans as true/false rather than csv-stringify's 1/"". */
export function csvStringifier(options: { delimiter: string; bom: boolean }): Stringifier {
  return stringify({
    delimiter: options.delimiter,
    bom: options.bom,
    eof: true,
    record_delimiter: 'windows',
    // A bare LF or CR is a line break to most readers, not only CRLF: quote it. Leading and
    // trailing spaces are data: quoted, so readers that trim unquoted fields keep them.
    quoted_match: /[\r\n]|^\s|\s$/,
    cast: { boolean: (value) => String(value) },
  });
}

/**
 * Writes `<path>.tmp-<runId>` and renames it over `<path>` only when the run succeeds, so a
 * failed or killed run never leaves a partial file nor clobbers the last good one. The temp
 * name is stable across retries of one queued run, so a retry overwrites its own leftovers.
 */
export class CsvSink implements Sink {
  readonly description: string;
  readonly #spec: CsvSinkSpec;
  readonly #target: string;
  readonly #temp: string;
  #stringifier: Stringifier | undefined;
  #file: WriteStream | undefined;
  #done: Promise<void> | undefined;
  #appendToExisting = false;

  constructor(spec: CsvSinkSpec, ctx: SinkContext) {
    this.#spec = spec;
    this.#target = outputPath(spec.path, { job: ctx.job.name, runId: ctx.runId, startedAt: ctx.startedAt }, ctx.configDir);
    this.#temp = `${this.#target}.tmp-${ctx.runId}`;
    this.description = `csv ${path.relative(process.cwd(), this.#target) || this.#target}`;
  }

  async #open(columns: readonly string[]): Promise<void> {
    if (this.#stringifier) return;
    await mkdir(path.dirname(this.#target), { recursive: true });
    if (this.#spec.append) {
      const existing = await stat(this.#target).catch(() => undefined);
      this.#appendToExisting = existing !== undefined && existing.size > 0;
    }
    this.#stringifier = csvStringifier({ delimiter: this.#spec.delimiter, bom: this.#spec.bom && !this.#appendToExisting });
    this.#file = createWriteStream(this.#temp, { mode: 0o644 });
    this.#done = pipeline(this.#stringifier, this.#file);
    // Surface write errors (disk full, permissions) at the next write or commit.
    this.#done.catch(() => undefined);
    if (this.#spec.header && !this.#appendToExisting && columns.length > 0) await this.#writeRecord([...columns]);
  }

  async #writeRecord(record: readonly Cell[]): Promise<void> {
    if (!this.#stringifier!.write(record)) await once(this.#stringifier!, 'drain');
  }

  async write(rows: readonly Cell[][], columns: readonly string[]): Promise<void> {
    await this.#open(columns);
    for (const row of rows) await this.#writeRecord(row);
  }

  async commit(columns: readonly string[]): Promise<void> {
    await this.#open(columns);
    this.#stringifier!.end();
    try {
      await this.#done;
    } catch (error) {
      throw new RestqError('E_SINK', `cannot write ${this.#temp}: ${(error as Error).message}`, { cause: error });
    }
    if (this.#appendToExisting) {
      // Append atomically: copy the current file, add this run's rows, rename over it.
      const merged = `${this.#temp}.append`;
      await copyFile(this.#target, merged);
      await pipeline(createReadStream(this.#temp), createWriteStream(merged, { flags: 'a' }));
      await rename(merged, this.#target);
      await rm(this.#temp, { force: true });
    } else {
      await rename(this.#temp, this.#target);
    }
  }

  async abort(): Promise<void> {
    this.#stringifier?.destroy();
    this.#file?.destroy();
    await this.#done?.catch(() => undefined);
    await rm(this.#temp, { force: true });
    await rm(`${this.#temp}.append`, { force: true });
  }
}
