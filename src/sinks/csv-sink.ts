import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { mkdir, rename, rm, stat, copyFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { CsvSinkSpec } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import type { Cell } from '../query/row-projector.js';
import { withFileLock } from '../file-lock.js';
import { csvText } from './csv-text.js';
import { outputPath } from './output-path.js';
import type { Sink, SinkContext } from './sink.js';

const BOM = '\ufeff';

/** Resolves when the file's buffer drained, or it closed (an error is kept by its 'error' listener). */
function drained(file: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      file.off('drain', done);
      file.off('close', done);
      resolve();
    };
    file.on('drain', done);
    file.on('close', done);
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
  #file: WriteStream | undefined;
  #error: Error | undefined;
  readonly #ctx: SinkContext;

  constructor(spec: CsvSinkSpec, ctx: SinkContext) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#target = outputPath(spec.path, { job: ctx.job.name, runId: ctx.runId, startedAt: ctx.startedAt }, ctx.configDir);
    this.#temp = `${this.#target}.tmp-${ctx.runId}`;
    this.description = `csv ${path.relative(process.cwd(), this.#target) || this.#target}`;
  }

  async #open(columns: readonly string[]): Promise<WriteStream> {
    if (this.#file) return this.#file;
    await mkdir(path.dirname(this.#target), { recursive: true });
    const file = createWriteStream(this.#temp, { mode: 0o644 });
    this.#file = file;
    // Surface write errors (disk full, permissions) at the next write or commit.
    file.on('error', (error) => (this.#error ??= error));
    // In append mode the header and BOM are decided at commit, under the lock: another run may
    // create the file meanwhile.
    let head = this.#spec.bom && !this.#spec.append ? BOM : '';
    if (this.#spec.header && !this.#spec.append && columns.length > 0) head += csvText([columns], this.#spec.delimiter);
    if (head) await this.#put(head);
    return file;
  }

  /**
   * Writes one batch and, when the file's buffer is full, waits until it is written: at most one
   * batch is ever in flight, so a huge page's CSV text never piles up in memory waiting for the
   * disk (text that outlives two young-generation GCs is promoted to the old generation).
   */
  async #put(text: string): Promise<void> {
    const file = this.#file!;
    if (this.#error) throw this.#failed(this.#error);
    if (!file.write(text)) await drained(file);
    if (this.#error) throw this.#failed(this.#error);
  }

  #failed(error: Error): RestqError {
    return new RestqError('E_SINK', `cannot write ${this.#temp}: ${error.message}`, { cause: error });
  }

  /** One CSV text and one file write per batch of rows (per network chunk or page), not per row. */
  async write(rows: readonly Cell[][], columns: readonly string[]): Promise<void> {
    await this.#open(columns);
    if (rows.length > 0) await this.#put(csvText(rows, this.#spec.delimiter));
  }

  async prepare(columns: readonly string[]): Promise<void> {
    const file = await this.#open(columns);
    if (!file.writableEnded) {
      // 'close' (after 'finish', or after an error): the file is complete and its descriptor closed.
      const finished = once(file, 'close').catch(() => undefined);
      file.end();
      await finished;
    }
    if (this.#error) throw this.#failed(this.#error);
  }

  async commit(columns: readonly string[]): Promise<void> {
    if (!this.#file?.writableEnded) await this.prepare(columns);
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
        let head = this.#spec.bom ? BOM : '';
        if (this.#spec.header && columns.length > 0) head += csvText([columns], this.#spec.delimiter);
        await writeFile(merged, head, { mode: 0o644 });
      }
      await pipeline(createReadStream(this.#temp), createWriteStream(merged, { flags: 'a' }));
      await rename(merged, this.#target);
    });
    await rm(this.#temp, { force: true });
  }

  /** Appending under another header shifts columns silently: say so (the rows are still appended). */
  async #checkHeader(columns: readonly string[]): Promise<void> {
    const expected = csvText([columns], this.#spec.delimiter).replace(/\r\n$/, '');
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
    const file = this.#file;
    if (file && !file.closed) {
      const closed = once(file, 'close').catch(() => undefined);
      file.destroy();
      await closed;
    }
    await rm(this.#temp, { force: true });
    await rm(`${this.#temp}.append`, { force: true });
  }
}
