import type { Incremental } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import { compileGetter } from '../query/row-projector.js';
import { cursorOrder, isGreater, parseInstant, toCursorValue, type CursorValue } from './cursor-value.js';
import type { CursorAdvance, CursorState, RunWindow } from './state-store.js';

/** A run's window as values of the cursor type: [start, end); end undefined = open. */
export interface WindowBounds {
  start: CursorValue;
  end: CursorValue | undefined;
}

/** Text of a bound for templates and history: ISO 8601 UTC for datetimes, a decimal for numbers. */
export function renderWindow(bounds: WindowBounds): RunWindow {
  return { start: bounds.start.text, end: bounds.end?.text ?? null };
}

function startValue(spec: Incremental): CursorValue {
  const value = toCursorValue(spec.type, spec.start);
  // The loader checked `start`; this guards a config built by hand.
  if (!value) throw new RestqError('E_CONFIG', `incremental.start ${JSON.stringify(spec.start)} is not a valid ${spec.type}`, { permanent: true });
  return value;
}

/**
 * The window of a scheduled/enqueued run (SPEC 8): from the stored cursor minus `lookback`
 * (the first run: `start`) to the run's start time (datetime; open for number/string).
 */
export function runWindow(spec: Incremental, stored: CursorState, started: Date): WindowBounds {
  const cursor = stored.cursor === null ? undefined : toCursorValue(spec.type, stored.cursor);
  let start = cursor ?? startValue(spec);
  if (cursor && spec.type === 'datetime' && spec.lookback) {
    const ms = (cursor.sortKey as number) - spec.lookback;
    start = { text: new Date(ms).toISOString(), sortKey: ms };
  }
  if (spec.type !== 'datetime') return { start, end: undefined };
  const endMs = started.getTime();
  return { start, end: { text: new Date(endMs).toISOString(), sortKey: endMs } };
}

/** A backfill window given as ISO texts, as a window of the cursor type (datetime only). */
export function explicitWindow(window: RunWindow): WindowBounds {
  const start = parseInstant(window.start);
  const end = window.end === null ? undefined : parseInstant(window.end);
  if (start === undefined || (window.end !== null && end === undefined)) {
    throw new RestqError('E_JOB_DATA', `invalid backfill window ${JSON.stringify(window)}: expected ISO 8601 start and end`, { permanent: true });
  }
  return { start: { text: new Date(start).toISOString(), sortKey: start }, end: end === undefined ? undefined : { text: new Date(end).toISOString(), sortKey: end } };
}

/** Splits a datetime window into consecutive slices of `sliceMs` (the last may be shorter). */
export function sliceWindow(bounds: WindowBounds, sliceMs: number | undefined): WindowBounds[] {
  if (!sliceMs || sliceMs <= 0 || !bounds.end || typeof bounds.start.sortKey !== 'number') return [bounds];
  const endMs = bounds.end.sortKey as number;
  const slices: WindowBounds[] = [];
  for (let from = bounds.start.sortKey; from < endMs; from += sliceMs) {
    const to = Math.min(from + sliceMs, endMs);
    slices.push({ start: { text: new Date(from).toISOString(), sortKey: from }, end: { text: new Date(to).toISOString(), sortKey: to } });
  }
  return slices.length > 0 ? slices : [bounds];
}

/**
 * Follows the cursor values of a run's rows: the greatest one (the candidate new cursor), how
 * many rows had none, and — with `filter: true` — which rows lie outside the window.
 */
export class CursorTracker {
  readonly #spec: Incremental;
  readonly #window: WindowBounds;
  readonly #get: (row: unknown) => unknown;
  #max: CursorValue | undefined;
  #missing = 0;
  #dropped = 0;

  constructor(spec: Incremental, window: WindowBounds) {
    this.#spec = spec;
    this.#window = window;
    this.#get = compileGetter(spec.cursor);
  }

  /** Looks at one raw row (before `columns`); false when the row is to be dropped. */
  accept(row: unknown): boolean {
    const cursor = toCursorValue(this.#spec.type, this.#get(row));
    if (!cursor) {
      this.#missing++;
      return true;
    }
    if (this.#spec.filter && (isGreater(this.#window.start, cursor) || (this.#window.end && !isGreater(this.#window.end, cursor)))) {
      this.#dropped++;
      return false;
    }
    if (!this.#max || isGreater(cursor, this.#max)) this.#max = cursor;
    return true;
  }

  get max(): CursorValue | undefined {
    return this.#max;
  }

  get missing(): number {
    return this.#missing;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** The advance to offer the store, if any row had a cursor value. */
  advance(fence: number): CursorAdvance | undefined {
    if (!this.#max) return undefined;
    return { value: this.#max.text, sortKey: String(this.#max.sortKey), order: cursorOrder(this.#spec.type), fence };
  }

  /** The summary's words about rows without a cursor value (said once per run). */
  warnings(): string[] {
    const out: string[] = [];
    if (this.#missing > 0) out.push(`incremental.cursor ${this.#spec.cursor}: ${this.#missing} row${this.#missing === 1 ? '' : 's'} had no ${this.#spec.type} cursor value (delivered, but they cannot move the cursor)`);
    return out;
  }
}
