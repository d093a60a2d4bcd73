import { once } from 'node:events';
import { RestqError } from '../errors/restq-error.js';
import type { StdoutSinkSpec } from '../config/types.js';
import type { Cell } from '../query/row-projector.js';
import { csvText } from './csv-text.js';
import type { Sink, SinkContext } from './sink.js';

export function toObject(row: readonly Cell[], columns: readonly string[]): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i]!] = row[i] ?? null;
  return out;
}

/**
 * Streams rows to stdout as they arrive (ndjson, csv or a JSON array). A scalar job prints its
 * bare value, so `count=$(restq run order-count)` works.
 */
export class StdoutSink implements Sink {
  readonly description: string;
  readonly #spec: StdoutSinkSpec;
  readonly #ctx: SinkContext;
  #started = false;
  #first = true;

  constructor(spec: StdoutSinkSpec, ctx: SinkContext) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.description = `stdout ${ctx.job.kind === 'scalar' ? 'value' : spec.format}`;
  }

  async #print(text: string): Promise<void> {
    if (text === '') return;
    const out = this.#ctx.stdout;
    if (out.destroyed || out.writableEnded) throw new RestqError('E_SINK', 'stdout is closed: the reader of restq\'s output went away');
    // A reader that closes the pipe never drains it: wait for whichever comes first.
    if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  }

  #csv(records: readonly (readonly Cell[])[]): string {
    return csvText(records);
  }

  async write(rows: readonly Cell[][], columns: readonly string[]): Promise<void> {
    if (this.#ctx.job.kind === 'scalar') {
      const value = rows[0]?.[0];
      await this.#print(`${value === null || value === undefined ? '' : String(value)}\n`);
      return;
    }
    let text = '';
    if (this.#spec.format === 'ndjson') {
      for (const row of rows) text += `${JSON.stringify(toObject(row, columns))}\n`;
    } else if (this.#spec.format === 'json') {
      if (!this.#started) text += '[';
      for (const row of rows) {
        text += `${this.#first ? '\n' : ',\n'}${JSON.stringify(toObject(row, columns))}`;
        this.#first = false;
      }
    } else {
      text = this.#csv(this.#started ? rows : [columns, ...rows]);
    }
    this.#started = true;
    await this.#print(text);
  }

  async commit(columns: readonly string[]): Promise<void> {
    if (this.#ctx.job.kind === 'scalar') return;
    if (this.#spec.format === 'json') await this.#print(this.#started ? '\n]\n' : '[]\n');
    else if (this.#spec.format === 'csv' && !this.#started && columns.length > 0) await this.#print(this.#csv([columns]));
  }

  async abort(): Promise<void> {
    // Rows already printed cannot be taken back; the exit code and the summary say the run failed.
  }
}
