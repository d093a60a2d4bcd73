import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { mkdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { stringify, type Stringifier } from 'csv-stringify';
import type { CsvSinkSpec } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { Cell } from '../query/row-projector.js';
import { withFileLock } from '../file-lock.js';
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
  readonly #ctx: SinkContext;

  constructor(spec: CsvSinkSpec, ctx: SinkContext) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#target = outputPath(spec.path, { job: ctx.job.name, runId: ctx.runId, startedAt: ctx.startedAt }, ctx.configDir);
    this.#temp = `${this.#target}.tmp-${ctx.runId}`;
    this.description = `csv ${path.relative(process.cwd(), this.#target) || this.#target}`;
  }

  async #open(columns: readonly string[]): Promise<void> {
    if (this.#stringifier) return;
    await mkdir(path.dirname(this.#target), { recursive: true });
    // In append mode the header and BOM are decided at commit, under the lock: another run may
    // create the file meanwhile.
    this.#stringifier = csvStringifier({ delimiter: this.#spec.delimiter, bom: this.#spec.bom && !this.#spec.append });
    this.#file = createWriteStream(this.#temp, { mode: 0o644 });
    this.#done = pipeline(this.#stringifier, this.#file);
    // Surface write errors (disk full, permissions) at the next write or commit.
    this.#done.catch(() => undefined);
    if (this.#spec.header && !this.#spec.append && columns.length > 0) await this.#writeRecord([...columns]);
  }

  async #writeRecord(record: readonly Cell[]): Promise<void> {
    if (!this.#stringifier!.write(record)) await once(this.#stringifier!, 'drain');
  }

  async write(rows: readonly Cell[][], columns: readonly string[]): Promise<void> {
    await this.#open(columns);
    // Await only on backpressure: an await per row costs more than the stringifying (bench extract).
    const stringifier = this.#stringifier!;
    for (const row of rows) if (!stringifier.write(row)) await once(stringifier, 'drain');
  }

  async prepare(columns: readonly string[]): Promise<void> {
    await this.#open(columns);
    this.#stringifier!.end();
    try {
      await this.#done;
    } catch (error) {
      throw new RestqError('E_SINK', `cannot write ${this.#temp}: ${(error as Error).message}`, { cause: error });
    }
  }

  async commit(columns: readonly string[]): Promise<void> {
    if (!this.#stringifier?.writableEnded) await this.prepare(columns);
    if (this.#spec.append) await this.#appendUnderLock(columns);
    else await rename(this.#temp, this.#target);
  }

  /**
   * Appends atomically and without losing a concurrent run's rows: under a lock file, copy the
   * current file (or start one with BOM and header), add this run's rows, rename over it.
   */
  async #appendUnderLock(columns: readonly string[]): Promise<void> {
    const merged = `${this.#temp}.append`;
    await withFileLock(`${this.#target}.lock`, { code: 'E_SINK', what: `csv ${this.#target}` }, async () => {
      const existing = await stat(this.#target).catch(() => undefined);
      if (existing && existing.size > 0) {
        if (this.#spec.header && columns.length > 0) await this.#checkHeader(columns);
        await copyFile(this.#target, merged);
      } else {
        const head = csvStringifier({ delimiter: this.#spec.delimiter, bom: this.#spec.bom });
        const headFile = createWriteStream(merged, { mode: 0o644 });
        const written = pipeline(head, headFile);
        if (this.#spec.header && columns.length > 0) head.write([...columns]);
        head.end();
        await written;
      }
      await pipeline(createReadStream(this.#temp), createWriteStream(merged, { flags: 'a' }));
      await rename(merged, this.#target);
    });
    await rm(this.#temp, { force: true });
  }

  /** Appending under another header shifts columns silently: say so (the rows are still appended). */
  async #checkHeader(columns: readonly string[]): Promise<void> {
    const expected = await new Promise<string>((resolve, reject) => {
      const head = csvStringifier({ delimiter: this.#spec.delimiter, bom: false });
      let text = '';
      head.on('data', (chunk: Buffer) => (text += chunk.toString()));
      head.on('end', () => resolve(text.replace(/\r?\n$/, '')));
      head.on('error', reject);
      head.end([...columns]);
    });
    const file = await open(this.#target, 'r');
    let first: string;
    try {
      const buffer = Buffer.alloc(Math.min(64 * 1024, Buffer.byteLength(expected) * 4 + 1024));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      first = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
    } finally {
      await file.close();
    }
    if (first !== expected) {
      this.#ctx.logger.warn(
        { file: this.#target, header: first, columns },
        `csv ${this.#target}: append: true, but the file's header (${first}) differs from this run's columns (${expected}); the rows were appended under the old header. Start a new file (change csv.path) or list the columns under grid.columns`,
      );
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
